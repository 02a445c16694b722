/**
 * The core features over incremental xDS: an Envoy whose bootstrap says `api_type: DELTA_GRPC`
 * gets header affinity, a weighted split and live edits from Tether, with no update rejected.
 * That it really speaks delta shows in Envoy's /config_dump: each resource carries its own
 * version (Tether's per-resource content hash), where SotW would give every resource of a
 * type the type's version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, LISTENER_TYPE } from '../../src/envoy/resource-types';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';

type Json = Record<string, any>;

describe.skipIf(!envoyAvailable())('delta xDS (DELTA_GRPC) on a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;
  const v1: string[] = [];
  const v2: string[] = [];
  const config = (split: { v1: number; v2: number }, extra: { v1Endpoints?: number; v3?: boolean; connectTimeout?: string } = {}) => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: [
      {
        name: 'demo',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [
          { name: 'sticky', match: { prefix: '/sticky' }, backends: [{ name: 'demo-v1' }] },
          {
            name: 'default',
            backends: [
              { name: 'demo-v1', weight: split.v1 },
              { name: 'demo-v2', weight: split.v2 },
              ...(extra.v3 ? [{ name: 'demo-v3', weight: 0 }] : []),
            ],
          },
        ],
      },
    ],
    backends: [
      { name: 'demo-v1', endpoints: v1.slice(0, extra.v1Endpoints ?? 3), ...(extra.connectTimeout ? { connectTimeout: extra.connectTimeout } : {}) },
      { name: 'demo-v2', endpoints: v2 },
      ...(extra.v3 ? [{ name: 'demo-v3', endpoints: v2 }] : []),
    ],
  });

  /** Applies through the config manager and waits until Envoy ACKed every type of it. */
  async function edit(doc: unknown): Promise<number> {
    const started = Date.now();
    const applied = await h.tether.applyText(JSON.stringify(doc), 'edit');
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
    expect(await h.tether.registry.waitForConfigVersion(applied.version, { timeoutMs: 14_000 }), `Envoy applied version ${applied.version} within 14 s`).toBe(true);
    return Date.now() - started;
  }

  const replicaOf = async (path: string, user: string): Promise<string> => {
    const reply = await request(port, { path, headers: { 'x-user': user } });
    expect(reply.status).toBe(200);
    return reply.json!.replica;
  };

  beforeAll(async () => {
    for (const id of ['a', 'b', 'c', 'd']) v1.push(`127.0.0.1:${(await h.replica(`v1-${id}`, 'v1')).httpPort}`);
    v2.push(`127.0.0.1:${(await h.replica('v2-a', 'v2')).httpPort}`);
    port = await freePort();
    await h.start(config({ v1: 50, v2: 50 }));
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, delta: true });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    expect(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 10_000 })).toBe(true);
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it('Envoy holds per-resource versions: the stream is delta', async () => {
    const dump = await envoy.configDump();
    const section = (suffix: string): Json => dump.configs.find((c) => String(c['@type']).endsWith(`.${suffix}`))!;
    const snapshot = h.tether.cache.get('envoy')!;
    const clusters = section('ClustersConfigDump').dynamic_active_clusters as Json[];
    expect(clusters.map((c) => c.cluster.name).sort()).toEqual(['demo-v1', 'demo-v2']);
    for (const c of clusters) expect(c.version_info).toBe(snapshot.sets[CLUSTER_TYPE].resources.get(c.cluster.name)!.hash);
    const listeners = section('ListenersConfigDump').dynamic_listeners as Json[];
    for (const l of listeners) expect(l.active_state.version_info).toBe(snapshot.sets[LISTENER_TYPE].resources.get(l.name)!.hash);
    await envoy.expectNoRejections();
  });

  it('header affinity: a user stays on one replica, users spread over several', async () => {
    const seen = new Set<string>();
    for (let u = 0; u < 24; u++) {
      const first = await replicaOf('/sticky', `user-${u}`);
      for (let i = 0; i < 3; i++) expect(await replicaOf('/sticky', `user-${u}`)).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await envoy.expectNoRejections();
  });

  it('weighted split: 50/50 reaches both versions', async () => {
    const versions = new Set<string>();
    for (let i = 0; i < 40 && versions.size < 2; i++) {
      const reply = await request(port, { path: '/', headers: { 'x-user': `split-${i}` } });
      versions.add(reply.json!.version);
    }
    expect([...versions].sort()).toEqual(['v1', 'v2']);
    await envoy.expectNoRejections();
  });

  it("live edits apply without waiting out Envoy's 15 s fetch timeout: a shifted split, a new cluster, changed clusters", async () => {
    // 0/100: every request to v2.
    await edit(config({ v1: 0, v2: 100 }));
    for (let i = 0; i < 10; i++) expect((await request(port, { path: '/', headers: { 'x-user': `shift-${i}` } })).json!.version).toBe('v2');

    // A new cluster: Envoy warms it on its endpoints before it ACKs CDS (no 15 s stall).
    const added = (await envoy.stat('cluster_manager.cluster_added'))!;
    const addMs = await edit(config({ v1: 0, v2: 100 }, { v3: true }));
    expect(await envoy.stat('cluster_manager.cluster_added')).toBe(added + 1);

    // A changed cluster: a fourth v1 replica resizes demo-v1's stable ring, so Envoy rebuilds
    // the cluster and needs its (changed) endpoints again.
    const modified = (await envoy.stat('cluster_manager.cluster_modified'))!;
    const changeMs = await edit(config({ v1: 100, v2: 0 }, { v1Endpoints: 4, v3: true }));
    expect(await envoy.stat('cluster_manager.cluster_modified')).toBeGreaterThan(modified);
    expect(await envoy.stat('cluster.demo-v1.membership_total')).toBe(4);
    for (let i = 0; i < 10; i++) expect((await request(port, { path: '/', headers: { 'x-user': `back-${i}` } })).json!.version).toBe('v1');

    // A changed cluster whose endpoints did not change: Tether resends them unasked.
    const rebuilt = (await envoy.stat('cluster_manager.cluster_modified'))!;
    const timeoutMs = await edit(config({ v1: 100, v2: 0 }, { v1Endpoints: 4, v3: true, connectTimeout: '2s' }));
    expect(await envoy.stat('cluster_manager.cluster_modified')).toBe(rebuilt + 1);
    expect(await envoy.stat('cluster.demo-v1.membership_total')).toBe(4);
    expect((await request(port, { path: '/', headers: { 'x-user': 'after' } })).json!.version).toBe('v1');

    // Envoy's initial_fetch_timeout is 15 s: an edit that waited for it would take that long.
    expect(addMs).toBeLessThan(10_000);
    expect(changeMs).toBeLessThan(10_000);
    expect(timeoutMs).toBeLessThan(10_000);
    await envoy.expectNoRejections();
  });
});
