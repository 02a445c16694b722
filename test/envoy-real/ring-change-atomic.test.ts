/**
 * Issue 11.1 on a real Envoy: a scale event changes a stable ring's size (CDS) and its endpoints
 * (EDS) together, and no request may be balanced by one without the other. Replicas are added
 * and removed under live traffic through Envoy (3 → 4 → 3 → 4 → 5 → 4 → 3), over SotW and over
 * delta xDS:
 * - every request must reach the user's replica of the ring before the change or after it
 *   (independent reference ring);
 * - per Envoy's /stats, every change replaced the cluster with one warmed on the new endpoints
 *   (cluster_manager.cluster_modified) and none changed the hosts of the active cluster in place
 *   (cluster_manager.cluster_updated), whatever the timing of requests.
 *
 * Envoy warms an updated cluster until its endpoints arrive, but the old cluster stays active
 * meanwhile, and over delta xDS, when both read one ClusterLoadAssignment per backend, it applied
 * the new endpoints under the old ring size before the new cluster took over (cluster_updated
 * rose by 3 in 6 changes; requests caught in that window went to a third replica, as the old
 * size over the new endpoints predicts). Tether names a stable ring's assignment after its shape
 * (translate/assignment-names.ts), so the old cluster's assignment never changes; the cluster
 * keeps the backend's name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { runRingChanges } from '../support/ring-change-check';
import { ENVOY_STABLE_RING, type RingReplica } from '../support/stable-ring-prediction';

const COUNTS = [3, 4, 3, 4, 5, 4, 3];

interface ClusterManagerStats {
  /** cluster_manager.cluster_modified: clusters replaced by an updated one (after warming). */
  modified: number;
  /** cluster_manager.cluster_updated: host updates of an active cluster sent to the workers. */
  updated: number;
}

async function clusterManagerStats(envoy: EnvoyProcess): Promise<ClusterManagerStats> {
  const stats = await envoy.stats('^cluster_manager\\.cluster_(modified|updated)$');
  const get = (name: string) => {
    const v = stats.get(name);
    if (v === undefined) throw new Error(`Envoy has no ${name} (stat names changed?)`);
    return v;
  };
  return { modified: get('cluster_manager.cluster_modified'), updated: get('cluster_manager.cluster_updated') };
}

describe.skipIf(!envoyAvailable())('stable ring changes through a real Envoy', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  for (const delta of [false, true]) {
    it(`${delta ? 'delta' : 'SotW'}: every request reaches the user’s replica before or after each change`, async () => {
      const h = new Harness();
      let envoy: EnvoyProcess | undefined;
      cleanups.push(async () => {
        await envoy?.close();
        await h.close();
      });
      const replicas = [];
      for (let i = 1; i <= Math.max(...COUNTS); i++) replicas.push(await h.replica(`r-${i}`));
      // Envoy hashes the HTTP address it sends to.
      const hosts: RingReplica[] = replicas.map((r) => ({ id: r.id, address: `127.0.0.1:${r.httpPort}` }));
      const port = await freePort();
      const config = (n: number) => ({
        listeners: [{ name: 'http', port, address: '127.0.0.1' }],
        services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'all', backends: [{ name: 'shop' }] }] }],
        backends: [{ name: 'shop', endpoints: hosts.slice(0, n).map((r) => r.address) }],
      });
      await h.start(config(COUNTS[0]!));
      envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, delta });
      await envoy.waitListening(port);
      let before: ClusterManagerStats | undefined;

      const result = await runRingChanges({
        states: COUNTS.map((n) => hosts.slice(0, n)),
        flavour: ENVOY_STABLE_RING,
        users: Array.from({ length: 300 }, (_, i) => `user-${i}`),
        workers: 64,
        call: async (user) => {
          const reply = await request(port, { headers: { 'x-user': user }, fresh: false });
          if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
          return reply.json!.replica;
        },
        apply: async (k) => {
          if (k === 1) before = await clusterManagerStats(envoy!);
          const applied = await h.tether.applyText(JSON.stringify(config(COUNTS[k]!)), 'test');
          if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
          // Well under Envoy's 15 s initial_fetch_timeout: the new cluster warmed on Tether's endpoints.
          expect(await h.tether.registry.waitForConfigVersion(applied.version, { kind: 'envoy', timeoutMs: 10_000 }), `Envoy applied config ${k}`).toBe(true);
        },
      });
      const after = await clusterManagerStats(envoy);
      console.info(`${delta ? 'delta' : 'SotW'} Envoy: ${result.summary}; cluster_manager ${JSON.stringify(after)} (before the changes: ${JSON.stringify(before)})`);
      expect(result.detours.slice(0, 20), `${result.detours.length} requests reached a replica that was neither the user's before nor after`).toEqual([]);
      expect(result.errors.slice(0, 20)).toEqual([]);
      expect(result.requests).toBeGreaterThan(300 * COUNTS.length);
      // Whatever the timing of requests: every change replaced the cluster with one warmed on its
      // own assignment (cluster_modified), and Envoy never changed the hosts of the active
      // cluster in place (cluster_updated), which is how the old size met the new endpoints.
      expect(after.modified - before!.modified, 'clusters replaced, one per change').toBe(COUNTS.length - 1);
      expect(after.updated - before!.updated, 'in-place host updates of the active cluster').toBe(0);
      // The cluster kept its name through every change (stats, dashboards), and Envoy rejected nothing.
      const dump = await envoy.configDump();
      const clusters = dump.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'));
      const shop = (clusters?.dynamic_active_clusters ?? []).map((c: { cluster: { name: string; eds_cluster_config?: { service_name?: string } } }) => c.cluster).find((c: { name: string }) => c.name === 'shop');
      expect(shop?.eds_cluster_config?.service_name).toBe(`shop~ring${ENVOY_STABLE_RING.pointsPerHost * COUNTS.at(-1)!}`);
      await envoy.expectNoRejections();
    }, 90_000);
  }
});
