import { configDocumentSteps, formatErrors, validateConfigSteps, ValidationMemo } from '../config';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { StoreConflictError, StoreUnavailableError, type ConfigStore, type VersionMeta, type VersionRecord } from '../store/types';
import { configHashSteps, deepFreezeSteps, HashMemo } from './config-hash';
import { runStepsInTurns, type Steps } from '../util/steps';
import { describeDocumentChangeSteps, joinDescription } from './change-description';
import { rewritePaths } from './document';
import { sourceConflict, type ConfigSourceMode } from './config-source';
import { storageError, TetherError, toTetherError } from '../config/errors';
import type { PreparedConfig, Publisher } from './publisher';
import { sliceTurns, yieldToLoop } from '../util/yield-loop';
import { computePool } from '../compute/pool';
import { diffResourcesWith, renderDiff, type ResourceChange } from '../diff/resource-diff';
import type { Snapshot } from '../cache/snapshot';
import type { NodeKind } from '../model/node-targets';
import { undoStep } from './undo';
import type { ConfigDocument, ConfigManagerApi, CurrentConfig, DocumentEdit, MutationOptions, MutationResult, PathRewrite } from './types';
import { frozenJsonSteps } from '../util/frozen-json';

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
  /**
   * A restart's head start (server/served-snapshot.ts): called with the stored current version
   * before anything validates it, when the config file is unchanged; returns true when it
   * served that version's persisted snapshot. Then openConfigManager returns at once, and the
   * version is validated, built and served from the fresh build in the background (`ready()`).
   */
  headStart?: (stored: VersionRecord) => boolean | Promise<boolean>;
}

export interface ConfigManager extends ConfigManagerApi {
  /** Lets queued mutations finish; later ones fail with UNAVAILABLE. The store and publisher stay open. */
  close(): Promise<void>;
  /**
   * Resolves once the first version is validated and served from a fresh build: at once,
   * unless a head start (ConfigManagerOptions.headStart) served a persisted snapshot; until
   * then current() throws UNAVAILABLE and edits wait. Rejects as openConfigManager would have.
   */
  ready(): Promise<void>;
}

interface State {
  version: number;
  /** Deep-frozen: handed out by current() and to edits, never copied per call. */
  document: ConfigDocument;
  config: TetherConfig;
  /** A restored version's is computed after it is served (restore()): await it. */
  contentHash: string | Promise<string>;
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
  /** Tether's summary of the change, from the document before it and the validated result (steps when it compares whole documents). */
  summarize?(before: ConfigDocument, after: ConfigDocument): string | Steps<string>;
  /** Rollbacks: the version restored. */
  restores?: number;
  fileHash?: string;
  build(current: ConfigDocument | undefined): { document: unknown; errorPaths?: (result: ConfigDocument) => PathRewrite[] };
}

/** The running manager: what its named parts below share. */
interface Session {
  readonly store: ConfigStore;
  readonly publisher: Publisher;
  readonly log: Logger;
  readonly now: () => Date;
  readonly sourcePolicy: ConfigManagerOptions['configSource'];
  /** Entries validated before are not validated again (config/incremental.ts). */
  readonly validationMemo: ValidationMemo;
  /** Chunk hashes of the last config hashed (config-hash.ts). */
  readonly hashMemo: HashMemo;
  state: State | undefined;
  queue: Promise<unknown>;
  closing: boolean;
  /** Stops following a shared history's head (etcd). */
  unsubscribe?: (() => void) | undefined;
  /** The first version's restore after a head start (ConfigManagerOptions.headStart). */
  ready?: Promise<void>;
}

/** Work shorter than this (a small edit's validation) goes on to the next step without letting the event loop in first. */
const SMALL_WORK_MS = 1;

/** Encoded bytes of modified resources above which their text diffs are written on the compute worker. */
const WORKER_DIFF_BYTES = 16 * 1024;

/**
 * Text diffs (decoding, YAML: ~1 ms of CPU per KB) of large changes run on the compute
 * worker (here if it fails); small ones are not worth the trip.
 */
function diffSnapshots(before: ReadonlyMap<NodeKind, Snapshot> | undefined, after: ReadonlyMap<NodeKind, Snapshot>): Promise<ResourceChange[]> {
  return diffResourcesWith(before, after, async (pending) => {
    if (pending.reduce((n, p) => n + p.before.length + p.after.length, 0) < WORKER_DIFF_BYTES) return pending.map(renderDiff);
    return computePool()
      .textDiffs(pending)
      .catch(() => pending.map(renderDiff));
  });
}

