/**
 * The config manager: the one writer of the config history. It opens the history (restore,
 * seed, a config file changed while Tether was down), runs every change through one serial
 * queue (change-flow.ts) and answers reads of the current version.
 */
import { ValidationMemo } from '../config';
import type { ConfigStore, VersionMeta } from '../store/types';
import { HashMemo } from './config-hash';
import { describeDocumentChangeSteps } from './change-description';
import { TetherError, toTetherError } from '../config/errors';
import { undoStep } from './undo';
import type { ConfigDocument, ConfigManagerApi, CurrentConfig, DocumentEdit, MutationOptions, MutationResult } from './types';
import { type Session, type Change, type ConfigManagerOptions, serially, logRejection, currentState } from './manager-session';
import { change, restore, catchUp } from './change-flow';

export type { ConfigManagerOptions } from './manager-session';

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

