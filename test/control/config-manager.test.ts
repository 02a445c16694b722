import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { openConfigManager, type ConfigManager } from '../../src/control/config-manager';
import { TetherError, type TetherErrorCode } from '../../src/config/errors';
import { edits } from '../../src/control/mutations';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import type { TetherConfig } from '../../src/model/types';
import { createFileStore } from '../../src/store/file-store';
import { StoreConflictError, type ConfigStore } from '../../src/store/types';
import { NODE_KINDS } from '../../src/translate';
import { MemoryStore } from './memory-store';
import { isTempName } from '../../src/store/atomic-file';
import { VERSIONS_DIR } from '../../src/store/version-file';

const doc = (canary = 10, extra: Record<string, unknown> = {}) => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [{ name: 'shop', routes: [{ name: 'main', backends: [{ name: 'v1', weight: 100 - canary }, { name: 'v2', weight: canary }] }] }],
  backends: [
    { name: 'v1', endpoints: ['10.0.0.1:8080'] },
    { name: 'v2', endpoints: ['10.0.0.2:8080'] },
  ],
  ...extra,
});

interface Setup {
  dir: string;
  store: ConfigStore;
  cache: SnapshotCache;
  publisher: Publisher;
  manager: ConfigManager;
  close(): Promise<void>;
}

const open: Setup[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-control-'));
  dirs.push(dir);
  return dir;
}

async function setup(
  options: {
    dir?: string;
    store?: ConfigStore;
    retain?: number;
    document?: unknown;
    fileHash?: string;
    publisher?: (real: Publisher) => Publisher;
    lookup?: (host: string) => Promise<string[]>;
    resolveIntervalMs?: number;
  } = {},
): Promise<Setup> {
  const dir = options.dir ?? tempDir();
  const store = options.store ?? (await createFileStore({ dir, ...(options.retain ? { retain: options.retain } : {}) }));
  const cache = new SnapshotCache();
  const real = createPublisher({
    cache,
    logger: silentLogger(),
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.resolveIntervalMs ? { resolveIntervalMs: options.resolveIntervalMs } : {}),
  });
  const publisher = options.publisher ? options.publisher(real) : real;
  let manager: ConfigManager;
  try {
    manager = await openConfigManager({
      store,
      publisher,
      logger: silentLogger(),
      initial: { document: options.document ?? doc(), source: 'file', ...(options.fileHash ? { fileHash: options.fileHash } : {}) },
    });
  } catch (err) {
    real.close();
    await store.close();
    throw err;
  }
  let closed = false;
  const s: Setup = {
    dir,
    store,
    cache,
    publisher,
    manager,
    async close() {
      if (closed) return;
      closed = true;
      await manager.close();
      real.close();
      await store.close();
    },
  };
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>, code: TetherErrorCode): Promise<TetherError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TetherError);
  expect((err as TetherError).code, (err as TetherError).message).toBe(code);
  return err as TetherError;
}

/** Everything observable: store history, the manager's version, the snapshot objects served. */
async function observe(s: Setup) {
  return {
    history: await s.store.list(),
    version: s.manager.current().version,
    snapshots: NODE_KINDS.map((k) => s.cache.get(k)),
  };
}

async function expectUnchanged(s: Setup, before: Awaited<ReturnType<typeof observe>>) {
  const after = await observe(s);
  expect(after.history).toEqual(before.history);
  expect(after.version).toBe(before.version);
  after.snapshots.forEach((snap, i) => expect(snap).toBe(before.snapshots[i]));
}

const canaryWeight = (config: TetherConfig) => config.services[0]!.routes[0]!.backends.find((b) => b.backend === 'v2')!.weight;

