/**
 * One change of the config manager, from the caller's document to a durable, published
 * version (validate, build while the store writes, commit, publish, diff), and the serving
 * of a stored version as it was (restore, a shared history's head).
 */
import { configDocumentSteps, formatErrors, validateConfigSteps } from '../config';
import type { TetherConfig } from '../model/types';
import { StoreConflictError, StoreUnavailableError, type ConfigStore, type VersionRecord } from '../store/types';
import { configHashSteps, deepFreezeSteps } from './config-hash';
import { runStepsInTurns } from '../util/steps';
import { joinDescription } from './change-description';
import { rewritePaths } from './document';
import { sourceConflict } from './config-source';
import { storageError, TetherError, toTetherError } from '../config/errors';
import type { PreparedConfig } from './publisher';
import { sliceTurns, yieldToLoop } from '../util/yield-loop';
import { computePool } from '../compute/pool';
import { diffResourcesWith, renderDiff, type ResourceChange } from '../diff/resource-diff';
import type { Snapshot } from '../cache/snapshot';
import type { NodeKind } from '../model/node-targets';
import type { ConfigDocument, MutationOptions, MutationResult, PathRewrite } from './types';
import { frozenJsonSteps } from '../util/frozen-json';
import type { Session, Change, State } from './manager-session';

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
export async function change(session: Session, c: Change, options: MutationOptions): Promise<MutationResult> {
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

/** Serves a stored version exactly as it was (same number, same snapshots). */
export async function restore(session: Session, stored: VersionRecord): Promise<void> {
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
export async function catchUp(session: Session, head: VersionRecord | undefined): Promise<void> {
  if (!head || head.version <= (session.state?.version ?? 0)) return;
  await restore(session, head);
}