/** Mutations run one at a time, in call order; a failed one does not block the next. */
function serially<T>(session: Session, task: () => Promise<T>): Promise<T> {
  if (session.closing) return Promise.reject(new TetherError('UNAVAILABLE', 'the config manager is shut down'));
  const run = session.queue.then(task);
  session.queue = run.catch(() => undefined);
  return run.catch((err: unknown) => Promise.reject(toTetherError(err)));
}

async function validate(session: Session, document: unknown, errorPaths?: (result: ConfigDocument) => PathRewrite[]) {
  // A whole config of 10,000 new services is seconds of copying, freezing and schema checks:
  // done in event-loop turns (util/steps.ts) per few entries, so xDS and ext_proc go on. An
  // edit of the current document shares its unchanged entries: each pass below compares the
  // lists with the current ones by identity and works on the window that changed.
  const previous = session.state?.document;
  const plain = await runStepsInTurns(configDocumentSteps(document, { previous }));
  if (!plain.ok) throw TetherError.invalid(plain.errors);
  // Our own copy (configDocument copies what is not frozen already): frozen, its entries
  // can be remembered by validation, serialisation and the store.
  await runStepsInTurns(deepFreezeSteps(plain.document, previous));
  const result = await runStepsInTurns(validateConfigSteps(plain.document, session.validationMemo));
  if (!result.ok) throw TetherError.invalid(rewritePaths(result.errors, errorPaths?.(plain.document) ?? []));
  return { document: plain.document, config: result.config };
}

/** A change validated against the state it was built on, before anything is built or stored. */
interface Validated {
  state: State | undefined;
  document: ConfigDocument;
  config: TetherConfig;
  hash: string;
  /** The version it becomes when applied. */
  version: number;
  restores: { restores?: number };
}

/** The whole flow of one mutation; runs inside `serially`. */
async function change(session: Session, c: Change, options: MutationOptions): Promise<MutationResult> {
  const v = await validateChange(session, c, options);
  const dryRun = options.dryRun === true;
  if (v.state && v.hash === (await v.state.contentHash)) {
    session.log.debug({ source: c.source, version: v.state.version }, 'config unchanged');
    return { version: v.state.version, changed: false, dryRun, changes: [], ...v.restores, warnings: session.publisher.served()?.warnings ?? [] };
  }
  return dryRun ? tryChange(session, v) : applyChange(session, c, options, v);
}

/** Builds the new document, validates it and checks it may replace the current one. */
async function validateChange(session: Session, c: Change, options: MutationOptions): Promise<Validated> {
  const { store } = session;
  // A shared history (etcd) may have moved on elsewhere: build on its head, read now.
  if (store.shared) await catchUp(session, await store.shared.refresh().catch((err: unknown) => refused(session, err)));
  const state = session.state;
  const conflict = session.sourcePolicy && sourceConflict(session.sourcePolicy.mode, session.sourcePolicy.file, c.source, state);
  if (conflict) throw conflict;
  const validating = sliceTurns(SMALL_WORK_MS);
  const built = c.build(state?.document);
  const { document, config } = await validate(session, built.document, built.errorPaths);
  // Validation, translation and the diffs are each tens of ms at 2,000 endpoints: let the
  // event loop (xDS, ext_proc) in between them. A small edit's validation (well under a
  // millisecond) goes on without waiting a turn.
  await validating();
  if (options.expectedVersion && options.expectedVersion !== state?.version) {
    throw new TetherError('ABORTED', `expected version ${options.expectedVersion}, but the current version is ${state?.version ?? 0}`);
  }
  // Never a number used before, also when the store fell back to an older version. A shared
  // store compares its head with version - 1: the version this edit was built on.
  const version = store.shared ? (state?.version ?? 0) + 1 : Math.max(state?.version ?? 0, store.highestVersion()) + 1;
  const hash = await runStepsInTurns(configHashSteps(config, session.hashMemo));
  return { state, document, config, hash, version, restores: c.restores !== undefined ? { restores: c.restores } : {} };
}

/** A dry run: what the change would serve and change, from a rendition that is never published. */
async function tryChange(session: Session, v: Validated): Promise<MutationResult> {
  const { publisher } = session;
  const rendition = await publisher.render(v.config, v.version);
  const changes = await diffSnapshots(publisher.served()?.snapshots, rendition.snapshots);
  return { version: v.state?.version ?? 0, changed: false, dryRun: true, changes, ...v.restores, warnings: rendition.warnings };
}

