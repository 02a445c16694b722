/**
 * The config history in etcd, shared by several Tether instances. Keys under the prefix:
 *
 * - `head`: the current version number (decimal). Moving it is the only way to change what is served.
 * - `versions/<10-digit version>`: the version record in the file store's envelope (version-file.ts:
 *   format, record, sha256), so a damaged value is detected, never served.
 *
 * A commit is one transaction: if `head` still holds the version the edit was built on, write
 * the record, move `head` and delete versions past the retention; otherwise nothing, and the
 * writer learns the head it lost to. etcd runs transactions one at a time (linearizable), so of
 * concurrent edits on different instances exactly one wins.
 *
 * Each instance watches `head` and also reads it every `probeIntervalMs` (a linearizable read,
 * which fails without a quorum): the read tells the instance whether it is in touch, and catches
 * up on anything a broken watch missed.
 */
import type { Etcd3, Namespace, Watcher } from 'etcd3';
import { silentLogger, type Logger } from '../log';
import { DEFAULT_RETAIN } from './file-store';
import { metaOf } from './recovery';
import { StoreConflictError, StoreUnavailableError, type ConfigStore, type SharedHistory, type StoreHealth, type VersionMeta, type VersionRecord } from './types';
import { decodeVersionFile, encodeVersionFile, recordProblem } from './version-file';
import { connectEtcd, describeTarget, explainEtcdError, type EtcdConnectionOptions } from './etcd-connection';

export interface EtcdStoreOptions {
  connection: EtcdConnectionOptions;
  /** Versions kept (the same for every instance: the one that commits prunes). Default 50. */
  retain?: number;
  /** How often the head is read to check contact and catch up. Default 1000 ms. */
  probeIntervalMs?: number;
  logger?: Logger;
}

export interface EtcdStore extends ConfigStore {
  readonly shared: SharedHistory;
  /** The etcd client (and prefix) for the other shared state of a Tether cluster (src/cluster). */
  readonly etcd: Etcd3;
  readonly namespace: Namespace;
  /**
   * Copies a history into an empty store (migration): every record, then the head. Refuses
   * when the store has a head already.
   */
  importHistory(records: readonly VersionRecord[]): Promise<void>;
}

export const HEAD_KEY = 'head';
const VERSIONS = 'versions/';

export function versionKey(version: number): string {
  return `${VERSIONS}${String(version).padStart(10, '0')}`;
}

