import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log';
import { isErrno, RenameNotDurableError, writeFileDurably } from './atomic-file';
import { metaOf, recoverStore, type IndexEntry } from './recovery';
import { acquireStoreLock, type StoreLock } from './store-lock';
import { StoreConflictError, type ConfigStore, type VersionMeta, type VersionRecord } from './types';
import {
  CURRENT_FILE,
  decodeVersionFile,
  encodeCurrentPointer,
  encodeVersionFile,
  recordProblem,
  versionFileName,
  VERSIONS_DIR,
} from './version-file';

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
    return new FileStoreImpl(dir, retain, log, lock, recovered.entries, recovered.current, recovered.highestSeen);
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
  /** Set when a commit failed after CURRENT was replaced: memory and disk may disagree. */
  private broken: Error | undefined;

  constructor(
    readonly dir: string,
    private readonly retain: number,
    private readonly log: Logger,
    private readonly lock: StoreLock,
    entries: IndexEntry[],
    current: VersionRecord | undefined,
    private highest: number,
  ) {
    this.versionsDir = path.join(dir, VERSIONS_DIR);
    this.entries = entries;
    this.currentRecord = current;
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
    let text: string;
    try {
      text = await fs.readFile(path.join(this.versionsDir, versionFileName(version)), 'utf8');
    } catch (err) {
      // Retention may have removed it since the lookup.
      if (isErrno(err, 'ENOENT') && !this.entries.includes(entry)) return undefined;
      throw err;
    }
    const decoded = decodeVersionFile(text, version);
    if (!decoded.ok || decoded.value.sha256 !== entry.sha256) {
      const reason = decoded.ok ? 'content changed on disk since the store was opened' : decoded.reason;
      this.log.error({ version, reason }, 'config store: version file is corrupt');
      throw new Error(`config store: version ${version} is corrupt on disk (${reason})`);
    }
    return decoded.value.record;
  }

  async list(): Promise<VersionMeta[]> {
    this.assertOpen();
    return this.entries.map((e) => ({ ...e.meta })).reverse();
  }

  commit(record: VersionRecord): Promise<void> {
    // Checked at call time: commits queued before close() still run.
    if (this.closing) return Promise.reject(new Error(`config store ${this.dir} is closed`));
    const run = this.chain.then(() => this.commitNow(record));
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closing = true;
    this.closed ??= this.chain.then(() => this.lock.release());
    return this.closed;
  }

  private async commitNow(record: VersionRecord): Promise<void> {
    if (this.broken) throw this.broken;
    // Above every number this directory ever used, also after a fallback to an older version.
    const at = this.highest;
    if (record.version !== at + 1) throw new StoreConflictError(record.version, at);
    const problem = recordProblem(record);
    if (problem) throw new TypeError(`config store: refusing to commit an invalid record: ${problem}`);
    const encoded = encodeVersionFile(record);
    // The version file first: until CURRENT names it, a crash leaves the old state (recovery
    // deletes a version file newer than CURRENT).
    await writeFileDurably(this.versionsDir, versionFileName(record.version), encoded.text);
    try {
      await writeFileDurably(this.dir, CURRENT_FILE, encodeCurrentPointer({ version: record.version, sha256: encoded.sha256 }));
    } catch (err) {
      if (err instanceof RenameNotDurableError) {
        this.broken = new Error(`config store ${this.dir}: a commit of version ${record.version} may or may not be durable (${err.message}); reopen the store`);
        this.log.error({ version: record.version, err: err.message }, 'config store: commit outcome unknown, refusing further commits');
      }
      throw err;
    }
    this.entries.push({ meta: metaOf(encoded.record), sha256: encoded.sha256 });
    this.currentRecord = encoded.record;
    this.highest = record.version;
    this.log.debug({ version: record.version, source: record.source }, 'config version committed');
    await this.prune();
  }

  /** The commit is durable already; a file that cannot be deleted is only logged. */
  private async prune(): Promise<void> {
    while (this.entries.length > this.retain) {
      const { version } = this.entries.shift()!.meta;
      await fs.rm(path.join(this.versionsDir, versionFileName(version)), { force: true }).catch((err: unknown) => {
        this.log.warn({ version, err: (err as Error).message }, 'config store: could not delete an old version');
      });
    }
  }

  /** Reads stay served when broken: memory holds what callers were last told. */
  private assertOpen(): void {
    if (this.closing) throw new Error(`config store ${this.dir} is closed`);
  }
}
