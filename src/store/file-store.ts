import { unlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { silentLogger, type Logger } from '../log';
import { isErrno, RenameNotDurableError, replaceFile, writeFileDurably } from './atomic-file';
import { metaOf, recoverStore, type IndexEntry, type StoredCheckpoint } from './recovery';
import { acquireStoreLock, type StoreLock } from './store-lock';
import { StoreConflictError, type ConfigStore, type VersionMeta, type VersionRecord } from './types';
import {
  CURRENT_FILE,
  decodeStoredVersion,
  encodeCurrentPointer,
  encodePatchFile,
  encodeVersionFile,
  encodeVersionFileSteps,
  recordProblem,
  resolvePatch,
  versionFileName,
  VERSIONS_DIR,
  type EncodedVersionBytes,
} from './version-file';
import { Checkpoint } from './version-patch';
import type { Steps } from '../util/steps';

/** A version file ready to write: its text or UTF-8 bytes, and the text's length. */
interface EncodedFile {
  data: string | Buffer;
  length: number;
  sha256: string;
  record: VersionRecord;
}

export interface FileStoreOptions {
  /** Directory of the store; created with mode 0700 if missing. One process at a time (LOCK). */
  dir: string;
  /** Versions kept in history, the current one included (default 50, at least 2 so there is something to roll back to). */
  retain?: number;
  /** Recovery warnings (skipped corrupt files, fallbacks) go here; silent by default. */
  logger?: Logger;
  /**
   * When the directory had a history and none of it is intact, open it empty (a new history,
   * numbered after the highest version ever seen) instead of refusing with
   * StoreHistoryLostError. Only for an operator who said so (`--start-new-history`).
   */
  startNewHistory?: boolean;
}

/** The directory had a history and none of it survived: Tether must not guess what to serve. */
export class StoreHistoryLostError extends Error {
  constructor(
    readonly dir: string,
    readonly reason: string,
    readonly highestSeen: number,
  ) {
    super(
      `config store ${dir}: the config history is lost (${reason}). Refusing to start: serving any other config ` +
        `would silently replace version ${highestSeen || 'unknown'}. To recover, restore ${dir} from a backup, or start a new ` +
        `history from a config file with --config FILE --start-new-history (versions continue from ${highestSeen + 1}).`,
    );
    this.name = 'StoreHistoryLostError';
  }
}

export interface FileStore extends ConfigStore {
  /** The store's directory, resolved. */
  readonly dir: string;
}

export const DEFAULT_RETAIN = 50;

const READY = () => Promise.resolve(true);
const NOTHING = async () => undefined;

/**
 * A version is written whole (a new checkpoint) when its patch would add more than this share
 * of the checkpoint's bytes, or after this many patches: patches stay small and reading one
 * costs at most its checkpoint.
 */
const PATCH_SHARE = 0.25;
const PATCHES_PER_CHECKPOINT = 100;

/**
 * Opens (creating if needed) the file-backed config store in `options.dir`: takes its lock,
 * recovers from any crash (see recovery.ts) and indexes history in memory. The on-disk
 * format is described in version-file.ts.
 */
export async function createFileStore(options: FileStoreOptions): Promise<FileStore> {
  const retain = options.retain ?? DEFAULT_RETAIN;
  if (!Number.isSafeInteger(retain) || retain < 2) throw new RangeError(`config store: retain must be an integer >= 2, got ${retain}`);
  const log = (options.logger ?? silentLogger()).child({ component: 'store' });
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const dir = await fs.realpath(options.dir);
  const lock = await acquireStoreLock(dir, log);
  try {
    await fs.mkdir(path.join(dir, VERSIONS_DIR), { mode: 0o700 }).catch((err: unknown) => {
      if (!isErrno(err, 'EEXIST')) throw err;
    });
    const recovered = await recoverStore(dir, retain, log);
    if (recovered.lost) {
      if (!options.startNewHistory) throw new StoreHistoryLostError(dir, recovered.lost, recovered.highestSeen);
      log.warn({ reason: recovered.lost, next: recovered.highestSeen + 1 }, 'config store: starting a new history, as asked');
    }
    return new FileStoreImpl(dir, retain, log, lock, recovered.entries, recovered.current, recovered.highestSeen, recovered.checkpoint, recovered.baseOnly);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

class FileStoreImpl implements FileStore {
  private readonly versionsDir: string;
  /** Kept versions, oldest first. The store is the only writer, so this is the truth. */
  private readonly entries: IndexEntry[];
  private currentRecord: VersionRecord | undefined;
  /** Commits run one at a time, in call order. */
  private chain: Promise<unknown> = Promise.resolve();
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Set when a commit failed after its version file was renamed into place: memory and disk may disagree. */
  private broken: Error | undefined;
  /** The versions directory, opened once for its fsyncs (syncVersionsDir). */
  private versionsDirHandle: Promise<fs.FileHandle> | undefined;
  /** What the next versions are stored as patches against. */
  private checkpoint: Checkpoint | undefined;
  /** Versions no longer in history whose files stay as the checkpoints of kept ones. */
  private readonly baseOnly: Set<number>;
  /** A whole version's file encoded by prepareCommit, for the commit of that record. */
  private preparedWhole: { record: VersionRecord; encoded: EncodedVersionBytes } | undefined;

  constructor(
    readonly dir: string,
    private readonly retain: number,
    private readonly log: Logger,
    private readonly lock: StoreLock,
    entries: IndexEntry[],
    current: VersionRecord | undefined,
    private highest: number,
    checkpoint: StoredCheckpoint | undefined,
    baseOnly: number[],
  ) {
    this.versionsDir = path.join(dir, VERSIONS_DIR);
    this.entries = entries;
    this.currentRecord = current;
    this.baseOnly = new Set(baseOnly);
    if (checkpoint) this.checkpoint = new Checkpoint(checkpoint.version, checkpoint.sha256, checkpoint.document, checkpoint.bytes);
  }

  highestVersion(): number {
    return this.highest;
  }

  async current(): Promise<VersionRecord | undefined> {
    this.assertOpen();
    return this.currentRecord && structuredClone(this.currentRecord);
  }

  async get(version: number): Promise<VersionRecord | undefined> {
    this.assertOpen();
    if (this.currentRecord?.version === version) return structuredClone(this.currentRecord);
    const entry = this.entries.find((e) => e.meta.version === version);
    if (!entry) return undefined;
    const stored = await this.readStored(version, entry.sha256, () => !this.entries.includes(entry));
    if (!stored || stored.kind === 'full') return stored?.record;
    const base = stored.base.version;
    const cp = this.checkpoint?.version === base ? this.checkpoint : undefined;
    const baseFile = cp ? undefined : await this.readStored(base, stored.base.sha256, () => false);
    const baseDoc = cp
      ? { document: structuredClone(cp.document), sha256: cp.sha256 }
      : baseFile?.kind === 'full'
        ? { document: baseFile.record.document, sha256: baseFile.sha256 }
        : undefined;
    const resolved = resolvePatch(stored, baseDoc);
    if (!resolved.ok) throw this.corrupt(version, resolved.reason);
    return resolved.value;
  }

  /** A version's file, checked against the sha256 indexed for it; undefined when retention removed it meanwhile. */
  private async readStored(version: number, sha256: string, gone: () => boolean) {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.versionsDir, versionFileName(version)), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') && gone()) return undefined;
      throw err;
    }
    const decoded = decodeStoredVersion(text, version);
    if (!decoded.ok || decoded.value.sha256 !== sha256) throw this.corrupt(version, decoded.ok ? 'content changed on disk since the store was opened' : decoded.reason);
    return decoded.value;
  }

  private corrupt(version: number, reason: string): Error {
    this.log.error({ version, reason }, 'config store: version file is corrupt');
    return new Error(`config store: version ${version} is corrupt on disk (${reason})`);
  }

  async list(): Promise<VersionMeta[]> {
    this.assertOpen();
    return this.entries.map((e) => ({ ...e.meta })).reverse();
  }

  commit(record: VersionRecord): Promise<void> {
    return this.commitWhen(record, READY).then(() => undefined);
  }

  commitWhen(record: VersionRecord, ready: () => Promise<boolean>): Promise<boolean> {
    // Checked at call time: commits queued before close() still run.
    if (this.closing) return Promise.reject(new Error(`config store ${this.dir} is closed`));
    const run = this.chain.then(() => this.commitNow(record, ready));
    // The caller is answered once the version is durable; the housekeeping after it (CURRENT,
    // retention) runs before the next commit or close(), a turn later: what the caller does
    // with the version (publishing it) goes first, also the streams the snapshot cache tells in
    // an immediate (snapshot-cache.ts FIRST_WATCHERS), hence two immediates.
    this.chain = run.then(({ housekeeping }) => setImmediatePromise().then(() => setImmediatePromise()).then(housekeeping), () => undefined);
    return run.then(({ committed }) => committed);
  }

  close(): Promise<void> {
    this.closing = true;
    this.closed ??= this.chain.then(async () => {
      const dirHandle = await this.versionsDirHandle?.catch(() => undefined);
      await dirHandle?.close().catch(() => undefined);
      await this.lock.release();
    });
    return this.closed;
  }

  /**
   * fsyncs the versions directory (the rename of a version file into it is the commit) through
   * one handle kept open from the first commit to close(): two system calls fewer per commit.
   */
  private async syncVersionsDir(): Promise<void> {
    this.versionsDirHandle ??= fs.open(this.versionsDir, 'r');
    let handle: fs.FileHandle;
    try {
      handle = await this.versionsDirHandle;
    } catch (err) {
      this.versionsDirHandle = undefined;
      throw err;
    }
    await handle.sync();
  }

  /** Makes the version durable (unless `ready` says no); resolves with what is left to do after it. */
  private async commitNow(record: VersionRecord, ready: () => Promise<boolean>): Promise<{ committed: boolean; housekeeping: () => Promise<void> }> {
    if (this.broken) throw this.broken;
    // Above every number this directory ever used, also after a fallback to an older version.
    const at = this.highest;
    if (record.version !== at + 1) throw new StoreConflictError(record.version, at);
    const problem = recordProblem(record);
    if (problem) throw new TypeError(`config store: refusing to commit an invalid record: ${problem}`);
    const { encoded, base, checkpoint } = this.encode(record);
    // The durable rename of a format 2 version file is the commit (version-file.ts): one
    // durable write per version.
    try {
      // With an intact version before it, a power loss that tears this one's file before its
      // fsyncs end falls back to that one at recovery (never acknowledged, never served): the
      // file and the directory are synced together after the rename, one disk round trip.
      const syncAfterRename = this.entries.length > 0;
      const written = await writeFileDurably(this.versionsDir, versionFileName(record.version), encoded.data, {
        ready,
        syncDir: () => this.syncVersionsDir(),
        syncAfterRename,
      });
      if (!written) return { committed: false, housekeeping: NOTHING };
    } catch (err) {
      if (err instanceof RenameNotDurableError) {
        this.broken = new Error(`config store ${this.dir}: a commit of version ${record.version} may or may not be durable (${err.message}); reopen the store`);
        this.log.error({ version: record.version, err: err.message }, 'config store: commit outcome unknown, refusing further commits');
      }
      throw err;
    }
    this.entries.push({ meta: metaOf(encoded.record), sha256: encoded.sha256, ...(base !== undefined ? { base } : {}) });
    this.currentRecord = encoded.record;
    this.highest = record.version;
    if (checkpoint) this.checkpoint = checkpoint;
    this.log.debug({ version: record.version, source: record.source, patch: base !== undefined }, 'config version committed');
    const doomed = this.retire();
    const housekeeping = async () => {
      // A hint, not the commit: replaced without waiting for the disk (recovery.ts).
      await replaceFile(this.dir, CURRENT_FILE, encodeCurrentPointer({ version: record.version, sha256: encoded.sha256 })).catch((err: unknown) => {
        this.log.warn({ version: record.version, err: (err as Error).message }, 'config store: could not update CURRENT (the version is committed)');
      });
      this.removeFiles(doomed);
    };
    return { committed: true, housekeeping };
  }

  *prepareCommit(document: Record<string, unknown>, version: number, record?: VersionRecord): Steps<void> {
    this.preparedWhole = undefined;
    const cp = this.checkpoint;
    if (cp && version - cp.version <= PATCHES_PER_CHECKPOINT && (yield* cp.diffSteps(document, cp.bytes * PATCH_SHARE))) return;
    // Written whole (a new checkpoint): a 10,000-service record's JSON, UTF-8 and hash in steps too.
    if (record && record.document === document && Object.isFrozen(document)) this.preparedWhole = { record, encoded: yield* encodeVersionFileSteps(record, 2) };
  }

  /** The record as a patch against the checkpoint when that is small, else whole (a new checkpoint). */
  private encode(record: VersionRecord): { encoded: EncodedFile; base?: number; checkpoint?: Checkpoint } {
    const cp = this.checkpoint;
    const prepared = this.preparedWhole?.record === record ? this.preparedWhole.encoded : undefined;
    this.preparedWhole = undefined;
    if (cp && record.version - cp.version <= PATCHES_PER_CHECKPOINT) {
      const patch = cp.diff(record.document, cp.bytes * PATCH_SHARE);
      if (patch) {
        const encoded = encodePatchFile(record, { base: { version: cp.version, sha256: cp.sha256 }, keys: patch.keys });
        return { encoded: { data: encoded.text, length: encoded.text.length, sha256: encoded.sha256, record: encoded.record }, base: cp.version };
      }
    }
    const whole = prepared ?? encodeVersionFile(record, 2);
    const encoded: EncodedFile = 'bytes' in whole ? { data: whole.bytes, length: whole.length, sha256: whole.sha256, record: whole.record } : { data: whole.text, length: whole.text.length, sha256: whole.sha256, record: whole.record };
    return { encoded, checkpoint: new Checkpoint(record.version, encoded.sha256, encoded.record.document, encoded.length) };
  }

  /** Drops what retention no longer keeps from the history (list() never shows more than `retain`); returns the files to delete. */
  private retire(): number[] {
    const doomed: number[] = [];
    while (this.entries.length > this.retain) {
      const { version } = this.entries.shift()!.meta;
      this.baseOnly.add(version);
    }
    const bases = new Set(this.entries.map((e) => e.base));
    for (const version of this.baseOnly) {
      if (bases.has(version) || this.checkpoint?.version === version) continue;
      this.baseOnly.delete(version);
      doomed.push(version);
    }
    return doomed;
  }

  /** The commit is durable already; a file that cannot be deleted is only logged. */
  private removeFiles(doomed: number[]): void {
    // Newest first: a patch goes before its checkpoint, so a crash in between leaves no patch without one.
    // One unlink per file, on the loop: cheaper than a thread-pool round trip (see replaceFile).
    for (const version of doomed.sort((a, b) => b - a)) {
      try {
        unlinkSync(path.join(this.versionsDir, versionFileName(version)));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) this.log.warn({ version, err: (err as Error).message }, 'config store: could not delete an old version');
      }
    }
  }

  /** Reads stay served when broken: memory holds what callers were last told. */
  private assertOpen(): void {
    if (this.closing) throw new Error(`config store ${this.dir} is closed`);
  }
}