describe('opening', () => {
  it('commits the initial document into an empty store as version 1 and serves it', async () => {
    const s = await setup({ fileHash: 'f1' });
    expect(s.manager.current().version).toBe(1);
    expect(s.manager.current().document).toEqual(doc());
    const history = await s.manager.history();
    expect(history).toEqual([expect.objectContaining({ version: 1, source: 'file', fileHash: 'f1' })]);
    for (const kind of NODE_KINDS) expect(s.cache.get(kind)?.configVersion).toBe('1');
  });

  it('refuses to start on an invalid initial document with an empty store, storing nothing', async () => {
    const dir = tempDir();
    const err = await rejection(setup({ dir, document: doc(-1) }), 'INVALID_ARGUMENT');
    expect(err.fieldErrors).toContainEqual({ path: 'services[0].routes[0].backends[1].weight', message: 'must be >= 0' });
    const store = await createFileStore({ dir });
    expect(await store.current()).toBeUndefined();
    await store.close();
  });

  it('a restart restores the exact version: same number, same snapshots, no new version', async () => {
    const first = await setup({ fileHash: 'f1' });
    await first.manager.apply(doc(20), { source: 'apply' });
    await first.manager.mutate('drain', edits.drainEndpoint('v1', '10.0.0.1:8080'), {});
    const before = NODE_KINDS.map((k) => first.cache.get(k)!);
    const history = await first.store.list();
    await first.close();

    const second = await setup({ dir: first.dir, fileHash: 'f1', document: doc(50) });
    expect(second.manager.current().version).toBe(3);
    expect(await second.store.list()).toEqual(history);
    NODE_KINDS.forEach((k, i) => {
      expect(second.cache.get(k)!.contentVersion).toBe(before[i]!.contentVersion);
      expect(second.cache.get(k)!.configVersion).toBe('3');
    });
    expect(canaryWeight(second.manager.current().config)).toBe(20);
  });

  it('a config file changed while Tether was down is applied as a new version', async () => {
    const first = await setup({ fileHash: 'f1' });
    await first.manager.apply(doc(20), { source: 'apply' });
    await first.close();

    const second = await setup({ dir: first.dir, fileHash: 'f2', document: doc(30) });
    expect(second.manager.current().version).toBe(3);
    expect(canaryWeight(second.manager.current().config)).toBe(30);
    expect((await second.store.list())[0]).toMatchObject({ version: 3, source: 'file', fileHash: 'f2' });
    for (const kind of NODE_KINDS) expect(second.cache.get(kind)!.configVersion).toBe('3');
  });

  it('an invalid file changed while down is logged; the stored version stays served', async () => {
    const first = await setup({ fileHash: 'f1' });
    await first.close();
    const second = await setup({ dir: first.dir, fileHash: 'f2', document: doc(-5) });
    expect(second.manager.current().version).toBe(1);
    expect(await second.store.list()).toHaveLength(1);
  });
});

