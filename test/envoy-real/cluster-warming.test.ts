/**
 * An updated cluster reaches a real Envoy without waiting out initial_fetch_timeout, over SotW
 * and delta ADS. Envoy re-warms a cluster whose definition changes and holds its CDS ACK until
 * the cluster has its endpoints; Tether used to hold those endpoints until that ACK, so both
 * waited Envoy's 15 s timeout on every scale event of a stable ring (its size is in the
 * cluster). Proved by Envoy's own stats: warming ends, init_fetch_timeout stays 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { edits } from '../../src/control/mutations';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness } from '../support/harness';

/** Far below Envoy's 15 s initial_fetch_timeout, far above a loaded machine's push. */
const WITHIN_MS = 7_000;

describe.skipIf(!envoyAvailable())('updated clusters on a real Envoy (SotW and delta)', () => {
  const h = new Harness();
  const envoys: Record<'sotw' | 'delta', EnvoyProcess | undefined> = { sotw: undefined, delta: undefined };
  let port = 0;
  const addresses: string[] = [];

  beforeAll(async () => {
    for (const id of ['r1', 'r2', 'r3']) addresses.push(`127.0.0.1:${(await h.replica(id)).httpPort}`);
    port = await freePort();
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'shop-v1' }] }] }],
      backends: [{ name: 'shop-v1', endpoints: addresses.slice(0, 2) }],
    });
    for (const mode of ['sotw', 'delta'] as const) {
      const envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, delta: mode === 'delta', nodeId: `warming-${mode}-${process.pid}` });
      envoys[mode] = envoy;
      await envoy.waitConnected();
    }
    await envoys.sotw!.until('a routed reply', async () => (await request(port, { headers: { 'x-user': 'u' } })).status === 200);
  });

  afterEach(async () => {
    for (const envoy of Object.values(envoys)) await envoy?.expectNoRejections();
  });

  afterAll(async () => {
    await Promise.all(Object.values(envoys).map((e) => e?.close()));
    await h.close();
  });

  const hosts = async (envoy: EnvoyProcess): Promise<number> => {
    const status = (await envoy.clusters()).cluster_statuses?.find((c: { name: string }) => c.name === 'shop-v1');
    return status?.host_statuses?.length ?? 0;
  };

  it('a replica added to a stable ring (cluster and endpoints change): both Envoys have it at once', async () => {
    for (const envoy of Object.values(envoys)) expect(await hosts(envoy!)).toBe(2);
    await h.tether.manager.mutate('test', edits.addEndpoint('shop-v1', addresses[2]!, 1), {});
    for (const envoy of Object.values(envoys)) {
      await envoy!.until('the third host', async () => (await hosts(envoy!)) === 3, WITHIN_MS);
      await envoy!.until('warming done', async () => (await envoy!.stat('cluster_manager.warming_clusters')) === 0, WITHIN_MS);
      expect(await envoy!.stat('cluster.shop-v1.init_fetch_timeout')).toBe(0);
    }
  });

  it('a cluster-only change (balancer setting, same endpoints): warming ends at once, endpoints kept', async () => {
    const before = new Map<EnvoyProcess, number>();
    for (const envoy of Object.values(envoys)) before.set(envoy!, (await envoy!.stat('cluster_manager.cds.update_success')) ?? 0);
    await h.tether.manager.mutate(
      'test',
      (doc) => {
        const next = structuredClone(doc) as { backends: Array<Record<string, unknown>> };
        next.backends[0]!.balancer = { type: 'ring_hash', hashBalanceFactor: 150 };
        return next as typeof doc;
      },
      {},
    );
    for (const envoy of Object.values(envoys)) {
      await envoy!.until('the CDS update', async () => ((await envoy!.stat('cluster_manager.cds.update_success')) ?? 0) > before.get(envoy!)!, WITHIN_MS);
      await envoy!.until('warming done', async () => (await envoy!.stat('cluster_manager.warming_clusters')) === 0, WITHIN_MS);
      expect(await envoy!.stat('cluster.shop-v1.init_fetch_timeout')).toBe(0);
      expect(await hosts(envoy!)).toBe(3);
    }
  });
});
