import { configDocument, formatErrors, validateConfig, ValidationMemo } from '../config';
import { frozenJson } from '../util/frozen-json';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { StoreConflictError, type ConfigStore, type VersionMeta, type VersionRecord } from '../store/types';
import { createHash } from 'node:crypto';
import { describeDocumentChange, joinDescription } from './change-description';
import { rewritePaths } from './document';
import { sourceConflict, type ConfigSourceMode } from './config-source';
import { storageError, TetherError, toTetherError } from './errors';
import type { Publisher } from './publisher';
import { diffResources } from './resource-diff';
import { undoStep } from './undo';
import type {
  ConfigDocument,
  ConfigManagerApi,
  CurrentConfig,
  DocumentEdit,
  MutationOptions,
  MutationResult,
  PathRewrite,
  ResourceChange,
} from './types';

export interface ConfigManagerOptions {
  /** Durable history; the manager is its only writer while open. */
  store: ConfigStore;
  publisher: Publisher;
  logger: Logger;
  /**
   * The config Tether was started with (config file or built-in default). Committed as
   * version 1 into an empty store. With a non-empty store the stored current version is
   * served instead, unless `fileHash` is set and differs from the one on the newest version
   * made from a file: then the file changed while Tether was down, and it is applied as a
   * new version.
   */
  initial: { document: unknown; source: string; fileHash?: string; description?: string };
  /**
   * The config file and who wins between it and the admin API (config-source.ts); without a
   * file every source may change the config.
   */
  configSource?: { mode: ConfigSourceMode; file: string };
  /** Clock for createdAt (tests). */
  now?: () => Date;
}

export interface ConfigManager extends ConfigManagerApi {
  /** Lets queued mutations finish; later ones fail with UNAVAILABLE. The store and publisher stay open. */
  close(): Promise<void>;
}

interface State {
  version: number;
  /** Deep-frozen: handed out by current() and to edits, never copied per call. */
  document: ConfigDocument;
  config: TetherConfig;
  contentHash: string;
  createdAt: string;
  /** Who made this version (VersionRecord.source, .description). */
  source: string;
  description: string;
}

/** One requested change: where it comes from and how to build the new document from the current one. */
interface Change {
  source: string;
  /** The caller's text, stored after Tether's own summary of the change. */
  description: string;
  /** Tether's summary of the change, from the document before it and the validated result. */
  summarize?(before: ConfigDocument, after: ConfigDocument): string;
  /** Rollbacks: the version restored. */
  restores?: number;
  fileHash?: string;
  build(current: ConfigDocument | undefined): { document: unknown; errorPaths?: (result: ConfigDocument) => PathRewrite[] };
}

const entryHashes = new WeakMap<object, string>();

/** The hash of one model entry (a service, a backend...), remembered while the entry lives. */
function entryHash(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return JSON.stringify(entry);
  let hash = entryHashes.get(entry);
  if (hash === undefined) {
    hash = createHash('sha256').update(frozenJson(entry)).digest('hex').slice(0, 32);
    entryHashes.set(entry, hash);
  }
  return hash;
}

/**
 * Identifies a normalised config: equal hashes mean equal routing. A hash over the plain JSON
 * of each model entry (its key order is the schema's, so the same document always hashes the
 * same); a config that differs only in the order of a map's keys counts as a change, which
 * costs a version that pushes nothing. The model is frozen and an unchanged entry is the same
 * object from version to version (config/incremental.ts), so an edit hashes what it changed.
 */