describe('mutations', () => {
  it('apply makes a new durable version, publishes it and reports the resource changes', async () => {
    const s = await setup();
    const result = await s.manager.apply(doc(20), { source: 'apply', description: 'more canary' });
    expect(result).toMatchObject({ version: 2, changed: true, dryRun: false });
    expect(result.changes.map((c) => `${c.nodeKind} ${c.type} ${c.name} ${c.action}`)).toEqual(['envoy RDS http MODIFIED', 'grpc RDS shop MODIFIED']);
    expect(result.changes[0]!.diff).toMatch(/^-\s+value: 10$/m);
    expect((await s.store.current())!).toMatchObject({ version: 2, source: 'apply', description: 'services ~shop — more canary', document: doc(20) });
    for (const kind of NODE_KINDS) expect(s.cache.get(kind)!.configVersion).toBe('2');
    expect(s.manager.current()).toMatchObject({ version: 2, document: doc(20) });
  });

  it('a change to the same routing creates no version and pushes nothing', async () => {
    const s = await setup();
    const before = await observe(s);
    // Different document, same model: the single listener's default address spelled out.
    const same = doc(10, { listeners: [{ name: 'http', port: 10000, address: '0.0.0.0' }] });
    expect(await s.manager.apply(same, { source: 'apply' })).toEqual({ version: 1, changed: false, dryRun: false, changes: [], warnings: [] });
    expect(await s.manager.mutate('add-endpoint', edits.addEndpoint('v1', '10.0.0.1:8080'), {})).toMatchObject({ version: 1, changed: false });
    await expectUnchanged(s, before);
  });

  it('expectedVersion: ABORTED when stale, nothing changes; applied when current', async () => {
    const s = await setup();
    await s.manager.apply(doc(20), { source: 'apply' });
    const before = await observe(s);
    const err = await rejection(s.manager.apply(doc(30), { source: 'apply', expectedVersion: 1 }), 'ABORTED');
    expect(err.message).toBe('expected version 1, but the current version is 2');
    await expectUnchanged(s, before);
    expect(await s.manager.apply(doc(30), { source: 'apply', expectedVersion: 2 })).toMatchObject({ version: 3, changed: true });
  });

  it('concurrent conditional mutations: one wins, the other is ABORTED', async () => {
    const s = await setup();
    const results = await Promise.allSettled([
      s.manager.mutate('split', edits.setSplit('shop', 'main', { v1: 50, v2: 50 }), { expectedVersion: 1 }),
      s.manager.mutate('split', edits.setSplit('shop', 'main', { v1: 0, v2: 100 }), { expectedVersion: 1 }),
    ]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
    expect(canaryWeight(s.manager.current().config)).toBe(50);
  });

  it('unconditional mutations run one at a time, in call order', async () => {
    const s = await setup();
    const results = await Promise.all([20, 30, 40].map((w) => s.manager.apply(doc(w), { source: 'apply' })));
    expect(results.map((r) => r.version)).toEqual([2, 3, 4]);
    expect(canaryWeight(s.manager.current().config)).toBe(40);
  });

  it('an invalid config is INVALID_ARGUMENT with every error; nothing changes', async () => {
    const s = await setup();
    const before = await observe(s);
    const bad = doc(-1, { listeners: [{ name: 'http', port: 0 }] });
    const err = await rejection(s.manager.apply(bad, { source: 'apply' }), 'INVALID_ARGUMENT');
    expect(err.fieldErrors.map((e) => e.path)).toEqual(['listeners[0].port', 'services[0].routes[0].backends[1].weight']);
    expect(err.message).toContain('services[0].routes[0].backends[1].weight: must be >= 0');
    await rejection(s.manager.apply(null, { source: 'apply' }), 'INVALID_ARGUMENT');
    await expectUnchanged(s, before);
  });

  it('targeted edits: validation errors point at the request; NOT_FOUND and FAILED_PRECONDITION pass through', async () => {
    const s = await setup();
    const before = await observe(s);
    const err = await rejection(
      s.manager.mutate('upsert-service', edits.upsertService({ name: 'api', domains: ['api.example.com'], routes: [{ backends: [{ name: 'nope' }] }] }), {}),
      'INVALID_ARGUMENT',
    );
    expect(err.fieldErrors).toEqual([{ path: 'service.routes[0].backends[0].name', message: "unknown backend 'nope'" }]);
    const split = await rejection(s.manager.mutate('split', edits.setSplit('shop', '', { v1: 0, v2: 0 }), {}), 'INVALID_ARGUMENT');
    expect(split.fieldErrors).toEqual([{ path: 'weights', message: 'weights must add up to more than 0' }]);
    await rejection(s.manager.mutate('delete-backend', edits.deleteBackend('v2'), {}), 'FAILED_PRECONDITION');
    await rejection(s.manager.mutate('promote', edits.promote('shop', 'ghost'), {}), 'NOT_FOUND');
    // A plain function edit works too; its errors keep document paths.
    const plain = await rejection(
      s.manager.mutate('custom', (d) => ({ ...d, listeners: [{ name: 'http', port: -1 }] }), {}),
      'INVALID_ARGUMENT',
    );
    expect(plain.fieldErrors[0]!.path).toBe('listeners[0].port');
    await expectUnchanged(s, before);

    const ok = await s.manager.mutate('promote', edits.promote('shop', 'v2'), { description: 'v2 is good' });
    expect(ok).toMatchObject({ version: 2, changed: true });
    expect((await s.manager.history())[0]).toMatchObject({ version: 2, source: 'promote', description: 'promote v2 on shop — v2 is good' });
  });

  it('dry run: returns the changes, touches neither store nor cache', async () => {
    const s = await setup();
    const before = await observe(s);
    const result = await s.manager.mutate('drain', edits.drainEndpoint('v2', '10.0.0.2:8080'), { dryRun: true });
    expect(result).toMatchObject({ version: 1, changed: false, dryRun: true });
    expect(result.changes.map((c) => `${c.nodeKind} ${c.type} ${c.name} ${c.action}`)).toEqual(['envoy EDS v2 MODIFIED', 'grpc EDS v2 MODIFIED']);
    expect(result.changes[0]!.diff).toContain('+        health_status: DRAINING');
    await expectUnchanged(s, before);
    // The real thing afterwards gets the next version number.
    expect(await s.manager.mutate('drain', edits.drainEndpoint('v2', '10.0.0.2:8080'), {})).toMatchObject({ version: 2, changed: true });
  });

  it('a dry run leaves DNS re-resolution on the served config', async () => {
    let addresses = ['10.1.0.1'];
    const dnsDoc = { services: [{ name: 'app', routes: [{ backends: [{ name: 'app' }] }] }], backends: [{ name: 'app', endpoints: ['app.internal:80'] }] };
    const s = await setup({ document: dnsDoc, lookup: async () => addresses, resolveIntervalMs: 30 });
    const ips = () => s.publisher.served()!.resources.get('grpc')!.endpoints[0]!.endpoints![0]!.lb_endpoints!.map((e) => e.endpoint!.address!.socket_address!.address);
    expect(ips()).toEqual(['10.1.0.1']);
    await s.manager.apply({ ...dnsDoc, backends: [{ name: 'app', endpoints: ['10.9.9.9:80'] }] }, { source: 'apply', dryRun: true });
    addresses = ['10.1.0.2'];
    await expect.poll(ips, { timeout: 2000 }).toEqual(['10.1.0.2']);
    expect(s.cache.get('grpc')!.configVersion).toBe('1');
  });

  it('a publisher that cannot prepare the config leaves everything unchanged', async () => {
    let failure: Error | undefined;
    const s = await setup({
      publisher: (real) => ({
        ...real,
        prepare: (config, version) => (failure ? Promise.reject(failure) : real.prepare(config, version)),
      }),
    });
    const before = await observe(s);
    failure = new Error('boom');
    expect((await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'INTERNAL')).message).toBe('boom');
    failure = new TetherError('INVALID_ARGUMENT', 'could not translate config: nope');
    await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'INVALID_ARGUMENT');
    await expectUnchanged(s, before);
    failure = undefined;
    expect(await s.manager.apply(doc(20), { source: 'apply' })).toMatchObject({ version: 2 });
  });

  it('the store writes the version while it is built, and keeps nothing when the build fails', async () => {
    let failure: Error | undefined;
    let tempSeen = false;
    const versionsDir = () => path.join(s.dir, VERSIONS_DIR);
    const s = await setup({
      publisher: (real) => ({
        ...real,
        prepare: async (config, version, o) => {
          if (!failure) return real.prepare(config, version, o);
          // The build fails only once the store's write of the version is under way.
          const until = Date.now() + 5000;
          while (!(tempSeen = fs.readdirSync(versionsDir()).some(isTempName)) && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
          throw failure;
        },
      }),
    });
    const before = await observe(s);
    const files = fs.readdirSync(versionsDir());
    failure = new TetherError('INVALID_ARGUMENT', 'could not translate config: nope');
    await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'INVALID_ARGUMENT');
    expect(tempSeen).toBe(true);
    await expectUnchanged(s, before);
    expect(fs.readdirSync(versionsDir())).toEqual(files);
    expect(s.store.highestVersion()).toBe(1);
    failure = undefined;
    expect(await s.manager.apply(doc(20), { source: 'apply' })).toMatchObject({ version: 2 });
    expect((await s.store.current())!.version).toBe(2);
  });

  it('serves a version only once the store has it, and every read after the call sees it', async () => {
    // A store whose commits wait until the test lets them finish.
    let release: (() => void) | undefined;
    let called: (() => void) | undefined;
    const commitCalled = new Promise<void>((resolve) => (called = resolve));
    const store = new (class extends MemoryStore {
      override async commit(record: Parameters<MemoryStore['commit']>[0]): Promise<void> {
        if (record.version > 1) {
          called!();
          await new Promise<void>((resolve) => (release = resolve));
        }
        return super.commit(record);
      }
    })();
    const s = await setup({ store });
    const seen: string[] = [];
    s.cache.watch('envoy', (snapshot) => seen.push(`v${snapshot.configVersion} served with ${store.records.length} stored`));
    const applying = s.manager.apply(doc(20), { source: 'apply' }).then((r) => {
      seen.push('answered');
      return r;
    });
    await commitCalled;
    // Built, not durable yet: nothing is served and the manager still says version 1.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    for (const kind of NODE_KINDS) expect(s.cache.get(kind)!.configVersion).toBe('1');
    expect(s.manager.current().version).toBe(1);
    release!();
    const result = await applying;
    expect(seen).toEqual(['v2 served with 2 stored', 'answered']);
    // The reply's changes are against what was served before (v1), written after the publish.
    expect(result.changes.map((c) => `${c.nodeKind} ${c.type} ${c.name} ${c.action}`)).toEqual(['envoy RDS http MODIFIED', 'grpc RDS shop MODIFIED']);
    expect(result.changes[0]!.diff).toMatch(/^\+\s+value: 20$/m);
    expect(s.manager.current()).toMatchObject({ version: 2, document: doc(20) });
    expect(s.publisher.served()!.version).toBe(2);
    expect(canaryWeight(s.publisher.served()!.config)).toBe(20);
    expect((await s.manager.history())[0]).toMatchObject({ version: 2, source: 'apply' });
    // The next edit builds on it: unchanged input is no new version.
    expect(await s.manager.apply(doc(20), { source: 'apply' })).toMatchObject({ version: 2, changed: false });
  });

  it('a failed commit leaves the cache and the manager unchanged', async () => {
    const store = new MemoryStore();
    const s = await setup({ store });
    const before = await observe(s);
    store.failNextCommit = new Error('disk full');
    expect((await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'INTERNAL')).message).toContain('disk full');
    store.failNextCommit = new StoreConflictError(2, 5);
    await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'ABORTED');
    await expectUnchanged(s, before);
    expect(await s.manager.apply(doc(20), { source: 'apply' })).toMatchObject({ version: 2 });
  });

  it('after close, mutations are UNAVAILABLE', async () => {
    const s = await setup();
    await s.manager.close();
    await rejection(s.manager.apply(doc(20), { source: 'apply' }), 'UNAVAILABLE');
  });
});

