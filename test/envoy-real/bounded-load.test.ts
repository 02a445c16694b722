/**
 * Bounded load on a real Envoy (issue 12.9): concurrent requests for one hot key spread beyond
 * one replica when the backend has `hashBalanceFactor` (Envoy's hash_balance_factor), and all
 * go to the key's one replica without it. The replicas' cold delay (a user's first request is
 * slow) keeps the requests in flight together; each is sent once Envoy counts the previous ones
 * as active upstream (its upstream_rq_active gauge), because that count is what bounded load
 * weighs, and requests that all arrive before any is active would all see idle hosts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, request, type EnvoyProcess } from '../support/envoy';
import { withEnvoy } from '../support/with-envoy';

const BURST = 12;
const COLD_DELAY_MS = 3000;

describe.skipIf(!envoyAvailable())('bounded load on a real Envoy', () => {
  const tethered = withEnvoy();
  const h = tethered.h;
  let port = 0;
  let envoy: EnvoyProcess;

  beforeAll(async () => {
    const replicas = [await h.replica('r1', 'v1', COLD_DELAY_MS), await h.replica('r2', 'v1', COLD_DELAY_MS), await h.replica('r3', 'v1', COLD_DELAY_MS)];
    const endpoints = replicas.map((r) => `127.0.0.1:${r.httpPort}`);
    port = await freePort();
    envoy = await tethered.start(
      {
        listeners: [{ name: 'http', port, address: '127.0.0.1' }],
        services: [
          { name: 'bounded', domains: ['bounded.test'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'bounded-pool' }] }] },
          { name: 'plain', domains: ['plain.test'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'plain-pool' }] }] },
        ],
        backends: [
          { name: 'bounded-pool', endpoints, balancer: { type: 'ring_hash', hashBalanceFactor: 150 } },
          { name: 'plain-pool', endpoints, balancer: { type: 'ring_hash' } },
        ],
      },
      port,
      { admin: false },
    );
  });

  /** BURST requests for one key in flight together (a connection each); the replicas that answered. */
  async function burst(host: string, cluster: string, user: string): Promise<Map<string, number>> {
    const pending: Array<ReturnType<typeof request>> = [];
    for (let i = 0; i < BURST; i++) {
      pending.push(request(port, { headers: { host, 'x-user': user } }));
      await envoy.until(`${i + 1} requests active on ${cluster}`, async () => ((await envoy.stat(`cluster.${cluster}.upstream_rq_active`)) ?? 0) >= i + 1, 5_000, 5);
    }
    const replies = await Promise.all(pending);
    const counts = new Map<string, number>();
    for (const r of replies) {
      expect(r.status, r.body).toBe(200);
      counts.set(r.json!.replica, (counts.get(r.json!.replica) ?? 0) + 1);
    }
    return counts;
  }

  it('Envoy holds hash_balance_factor 150 for the bounded backend only', async () => {
    const dump = await envoy.configDump();
    const clusters = dump.configs.find((c) => String(c['@type']).endsWith('.ClustersConfigDump'))!.dynamic_active_clusters.map((c: any) => c.cluster);
    const factor = (name: string) => clusters.find((c: any) => c.name === name)?.common_lb_config?.consistent_hashing_lb_config?.hash_balance_factor;
    expect(factor('bounded-pool')).toBe(150);
    expect(factor('plain-pool')).toBeUndefined();
  });

  it('a hot key in flight many times at once spreads beyond one replica with hashBalanceFactor', async () => {
    const counts = await burst('bounded.test', 'bounded-pool', 'hot-bounded');
    console.info(`bounded load, ${BURST} concurrent requests for one key: ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(counts.size, JSON.stringify([...counts])).toBeGreaterThanOrEqual(2);
    // 150 % of the average: no replica takes much more than its bound of the burst.
    expect(Math.max(...counts.values())).toBeLessThan(BURST);
  });

  it('without it, the same burst stays on the key’s one replica', async () => {
    const counts = await burst('plain.test', 'plain-pool', 'hot-plain');
    expect([...counts.values()]).toEqual([BURST]);
  });
});