/**
 * Makes the version durable while building its rendition, then publishes it, then diffs it:
 * all of it or nothing. The store writes the version where it is not current yet while the
 * rendition is built, and completes the commit only once the build succeeded: a version that
 * cannot be served is never stored, and none is served before it is durable.
 */
async function applyChange(session: Session, c: Change, options: MutationOptions, v: Validated): Promise<MutationResult> {
  const { publisher, log } = session;
  const { version, document, config, hash } = v;
  // The version file's JSON, entry by entry in turns (the store composes it from these; the
  // summary of a whole new config compares entries by it).
  await runStepsInTurns(frozenJsonSteps(document, v.state?.document));
  const summarized = session.state && c.summarize ? c.summarize(session.state.document, document) : '';
  const summary = typeof summarized === 'string' ? summarized : await runStepsInTurns(summarized);
  const record = versionRecord(session, c, options, { version, document, hash }, summary);
  // The store's own work on the document (a file store's patch against its checkpoint) in turns too.
  if (session.store.prepareCommit) await runStepsInTurns(session.store.prepareCommit(document, version, record));
  let built!: (ok: boolean) => void;
  const buildDone = new Promise<boolean>((resolve) => (built = resolve));
  let writing = true;
  const committing = commitWhen(session.store, record, () => {
    writing = false;
    return buildDone;
  }).then(
    (committed) => ({ committed }),
    (err: unknown) => ({ err }),
  );
  let prepared: PreparedConfig;
  try {
    // While the store writes, the build lets the loop in between its steps: the write's
    // system calls go on meanwhile instead of after it.
    prepared = await publisher.prepare(config, version, { ioPending: () => writing });
  } catch (err) {
    built(false);
    await committing;
    throw err;
  }
  // What clients were served before this version: the resource diff compares with it. The
  // diff (decoding, YAML) is for the caller's reply only: it runs once the version is durable
  // and published, so that clients get the version without waiting for it.
  const before = publisher.served()?.snapshots;
  built(true);
  const outcome = await committing;
  if ('err' in outcome || !outcome.committed) {
    await prepared.discard();
    throw commitError('err' in outcome ? outcome.err : new Error('the store withdrew the commit'), record.version);
  }
  prepared.publish();
  session.state = { version, document, config, contentHash: hash, createdAt: record.createdAt, source: c.source, description: c.description };
  let changes: ResourceChange[];
  try {
    // After a turn of the loop: the streams' writes of the new version reach the sockets first.
    await yieldToLoop();
    changes = await diffSnapshots(before, prepared.snapshots);
  } catch (err) {
    // Durable and served: say so rather than report a failure of the change itself.
    log.error({ version, err: (err as Error).message }, 'config applied, but its resource diff failed');
    throw new TetherError('INTERNAL', `config version ${version} was applied and is served, but its resource diff could not be computed: ${(err as Error).message}`);
  }
  log.info(
    { source: c.source, version, description: record.description, services: config.services.length, backends: config.backends.length, changes: changes.length },
    'config applied',
  );
  return { version, changed: true, dryRun: false, changes, ...v.restores, warnings: prepared.warnings };
}

function versionRecord(
  session: Session,
  c: Change,
  options: MutationOptions,
  v: { version: number; document: ConfigDocument; hash: string },
  summary: string,
): VersionRecord {
  return {
    version: v.version,
    document: v.document,
    contentHash: v.hash,
    createdAt: session.now().toISOString(),
    source: c.source,
    description: joinDescription(summary, c.description),
    ...(c.restores !== undefined ? { restores: c.restores } : {}),
    ...(c.fileHash !== undefined ? { fileHash: c.fileHash } : {}),
    ...(options.author ? { author: options.author } : {}),
  };
}

/** `store.commitWhen`, or for a store without it commit() once `ready` says so. */
async function commitWhen(store: ConfigStore, record: VersionRecord, ready: () => Promise<boolean>): Promise<boolean> {
  if (store.commitWhen) return store.commitWhen(record, ready);
  if (!(await ready())) return false;
  await store.commit(record);
  return true;
}

