/**
 * Tether restarts under running Envoys (one SotW, one delta): while Tether is down Envoy keeps
 * serving what it has; Tether comes back on the same xDS port and data directory (what the
 * bootstraps point at); Envoy reconnects and nothing of its configuration changes: no
 * listener, route configuration or cluster added, modified, removed or reloaded, its
 * /config_dump identical (versions and last_updated included), and Tether pushes nothing,
 * since versions come from content and each Envoy says what it holds when it reconnects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { capturingLogger } from '../store/helpers';

type Json = Record<string, any>;

/** Envoy counters and gauges that move when a listener, route or cluster is (re)built. */
const CHANGE_STATS = [
  'listener_manager.listener_added',
  'listener_manager.listener_modified',
  'listener_manager.listener_removed',
  'listener_manager.lds.version',
  'cluster_manager.cluster_added',
  'cluster_manager.cluster_modified',
  'cluster_manager.cluster_removed',
  'cluster_manager.cds.version',
  'http.http.rds.http.config_reload',
  'http.http.rds.http.version',
  'cluster.demo-v1.membership_change',
  'cluster.demo-v2.membership_change',
];

async function changeStats(envoy: EnvoyProcess): Promise<Record<string, number | undefined>> {
  const all = await envoy.stats();
  return Object.fromEntries(CHANGE_STATS.map((name) => [name, all.get(name)]));
}

/** The dynamic part of /config_dump: what came over xDS, with its versions and update times. */
async function dynamicConfig(envoy: EnvoyProcess): Promise<Json> {
  const dump = await envoy.configDump();
  const section = (suffix: string): Json => dump.configs.find((c) => String(c['@type']).endsWith(`.${suffix}`)) ?? {};
  const listeners = section('ListenersConfigDump');
  const clusters = section('ClustersConfigDump');
  return {
    listeners: { version: listeners.version_info, dynamic: listeners.dynamic_listeners },
    clusters: { version: clusters.version_info, active: clusters.dynamic_active_clusters, warming: clusters.dynamic_warming_clusters },
    routes: section('RoutesConfigDump').dynamic_route_configs,
    endpoints: section('EndpointsConfigDump').dynamic_endpoint_configs,
  };
}

async function pushes(h: Harness): Promise<number> {
  const text = await h.tether.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('tether_xds_pushes_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe.skipIf(!envoyAvailable())('Tether restarts under running Envoys', () => {
  const h = new Harness();
  const envoys: EnvoyProcess[] = [];
  let port = 0;
  let xdsPort = 0;
  let config: Json;

  const served = async (user: string): Promise<string> => {
    const reply = await request(port, { path: '/', headers: { 'x-user': user } });
    expect(reply.status).toBe(200);
    return reply.json!.replica;
  };

  beforeAll(async () => {
    const [a, b, c] = [await h.replica('r1'), await h.replica('r2'), await h.replica('c1', 'v2')];
    port = await freePort();
    xdsPort = await freePort();
    config = {
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        {
          name: 'demo',
          affinity: { keys: [{ header: 'x-user' }] },
          routes: [{ name: 'default', backends: [{ name: 'demo-v1', weight: 100 }, { name: 'demo-v2', weight: 0 }] }],
        },
      ],
      backends: [
        { name: 'demo-v1', endpoints: [`127.0.0.1:${a.httpPort}`, `127.0.0.1:${b.httpPort}`] },
        { name: 'demo-v2', endpoints: [`127.0.0.1:${c.httpPort}`] },
      ],
    };
    await h.start(config, { xdsPort });
    // Both share the listener port (Envoy binds with SO_REUSEPORT): either one answers.
    envoys.push(await startEnvoy({ xdsPort }), await startEnvoy({ xdsPort, delta: true }));
    for (const e of envoys) await e.waitConnected();
    await envoys[0]!.waitListening(port);
    // connected_state is Envoy's view; Tether registers a stream on its first request.
    await envoys[0]!.until('both Envoys registered with Tether', () => h.tether.registry.list().length === 2);
    expect(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 10_000 })).toBe(true);
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.close()));
    await h.close();
  });

  it("checks update_rejected under the names Envoy 1.40 gives LDS, CDS, each cluster's EDS and each RDS subscription", async () => {
    for (const e of envoys) {
      const names = await e.rejectionStatNames();
      expect(names).toEqual([
        'cluster.demo-v1.update_rejected',
        'cluster.demo-v2.update_rejected',
        'cluster_manager.cds.update_rejected',
        'http.http.rds.http.update_rejected',
        'listener_manager.lds.update_rejected',
      ]);
      const stats = await e.stats('update_rejected');
      for (const name of names) expect(stats.get(name), name).toBe(0);
    }
  });

  it('Envoy serves while Tether is down, reconnects to the restarted Tether, and nothing is re-applied', async () => {
    const version = h.tether.current().version;
    const userReplica = await served('alice');
    const before = await Promise.all(envoys.map(async (e) => ({ stats: await changeStats(e), config: await dynamicConfig(e) })));

    await h.tether.close();
    for (const e of envoys) await e.until('Envoy to see Tether gone', async () => (await e.stat('control_plane.connected_state')) === 0);
    for (let i = 0; i < 5; i++) expect(await served('alice')).toBe(userReplica);

    const downAt = Date.now();
    const { logger, lines } = capturingLogger();
    await h.start(config, { xdsPort, logger });
    expect(h.tether.current().version).toBe(version);
    // What Envoys reconnect to was first the snapshot persisted at shutdown (served-snapshot.ts), checked equal to a fresh build.
    expect(lines.filter((l) => /serving the persisted snapshot|equals a fresh build/.test(String(l.msg))).length).toBe(2);
    for (const e of envoys) await e.waitConnected(20_000);
    // Each Envoy's stream has told Tether what it holds, and it is the current version.
    await envoys[0]!.until('both Envoys registered with the restarted Tether', () => h.tether.registry.list().length === 2);
    await expect(h.tether.registry.waitForConfigVersion(version, { timeoutMs: 10_000 })).resolves.toBe(true);
    const reconnectMs = Date.now() - downAt;

    expect(await pushes(h), 'responses the restarted Tether sent').toBe(0);
    for (const [i, e] of envoys.entries()) {
      expect(await changeStats(e), `envoy ${e.nodeId} stats`).toEqual(before[i]!.stats);
      expect(await dynamicConfig(e), `envoy ${e.nodeId} config_dump`).toEqual(before[i]!.config);
      await e.expectNoRejections();
    }
    expect(await served('alice')).toBe(userReplica);
    expect(reconnectMs).toBeLessThan(20_000);
  });

  it('the reconnected streams are live: the next edit reaches both Envoys', async () => {
    const next = { ...config, services: [{ ...config.services[0], routes: [{ name: 'default', backends: [{ name: 'demo-v1', weight: 0 }, { name: 'demo-v2', weight: 100 }] }] }] };
    const reloads = await Promise.all(envoys.map(async (e) => (await e.stat('http.http.rds.http.config_reload'))!));
    const applied = await h.tether.applyText(JSON.stringify(next), 'edit');
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
    expect(await h.tether.registry.waitForConfigVersion(applied.version, { timeoutMs: 10_000 })).toBe(true);
    for (const [i, e] of envoys.entries()) {
      await e.waitForStat('http.http.rds.http.config_reload', reloads[i]! + 1);
      await e.expectNoRejections();
    }
    expect(await served('alice')).toBe('c1');
  });
});
