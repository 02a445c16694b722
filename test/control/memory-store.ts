import { StoreConflictError, type ConfigStore, type VersionMeta, type VersionRecord } from '../../src/store/types';

/**
 * An in-memory ConfigStore with the file store's contract (current+1 commits, retention,
 * copies in and out), plus hooks tests use to make a commit fail.
 */
export class MemoryStore implements ConfigStore {
  readonly records: VersionRecord[] = [];
  commits = 0;
  /** Thrown by the next commit (once), when set. */
  failNextCommit: Error | undefined;

  constructor(private readonly retain = 50) {}

  async current(): Promise<VersionRecord | undefined> {
    const last = this.records[this.records.length - 1];
    return last && structuredClone(last);
  }

  async get(version: number): Promise<VersionRecord | undefined> {
    const found = this.records.find((r) => r.version === version);
    return found && structuredClone(found);
  }

  async list(): Promise<VersionMeta[]> {
    return this.records
      .map(({ document: _document, ...meta }) => ({ ...meta }))
      .reverse();
  }

  highestVersion(): number {
    return this.records[this.records.length - 1]?.version ?? 0;
  }

  async commit(record: VersionRecord): Promise<void> {
    const failure = this.failNextCommit;
    this.failNextCommit = undefined;
    if (failure) throw failure;
    const at = this.records[this.records.length - 1]?.version ?? 0;
    if (record.version !== at + 1) throw new StoreConflictError(record.version, at);
    this.records.push(structuredClone(record));
    this.commits++;
    while (this.records.length > this.retain) this.records.shift();
  }

  async close(): Promise<void> {}
}