/** A failed commit as the caller sees it: nothing changed. */
function commitError(err: unknown, version: number): TetherError {
  if (err instanceof StoreConflictError) {
    return new TetherError('ABORTED', `another writer changed the config store (${err.message}); nothing changed; the current version is ${err.actual}`);
  }
  if (err instanceof StoreUnavailableError) {
    return new TetherError(
      'UNAVAILABLE',
      `could not save config version ${version}: ${err.message}; nothing changed unless it reached etcd before the failure (then it is served as version ${version})`,
    );
  }
  return storageError(err, `could not save config version ${version}`);
}

/** Passes the error on, logging rejected configs (the caller gets every error too). */
const logRejection = (session: Session, source: string) => (err: unknown) => {
  const e = toTetherError(err);
  if (e.code === 'INVALID_ARGUMENT') session.log.warn({ source, errors: e.fieldErrors }, 'config rejected');
  throw e;
};

/** Serves a stored version exactly as it was (same number, same snapshots). */
async function restore(session: Session, stored: VersionRecord): Promise<void> {
  let valid;
  try {
    valid = await validate(session, stored.document);
  } catch (err) {
    const e = toTetherError(err);
    throw new TetherError('FAILED_PRECONDITION', `stored config version ${stored.version} is no longer valid:\n${formatErrors(e.fieldErrors)}`, e.fieldErrors);
  }
  const prepared = await session.publisher.prepare(valid.config, stored.version);
  prepared.publish();
  session.state = {
    version: stored.version,
    document: valid.document,
    config: valid.config,
    // Only the next change needs it: hashed after the version is served, in event-loop turns
    // (a whole config of 10,000 services is a few hundred ms that a restart need not wait for).
    contentHash: runStepsInTurns(configHashSteps(valid.config)),
    createdAt: stored.createdAt,
    source: stored.source,
    description: stored.description,
  };
  session.log.info({ version: stored.version, source: stored.source, createdAt: stored.createdAt }, 'config restored');
}

/** A shared store that cannot answer now: nothing can be decided, nothing changed. */
function refused(session: Session, err: unknown): never {
  if (err instanceof StoreUnavailableError) {
    throw new TetherError('UNAVAILABLE', `edits are refused while ${err.message}; nothing changed, still serving version ${session.state?.version ?? 0}`);
  }
  throw err;
}

/** A head another instance wrote: served as is (same number, same snapshots). */
async function catchUp(session: Session, head: VersionRecord | undefined): Promise<void> {
  if (!head || head.version <= (session.state?.version ?? 0)) return;
  await restore(session, head);
}

/**
 * The first version served: the store's current one, or `initial` committed into an empty
 * store; then a config file that changed while Tether was down is applied on top.
 */
async function startHistory(session: Session, initial: ConfigManagerOptions['initial'], headStart?: ConfigManagerOptions['headStart']): Promise<void> {
  const initialChange: Change = {
    source: initial.source,
    description: initial.description ?? '',
    summarize: describeDocumentChangeSteps,
    ...(initial.fileHash !== undefined ? { fileHash: initial.fileHash } : {}),
    build: () => ({ document: initial.document }),
  };
  const stored = await session.store.current();
  if (!stored) {
    await serially(session, () => change(session, initialChange, {})).catch(async (err: unknown) => {
      // Another instance seeded the shared history first: serve that.
      const shared = session.store.shared;
      if (shared && toTetherError(err).code === 'ABORTED') {
        await serially(session, async () => catchUp(session, await shared.refresh()));
        if (session.state) return;
      }
      return logRejection(session, initial.source)(err);
    });
    return;
  }
  const lastFromFile = initial.fileHash === undefined ? undefined : (await session.store.list()).find((m) => m.fileHash !== undefined);
  const fileUnchanged = initial.fileHash === undefined || lastFromFile?.fileHash === initial.fileHash;
  if (fileUnchanged && headStart && (await headStart(stored))) {
    // Served already: the rest of the start (validation, build, the comparison with what was
    // served) runs before any edit, which queues behind it.
    const ready = serially(session, () => restore(session, stored));
    ready.catch(() => undefined);
    session.ready = ready;
    return;
  }
  await serially(session, () => restore(session, stored));
  if (fileUnchanged) return;
  // Also when no file version is left in history: applying an unchanged file is a no-op.
  const fromFile = { ...initialChange, description: initialChange.description || 'changed while Tether was down' };
  await serially(session, () => change(session, fromFile, {})).catch((err: unknown) => {
    const e = toTetherError(err);
    session.log.error(
      { source: initial.source, code: e.code, errors: e.fieldErrors, version: session.state?.version },
      `the config file changed while Tether was down and cannot be applied; serving stored version ${session.state?.version}:\n${e.message}`,
    );
  });
}

