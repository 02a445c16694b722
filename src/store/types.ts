import type { Steps } from '../util/steps';
/**
 * Durable config history. The default implementation is file-backed (file-store.ts); etcd-store.ts
 * shares one history between several Tether instances (a key per version plus a
 * compare-and-swap on a "head" key).
 */

/** One accepted config version, as stored. */
export interface VersionRecord {
  /** 1, 2, 3…: strictly increasing, never reused (also across rollbacks). */
  version: number;
  /** The config document exactly as accepted (file shape: docs/config-reference.md). */
  document: Record<string, unknown>;
  /** contentHash() of the normalised model: equal hashes → equal routing. */
  contentHash: string;
  /** ISO 8601. */
  createdAt: string;
  /** What made it: "file", "apply", "upsert-service", "rollback", "default", ... */
  source: string;
  /** What the version did (Tether's summary of the edit, then the caller's text), for `tether history`. */
  description: string;
  /** Set on versions made by a rollback: the version whose config it restored. */
  restores?: number;
  /** Who made it through the admin API (client-certificate subject or token fingerprint); absent for file versions. */
  author?: string;
  /** Set on versions made from a config file: the hash of the file's text, so a restart can tell whether the file changed since. */
  fileHash?: string;
}

export type VersionMeta = Omit<VersionRecord, 'document'>;

export interface ConfigStore {
  /** The current version, or undefined for an empty store. Never returns a torn record. */
  current(): Promise<VersionRecord | undefined>;
  /** A version still kept in history. */
  get(version: number): Promise<VersionRecord | undefined>;
  /** Newest first, at most the retention limit. */
  list(): Promise<VersionMeta[]>;
  /**
   * The highest version number ever committed (or found on disk, corrupt files included); 0
   * for a new store. The next commit must be exactly this + 1: numbers are never reused,
   * also when the current version fell back to an older one after damage.
   */
  highestVersion(): number;
  /**
   * Makes `record` the current version. Resolves only when it is durable (a crash after
   * this resolves cannot lose it). Rejects with StoreConflictError when `record.version`
   * is not highestVersion()+1 (another writer won), leaving the store unchanged.
   */
  commit(record: VersionRecord): Promise<void>;
  /**
   * Optional: commit() in two parts, so that the caller's own work (building what the version
   * serves) overlaps with the store's slow part. The store writes the version where it is not
   * current yet and survives no crash as current (a file store: its temp file, fsynced), then
   * calls `ready` (which never rejects): true completes the commit as commit() would (resolves
   * true once durable); false leaves the store as it was (resolves false). Same errors as commit().
   */
  commitWhen?(record: VersionRecord, ready: () => Promise<boolean>): Promise<boolean>;
  /**
   * Optional: the CPU-bound part of committing `document` as `version` (a file store's patch
   * against its checkpoint; with the `record` to be committed, a whole version's file too), as
   * steps the caller runs in event-loop turns before commit(), whose own synchronous part then
   * finds it done. Changes nothing a commit relies on.
   */
  prepareCommit?(document: Record<string, unknown>, version: number, record?: VersionRecord): Steps<void>;
  close(): Promise<void>;
  /**
   * Set by stores that other writers share (etcd): the head can move under this process. For
   * these, commit() compares the head with `record.version - 1` (the version the edit was built
   * on), and highestVersion() is only the latest head this process has seen.
   */
  readonly shared?: SharedHistory;
}

export interface SharedHistory {
  /** A linearizable read of the head; rejects with StoreUnavailableError when the store cannot answer. */
  refresh(): Promise<VersionRecord | undefined>;
  /** Each new head, in order, whoever wrote it (this process included). Returns an unsubscribe. */
  onHead(listener: (record: VersionRecord) => void): () => void;
  /** Whether this process is in touch with the store, and if not since when and why. */
  health(): StoreHealth;
  onHealth(listener: (health: StoreHealth) => void): () => void;
  /** Where the history is, for messages ("etcd://a:2379,b:2379/tether"). */
  readonly description: string;
}

export interface StoreHealth {
  healthy: boolean;
  /** Why not (naming the store), or '' when healthy. */
  detail: string;
  /** ISO 8601: since when the store could not be reached. */
  since?: string;
}

/** The store could not be reached (etcd down, quorum lost, cut off): nothing was changed, or the outcome is unknown. */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * `expected`: the version the writer tried to commit; `actual`: the store's highest version
 * (0 when empty). The writer lost a race: re-read current() and start over.
 */
export class StoreConflictError extends Error {
  constructor(readonly expected: number, readonly actual: number) {
    super(`store conflict: expected to write version ${expected} but the store is at ${actual}`);
    this.name = 'StoreConflictError';
  }
}