function configHash(config: TetherConfig): string {
  deepFreeze(config);
  const h = createHash('sha256');
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    h.update(`${key}=${Array.isArray(value) ? `[${value.map(entryHash).join(',')}]` : JSON.stringify(value)}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Opens the manager: restores the store's current version exactly (same number, same
 * snapshots, so connected clients see nothing new), or commits `initial` into an empty
 * store, then applies a config file that changed while Tether was down (see
 * ConfigManagerOptions.initial). Throws TetherError when there is nothing valid to serve.
 */
export async function openConfigManager(options: ConfigManagerOptions): Promise<ConfigManager> {
  const { store, publisher, initial } = options;
  const sourcePolicy = options.configSource;
  const log = options.logger.child({ component: 'config' });
  const now = options.now ?? (() => new Date());
  let state: State | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closing = false;

  /** Mutations run one at a time, in call order; a failed one does not block the next. */
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    if (closing) return Promise.reject(new TetherError('UNAVAILABLE', 'the config manager is shut down'));
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run.catch((err: unknown) => Promise.reject(toTetherError(err)));
  };

  /** Entries validated before are not validated again (config/incremental.ts). */
  const validationMemo = new ValidationMemo();
  const validate = (document: unknown, errorPaths?: (result: ConfigDocument) => PathRewrite[]) => {
    const plain = configDocument(document);
    if (!plain.ok) throw TetherError.invalid(plain.errors);
    // Our own copy (configDocument copies what is not frozen already): frozen, its entries
    // can be remembered by validation, serialisation and the store.
    deepFreeze(plain.document);
    const result = validateConfig(plain.document, validationMemo);
    if (!result.ok) throw TetherError.invalid(rewritePaths(result.errors, errorPaths?.(plain.document) ?? []));
    return { document: plain.document, config: result.config };
  };

  /** The whole flow of one mutation; runs inside `serially`. */
  const change = async (c: Change, options: MutationOptions): Promise<MutationResult> => {
    const dryRun = options.dryRun === true;
    const conflict = sourcePolicy && sourceConflict(sourcePolicy.mode, sourcePolicy.file, c.source, state);
    if (conflict) throw conflict;
    const built = c.build(state?.document);
    const { document, config } = validate(built.document, built.errorPaths);
    if (options.expectedVersion && options.expectedVersion !== state?.version) {
      throw new TetherError('ABORTED', `expected version ${options.expectedVersion}, but the current version is ${state?.version ?? 0}`);
    }
    const hash = configHash(config);
    const restores = c.restores !== undefined ? { restores: c.restores } : {};
    if (state && hash === state.contentHash) {
      log.debug({ source: c.source, version: state.version }, 'config unchanged');
      return { version: state.version, changed: false, dryRun, changes: [], ...restores, warnings: publisher.served()?.warnings ?? [] };
    }

    // Never a number used before, also when the store fell back to an older version.
    const version = Math.max(state?.version ?? 0, store.highestVersion()) + 1;
    if (dryRun) {
      const rendition = await publisher.render(config, version);
      const changes = diffResources(publisher.served()?.snapshots, rendition.snapshots);
      return { version: state?.version ?? 0, changed: false, dryRun, changes, ...restores, warnings: rendition.warnings };
    }
    const prepared = await publisher.prepare(config, version);
    let changes: ResourceChange[];
    try {
      changes = diffResources(publisher.served()?.snapshots, prepared.snapshots);
    } catch (err) {
      await prepared.discard();
      throw err;
    }

    const summary = state && c.summarize ? c.summarize(state.document, document) : '';
    const record: VersionRecord = {
      version,
      document,
      contentHash: hash,
      createdAt: now().toISOString(),
      source: c.source,
      description: joinDescription(summary, c.description),
      ...restores,
      ...(c.fileHash !== undefined ? { fileHash: c.fileHash } : {}),
      ...(options.author ? { author: options.author } : {}),
    };
    try {
      await store.commit(record);
    } catch (err) {
      await prepared.discard();
      if (err instanceof StoreConflictError) {
        throw new TetherError('ABORTED', `another writer changed the config store (${err.message}); nothing changed`);
      }
      throw storageError(err, `could not save config version ${version}`);
    }
    prepared.publish();
    state = { version, document: deepFreeze(document), config, contentHash: hash, createdAt: record.createdAt, source: c.source, description: c.description };
    log.info(
      { source: c.source, version, description: record.description, services: config.services.length, backends: config.backends.length, changes: changes.length },
      'config applied',
    );
    return { version, changed: true, dryRun, changes, ...restores, warnings: prepared.warnings };
  };

  /** Passes the error on, logging rejected configs (the caller gets every error too). */
  const logRejection = (source: string) => (err: unknown) => {
    const e = toTetherError(err);
    if (e.code === 'INVALID_ARGUMENT') log.warn({ source, errors: e.fieldErrors }, 'config rejected');
    throw e;
  };

  const restore = async (stored: VersionRecord) => {
    let valid;
    try {
      valid = validate(stored.document);
    } catch (err) {
      const e = toTetherError(err);
      throw new TetherError(
        'FAILED_PRECONDITION',
        `stored config version ${stored.version} is no longer valid:\n${formatErrors(e.fieldErrors)}`,
        e.fieldErrors,
      );
    }
    const prepared = await publisher.prepare(valid.config, stored.version);
    prepared.publish();
    state = {
      version: stored.version,
      document: deepFreeze(valid.document),
      config: valid.config,
      contentHash: configHash(valid.config),
      createdAt: stored.createdAt,
      source: stored.source,
      description: stored.description,
    };
    log.info({ version: stored.version, source: stored.source, createdAt: stored.createdAt }, 'config restored');
  };

  const initialChange: Change = {
    source: initial.source,
    description: initial.description ?? '',
    summarize: describeDocumentChange,
    ...(initial.fileHash !== undefined ? { fileHash: initial.fileHash } : {}),
    build: () => ({ document: initial.document }),
  };

  const stored = await store.current();
  if (!stored) {
    await serially(() => change(initialChange, {})).catch(logRejection(initial.source));
  } else {
    await serially(() => restore(stored));
    if (initial.fileHash !== undefined) {
      const lastFromFile = (await store.list()).find((m) => m.fileHash !== undefined);
      if (lastFromFile?.fileHash !== initial.fileHash) {
        // Also when no file version is left in history: applying an unchanged file is a no-op.
        await serially(() => change({ ...initialChange, description: initialChange.description || 'changed while Tether was down' }, {})).catch(
          (err: unknown) => {
            const e = toTetherError(err);
            log.error(
              { source: initial.source, code: e.code, errors: e.fieldErrors, version: state?.version },
              `the config file changed while Tether was down and cannot be applied; serving stored version ${state?.version}:\n${e.message}`,
            );
          },
        );
      }
    }
  }

  const currentState = (): State => {
    if (!state) throw new TetherError('UNAVAILABLE', 'no config is loaded');
    return state;
  };

  return {
    current(): CurrentConfig {
      const s = currentState();
      return { version: s.version, document: s.document, config: s.config, createdAt: s.createdAt };
    },

    apply(document, options) {
      return serially(() =>
        change(
          {
            source: options.source,
            description: options.description ?? '',
            summarize: describeDocumentChange,
            ...(options.fileHash !== undefined ? { fileHash: options.fileHash } : {}),
            build: () => ({ document }),
          },
          options,
        ),
      ).catch(logRejection(options.source));
    },

    mutate(source, edit: DocumentEdit | ((document: ConfigDocument) => ConfigDocument), options) {
      const apply = typeof edit === 'function' ? edit : (doc: ConfigDocument) => edit.apply(doc);
      const errorPaths = typeof edit === 'function' ? undefined : edit.errorPaths?.bind(edit);
      const describe = typeof edit === 'function' ? undefined : edit.describe?.bind(edit);
      return serially(() =>
        change(
          {
            source,
            description: options.description ?? '',
            ...(describe ? { summarize: (before: ConfigDocument) => describe(before) } : {}),
            build: (current) => ({ document: apply(current ?? {}), ...(errorPaths ? { errorPaths } : {}) }),
          },
          options,
        ),
      ).catch(logRejection(source));
    },

    rollback(toVersion, options) {
      return serially(async () => {
        const current = currentState().version;
        let target = toVersion;
        if (target === 0) {
          const step = undoStep(await store.list(), current);
          if (step.target === undefined) {
            const restored = step.base !== current ? ` (v${current} restores v${step.base})` : '';
            throw new TetherError('NOT_FOUND', `no version before v${step.base} is kept in history${restored}: nothing to roll back to`);
          }
          target = step.target;
        }
        const record = target <= current ? await store.get(target) : undefined;
        if (!record) throw new TetherError('NOT_FOUND', `version ${target} is not in the history (${await keptRange()})`);
        return change(
          { source: 'rollback', description: options.description ?? '', summarize: () => `rollback to v${target}`, restores: target, build: () => ({ document: record.document }) },
          options,
        );
      }).catch(logRejection('rollback'));
    },

    history(): Promise<VersionMeta[]> {
      return store.list();
    },

    async close() {
      closing = true;
      await queue;
    },
  };

  async function keptRange(): Promise<string> {
    const kept = await store.list();
    if (kept.length === 0) return 'no versions are kept';
    return `kept: ${kept[kept.length - 1]!.version} to ${kept[0]!.version}`;
  }
}