export async function createEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const retain = options.retain ?? DEFAULT_RETAIN;
  if (!Number.isSafeInteger(retain) || retain < 2) throw new RangeError(`config store: retain must be an integer >= 2, got ${retain}`);
  const client = connectEtcd(options.connection);
  const store = new EtcdStoreImpl(client, describeTarget(options.connection.target), options.connection.target.prefix, retain, options.probeIntervalMs ?? 1000, (options.logger ?? silentLogger()).child({ component: 'store' }));
  try {
    await store.open();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

class EtcdStoreImpl implements EtcdStore {
  readonly namespace: Namespace;
  readonly shared: SharedHistory;
  private head: VersionRecord | undefined;
  /** Kept versions' metadata, by version. */
  private readonly metas = new Map<number, VersionMeta>();
  private readonly headListeners = new Set<(record: VersionRecord) => void>();
  private readonly healthListeners = new Set<(health: StoreHealth) => void>();
  private healthState: StoreHealth = { healthy: true, detail: '' };
  /** Syncs run one at a time. */
  private syncing: Promise<unknown> = Promise.resolve();
  private watcher: Watcher | undefined;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly etcd: Etcd3,
    private readonly description: string,
    prefix: string,
    private readonly retain: number,
    private readonly probeIntervalMs: number,
    private readonly log: Logger,
  ) {
    this.namespace = etcd.namespace(prefix);
    const self = this;
    this.shared = {
      description,
      refresh: () => this.sync(),
      onHead(listener) {
        self.headListeners.add(listener);
        return () => self.headListeners.delete(listener);
      },
      health: () => ({ ...this.healthState }),
      onHealth(listener) {
        self.healthListeners.add(listener);
        return () => self.healthListeners.delete(listener);
      },
    };
  }

  async open(): Promise<void> {
    await this.sync();
    this.watcher = await this.unavailable('watch the head', () => this.namespace.watch().key(HEAD_KEY).create());
    this.watcher.on('put', () => void this.sync().catch(() => undefined));
    // After a reconnect: whatever happened meanwhile.
    this.watcher.on('connected', () => void this.sync().catch(() => undefined));
    this.watcher.on('error', (err) => this.log.warn({ err: err.message }, 'etcd watch failed; relying on the periodic read'));
    const tick = () => {
      this.probe = setTimeout(() => void this.sync().catch(() => undefined).finally(() => !this.closed && tick()), this.probeIntervalMs);
      this.probe.unref();
    };
    tick();
  }

  highestVersion(): number {
    return this.head?.version ?? 0;
  }

  async current(): Promise<VersionRecord | undefined> {
    this.assertOpen();
    return this.head && structuredClone(this.head);
  }

  async get(version: number): Promise<VersionRecord | undefined> {
    this.assertOpen();
    if (this.head?.version === version) return structuredClone(this.head);
    if (!this.metas.has(version)) return undefined;
    return this.read(version);
  }

  async list(): Promise<VersionMeta[]> {
    this.assertOpen();
    return [...this.metas.values()].sort((a, b) => b.version - a.version).map((m) => ({ ...m }));
  }

  async commit(record: VersionRecord): Promise<void> {
    this.assertOpen();
    const problem = recordProblem(record);
    if (problem) throw new TypeError(`config store: refusing to commit an invalid record: ${problem}`);
    const encoded = encodeVersionFile(record);
    const base = record.version - 1;
    const ns = this.namespace;
    const guard = base === 0 ? ns.if(HEAD_KEY, 'Create', '==', 0) : ns.if(HEAD_KEY, 'Value', '==', String(base));
    const txn = guard
      .then(
        ns.put(versionKey(record.version)).value(encoded.text),
        ns.put(HEAD_KEY).value(String(record.version)),
        ns.delete().inRange({ start: versionKey(0), end: versionKey(Math.max(0, record.version - this.retain + 1)) }),
      )
      .else(ns.get(HEAD_KEY));
    // No retry around the transaction: a retried commit that had landed would lose to itself.
    const res = await this.unavailable(`commit version ${record.version}`, () => txn.commit());
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs?.[0];
      const actual = kv ? Number(kv.value.toString()) : 0;
      void this.sync().catch(() => undefined);
      throw new StoreConflictError(record.version, actual);
    }
    this.markHealthy();
    this.adopt(encoded.record);
  }

  async importHistory(records: readonly VersionRecord[]): Promise<void> {
    if (records.length === 0) throw new Error('nothing to import: the source history is empty');
    const sorted = [...records].sort((a, b) => a.version - b.version);
    if (await this.unavailable('read the head', () => this.namespace.get(HEAD_KEY).string())) {
      throw new Error(`${this.description} already holds a config history; migrate only into an empty prefix`);
    }
    for (const record of sorted) {
      const problem = recordProblem(record);
      if (problem) throw new Error(`version ${record.version}: ${problem}`);
      await this.unavailable(`write version ${record.version}`, () => this.namespace.put(versionKey(record.version)).value(encodeVersionFile(record).text).exec());
    }
    const last = sorted[sorted.length - 1]!;
    const res = await this.unavailable('move the head', () => this.namespace.if(HEAD_KEY, 'Create', '==', 0).then(this.namespace.put(HEAD_KEY).value(String(last.version))).commit());
    if (!res.succeeded) throw new Error(`${this.description}: another writer started a history during the migration`);
    await this.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probe);
    await this.watcher?.cancel().catch(() => undefined);
    this.etcd.close();
  }

  /** Reads the head (linearizably) and everything new up to it; resolves to the head. */
  private sync(): Promise<VersionRecord | undefined> {
    const run = this.syncing.then(() => this.syncNow());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<VersionRecord | undefined> {
    if (this.closed) return this.head;
    let head: number;
    let fresh: VersionRecord[] = [];
    try {
      const text = await this.unavailable('read the head', () => this.namespace.get(HEAD_KEY).string());
      head = text === null ? 0 : Number(text);
      if (!Number.isSafeInteger(head) || head < 0) throw new Error(`${this.description}: the head key holds ${JSON.stringify(text)}, not a version number`);
      const known = this.head?.version ?? 0;
      if (head > known) {
        const from = Math.max(known + 1, head - this.retain + 1, 1);
        const values = await this.unavailable('read new versions', () =>
          this.namespace.getAll().inRange({ start: versionKey(from), end: versionKey(head + 1) }).strings(),
        );
        for (const [key, text] of Object.entries(values)) {
          const version = Number(key.slice(VERSIONS.length));
          const decoded = decodeVersionFile(text, version);
          if (!decoded.ok) {
            this.log.error({ version, reason: decoded.reason }, 'config store: a version in etcd is corrupt; skipped');
            continue;
          }
          fresh.push(decoded.value.record);
        }
        fresh = fresh.sort((a, b) => a.version - b.version);
        if (fresh[fresh.length - 1]?.version !== head) throw new Error(`${this.description}: the head names version ${head}, which is missing or corrupt`);
      }
    } catch (err) {
      this.markUnhealthy(err as Error);
      throw err;
    }
    this.markHealthy();
    for (const record of fresh) this.adopt(record);
    return this.head && structuredClone(this.head);
  }

  /** Records a version as kept and, when it is the newest, as the head; tells listeners. */
  private adopt(record: VersionRecord): void {
    if (this.head && record.version <= this.head.version) return;
    this.metas.set(record.version, metaOf(record));
    for (const v of this.metas.keys()) if (v <= record.version - this.retain) this.metas.delete(v);
    this.head = record;
    for (const listener of this.headListeners) {
      try {
        listener(structuredClone(record));
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'a head listener failed');
      }
    }
  }

  private async read(version: number): Promise<VersionRecord | undefined> {
    const text = await this.unavailable(`read version ${version}`, () => this.namespace.get(versionKey(version)).string());
    if (text === null) return undefined;
    const decoded = decodeVersionFile(text, version);
    if (!decoded.ok) throw new Error(`config store: version ${version} is corrupt in ${this.description} (${decoded.reason})`);
    return decoded.value.record;
  }

  /** Runs an etcd call; any failure becomes StoreUnavailableError naming etcd and what was being done. */
  private async unavailable<T>(doing: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof StoreConflictError || err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`etcd (${this.description}) is unavailable: could not ${doing}: ${explainEtcdError((err as Error).message, this.description.startsWith('etcds://'))}`);
    }
  }

  private markHealthy(): void {
    if (this.healthState.healthy) return;
    this.log.info({ store: this.description, since: this.healthState.since }, 'etcd reachable again');
    this.setHealth({ healthy: true, detail: '' });
  }

  private markUnhealthy(err: Error): void {
    if (this.closed) return;
    const since = this.healthState.healthy ? new Date().toISOString() : this.healthState.since!;
    const detail = `stale since ${since}: ${err.message}`;
    if (this.healthState.healthy) this.log.error({ store: this.description, err: err.message }, 'etcd unreachable: edits are refused, the last version stays served');
    this.setHealth({ healthy: false, detail, since });
  }

  private setHealth(health: StoreHealth): void {
    this.healthState = health;
    for (const listener of this.healthListeners) listener({ ...health });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`config store ${this.description} is closed`);
  }
}