function currentState(session: Session): State {
  if (!session.state) throw new TetherError('UNAVAILABLE', 'no config is loaded');
  return session.state;
}

async function keptRange(store: ConfigStore): Promise<string> {
  const kept = await store.list();
  if (kept.length === 0) return 'no versions are kept';
  return `kept: ${kept[kept.length - 1]!.version} to ${kept[0]!.version}`;
}

/** Rollback: to a version, or (0) one step back like undo. */
async function rollback(session: Session, toVersion: number, options: MutationOptions & { description?: string }): Promise<MutationResult> {
  const current = currentState(session).version;
  let target = toVersion;
  if (target === 0) {
    const step = undoStep(await session.store.list(), current);
    if (step.target === undefined) {
      const restored = step.base !== current ? ` (v${current} restores v${step.base})` : '';
      throw new TetherError('NOT_FOUND', `no version before v${step.base} is kept in history${restored}: nothing to roll back to`);
    }
    target = step.target;
  }
  const record = target <= current ? await session.store.get(target) : undefined;
  if (!record) throw new TetherError('NOT_FOUND', `version ${target} is not in the history (${await keptRange(session.store)})`);
  return change(
    session,
    { source: 'rollback', description: options.description ?? '', summarize: () => `rollback to v${target}`, restores: target, build: () => ({ document: record.document }) },
    options,
  );
}

/**
 * Opens the manager: restores the store's current version exactly (same number, same
 * snapshots, so connected clients see nothing new), or commits `initial` into an empty
 * store, then applies a config file that changed while Tether was down (see
 * ConfigManagerOptions.initial). Throws TetherError when there is nothing valid to serve.
 */
export async function openConfigManager(options: ConfigManagerOptions): Promise<ConfigManager> {
  const session: Session = {
    store: options.store,
    publisher: options.publisher,
    log: options.logger.child({ component: 'config' }),
    now: options.now ?? (() => new Date()),
    sourcePolicy: options.configSource,
    validationMemo: new ValidationMemo(),
    hashMemo: new HashMemo(),
    state: undefined,
    queue: Promise.resolve(),
    closing: false,
  };
  await startHistory(session, options.initial, options.headStart);
  session.unsubscribe = session.store.shared?.onHead((head) => {
    serially(session, () => catchUp(session, head)).catch((err: unknown) => {
      if (!session.closing) session.log.error({ version: head.version, err: (err as Error).message }, 'could not serve a version from the shared history');
    });
  });
  return managerApi(session);
}

/** The manager's API over a session: each change through `serially`, rejections logged. */
function managerApi(session: Session): ConfigManager {
  const run = (source: string, c: Change, options: MutationOptions) =>
    serially(session, () => change(session, c, options)).catch(logRejection(session, source));
  return {
    current(): CurrentConfig {
      const s = currentState(session);
      return { version: s.version, document: s.document, config: s.config, createdAt: s.createdAt };
    },

    apply(document, options) {
      return run(
        options.source,
        {
          source: options.source,
          description: options.description ?? '',
          summarize: describeDocumentChangeSteps,
          ...(options.fileHash !== undefined ? { fileHash: options.fileHash } : {}),
          build: () => ({ document }),
        },
        options,
      );
    },

    mutate(source, edit: DocumentEdit | ((document: ConfigDocument) => ConfigDocument), options) {
      const apply = typeof edit === 'function' ? edit : (doc: ConfigDocument) => edit.apply(doc);
      const errorPaths = typeof edit === 'function' ? undefined : edit.errorPaths?.bind(edit);
      const describe = typeof edit === 'function' ? undefined : edit.describe?.bind(edit);
      return run(
        source,
        {
          source,
          description: options.description ?? '',
          ...(describe ? { summarize: (before: ConfigDocument) => describe(before) } : {}),
          build: (current) => ({ document: apply(current ?? {}), ...(errorPaths ? { errorPaths } : {}) }),
        },
        options,
      );
    },

    rollback(toVersion, options) {
      return serially(session, () => rollback(session, toVersion, options)).catch(logRejection(session, 'rollback'));
    },

    history(): Promise<VersionMeta[]> {
      return session.store.list();
    },

    ready: async () => {
      await session.ready;
    },

    async close() {
      session.closing = true;
      session.unsubscribe?.();
      await session.queue;
    },
  };
}