describe('rollback', () => {
  it('0 → the previous version, as a new version marked rollback', async () => {
    const s = await setup();
    await s.manager.apply(doc(20), { source: 'apply' });
    const result = await s.manager.rollback(0, {});
    expect(result).toMatchObject({ version: 3, changed: true, restores: 1 });
    expect(result.changes.map((c) => c.type)).toEqual(['RDS', 'RDS']);
    expect(canaryWeight(s.manager.current().config)).toBe(10);
    const [v3, v2, v1] = await s.manager.history();
    expect(v3).toMatchObject({ version: 3, source: 'rollback', description: 'rollback to v1', restores: 1 });
    expect(v3!.contentHash).toBe(v1!.contentHash);
    expect(v2!.version).toBe(2);
    // v3 is v1 again, and nothing comes before v1: a second step back has nowhere to go.
    expect((await rejection(s.manager.rollback(0, {}), 'NOT_FOUND')).message).toBe('no version before v1 is kept in history (v3 restores v1): nothing to roll back to');
  });

  it('0 repeated walks back through history like undo, instead of toggling between two versions', async () => {
    const s = await setup();
    for (const canary of [20, 30, 40]) await s.manager.apply(doc(canary), { source: 'apply' }); // v2..v4
    const weights: number[] = [];
    for (let i = 0; i < 3; i++) {
      await s.manager.rollback(0, {});
      weights.push(canaryWeight(s.manager.current().config));
    }
    expect(weights).toEqual([30, 20, 10]);
    expect((await s.manager.history()).slice(0, 3).map((m) => [m.version, m.description, m.restores])).toEqual([
      [7, 'rollback to v1', 1],
      [6, 'rollback to v2', 2],
      [5, 'rollback to v3', 3],
    ]);
    // An edit after rolling back, then undo: back to the rolled-back state, then before it.
    await s.manager.apply(doc(50), { source: 'apply' }); // v8
    await s.manager.apply(doc(60), { source: 'apply' }); // v9
    await s.manager.rollback(0, { description: 'oops' }); // v10 = v8
    expect(canaryWeight(s.manager.current().config)).toBe(50);
    expect((await s.manager.history())[0]).toMatchObject({ version: 10, description: 'rollback to v8 — oops', restores: 8 });
    await s.manager.rollback(0, {}); // before v8 comes v7 (= v1)
    expect(canaryWeight(s.manager.current().config)).toBe(10);
    expect((await s.manager.history())[0]).toMatchObject({ version: 11, restores: 7 });
  });

  it('to a specific version; to content already served is a no-op', async () => {
    const s = await setup();
    await s.manager.apply(doc(20), { source: 'apply' });
    await s.manager.apply(doc(30), { source: 'apply' });
    expect(await s.manager.rollback(1, {})).toMatchObject({ version: 4, changed: true });
    expect(canaryWeight(s.manager.current().config)).toBe(10);
    expect(await s.manager.rollback(4, {})).toMatchObject({ version: 4, changed: false });
    expect(await s.manager.rollback(1, {})).toMatchObject({ version: 4, changed: false });
  });

  it('NOT_FOUND for a version no longer kept, a future version, or no previous version', async () => {
    const s = await setup({ retain: 2 });
    await rejection(s.manager.rollback(0, {}), 'NOT_FOUND');
    await s.manager.apply(doc(20), { source: 'apply' });
    await s.manager.apply(doc(30), { source: 'apply' });
    const before = await observe(s);
    expect((await rejection(s.manager.rollback(1, {}), 'NOT_FOUND')).message).toBe('version 1 is not in the history (kept: 2 to 3)');
    await rejection(s.manager.rollback(9, {}), 'NOT_FOUND');
    await expectUnchanged(s, before);
    expect(await s.manager.rollback(2, { expectedVersion: 3 })).toMatchObject({ version: 4 });
  });

  it('dry run and expectedVersion apply to rollback too', async () => {
    const s = await setup();
    await s.manager.apply(doc(20), { source: 'apply' });
    const before = await observe(s);
    expect(await s.manager.rollback(0, { dryRun: true })).toMatchObject({ version: 2, changed: false, dryRun: true });
    await rejection(s.manager.rollback(0, { expectedVersion: 1 }), 'ABORTED');
    await expectUnchanged(s, before);
  });
});

describe('publisher', () => {
  it('refuses a config it cannot encode with INVALID_ARGUMENT and publishes nothing', async () => {
    const cache = new SnapshotCache();
    const publisher = createPublisher({ cache, logger: silentLogger() });
    try {
      const backend = { name: 'b', endpoints: [], balancer: { type: 'round_robin' as const }, connectTimeoutMs: 1000, protocol: 'http1' as const };
      const err = await rejection(publisher.prepare({ listeners: [], services: [], backends: [backend, backend] }, 1), 'INVALID_ARGUMENT');
      expect(err.message).toMatch(/^could not translate config: .*duplicate resource name "b"/);
      expect(cache.get('envoy')).toBeUndefined();
      expect(publisher.served()).toBeUndefined();
    } finally {
      publisher.close();
    }
  });

  it('publish() sets every kind at the config version; discard() after publish is a no-op', async () => {
    const cache = new SnapshotCache();
    const publisher = createPublisher({ cache, logger: silentLogger() });
    try {
      const prepared = await publisher.prepare({ listeners: [], services: [], backends: [] }, 7);
      expect(cache.get('grpc')).toBeUndefined();
      prepared.publish();
      for (const kind of NODE_KINDS) expect(cache.get(kind)!.configVersion).toBe('7');
      expect(publisher.served()!.version).toBe(7);
      await prepared.discard();
      expect(() => prepared.publish()).toThrow(/already published/);
    } finally {
      publisher.close();
    }
  });
});
