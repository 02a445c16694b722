/**
 * Issue 2's proof: Tether on 127.0.0.1, real sample replicas, and the real @grpc/grpc-js-xds
 * client dialing xds:///<service>. Expectations for ring hash come from the independent
 * reference in test/support/ring-hash-reference.ts, not from Tether's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, hello, waitFor, type SampleClient } from '../support/harness';
import { buildRing, hashHeader, pick, DEFAULT_MAX_RING_SIZE } from '../support/ring-hash-reference';
import { decodeMessage } from '../../src/envoy/encode';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import type { Replica } from '../../src/sample/replica';

const h = new Harness();
let sticky: Replica[];
let v1: Replica;
let v2: Replica;
let extra: Replica;

function config(stickyReplicas: Replica[], opts: { canaryWeight?: number; invalid?: boolean } = {}) {
  return {
    services: [
      {
        name: 'sticky',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ backends: [{ name: 'sticky' }] }],
      },
      {
        name: 'canary',
        routes: [
          {
            backends: [
              { name: 'app-v1', weight: opts.invalid ? -5 : 100 - (opts.canaryWeight ?? 10) },
              { name: 'app-v2', weight: opts.canaryWeight ?? 10 },
            ],
          },
        ],
      },
      {
        name: 'iter8',
        routes: [
          { name: 'candidate', match: { headers: { userhash: { prefix: '101' } } }, backends: [{ name: 'app-v2' }] },
          { name: 'baseline', backends: [{ name: 'app-v1' }] },
        ],
      },
    ],
    backends: [
      { name: 'sticky', endpoints: stickyReplicas.map((r) => r.address) },
      { name: 'app-v1', endpoints: [v1.address] },
      { name: 'app-v2', endpoints: [v2.address] },
    ],
  };
}

const users = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/**
 * Tether's stable ring for gRPC nodes: 256 entries per host of equal weight (the config
 * reference's documented sizing), i.e. minimum_ring_size = 256 × N. Only this size comes from
 * Tether's config; the prediction itself is the independent reference implementation.
 */
const GRPC_POINTS_PER_HOST = 256;

/** Which replica the reference ring (grpc-js-xds's algorithm and 4096 cap) predicts. */
function predict(replicas: Replica[], user: string): string {
  const ring = buildRing(
    replicas.map((r) => ({ address: r.address, weight: 1 })),
    { minRingSize: GRPC_POINTS_PER_HOST * replicas.length, maxRingSize: DEFAULT_MAX_RING_SIZE },
  );
  const address = pick(ring, hashHeader(user));
  return replicas.find((r) => r.address === address)!.id;
}

/** minimum_ring_size of a cluster as Tether serves it to gRPC nodes right now. */
function servedMinRingSize(cluster: string): number {
  const resource = h.tether.cache.get('grpc')!.sets[CLUSTER_TYPE].resources.get(cluster)!;
  const any = decodeMessage('google.protobuf.Any', resource.anyBytes) as { value: Uint8Array };
  const decoded = decodeMessage('envoy.config.cluster.v3.Cluster', any.value) as { ring_hash_lb_config?: { minimum_ring_size?: { value: string } } };
  return Number(decoded.ring_hash_lb_config?.minimum_ring_size?.value);
}

async function replicaOf(client: SampleClient, user: string): Promise<string> {
  return (await hello(client, { 'x-user': user })).replica_id;
}

beforeAll(async () => {
  sticky = [await h.replica('sticky-1'), await h.replica('sticky-2'), await h.replica('sticky-3')];
  extra = await h.replica('sticky-4');
  v1 = await h.replica('app-v1', 'v1');
  v2 = await h.replica('app-v2', 'v2');
  await h.start(config(sticky));
});

afterAll(async () => {
  await h.close();
});

describe('sticky routing through grpc-js-xds', () => {
  it('sends the same x-user to the same replica in 100 of 100 calls, for 50 users', async () => {
    const client = h.client('sticky');
    const perUser = await Promise.all(
      users(50).map(async (user) => {
        const seen = new Set<string>();
        for (let i = 0; i < 100; i++) seen.add(await replicaOf(client, user));
        return seen;
      }),
    );
    for (const seen of perUser) expect(seen.size).toBe(1);
  });

  it('spreads 300 users over all replicas, exactly where Envoy’s ring-hash algorithm puts them', async () => {
    const client = h.client('sticky');
    const got = await Promise.all(users(300).map((u) => replicaOf(client, u)));
    const counts = new Map<string, number>();
    for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['sticky-1', 'sticky-2', 'sticky-3']);
    for (const n of counts.values()) expect(n).toBeGreaterThan(300 * 0.15);
    expect(servedMinRingSize('sticky')).toBe(GRPC_POINTS_PER_HOST * sticky.length);
    expect(got).toEqual(users(300).map((u) => predict(sticky, u)));
  });

  it('moves exactly the users the ring-hash algorithm says should move when a replica is added', async () => {
    const client = h.client('sticky');
    const all = users(300);
    const before = await Promise.all(all.map((u) => replicaOf(client, u)));
    const grown = [...sticky, extra];
    const expectedAfter = all.map((u) => predict(grown, u));
    const expectedMovers = all.filter((_, i) => expectedAfter[i] !== before[i]);
    // The reference predicts real movement: about a quarter of the users, the new replica's share.
    expect(expectedMovers.length).toBeGreaterThan(30);
    expect(before).toEqual(all.map((u) => predict(sticky, u)));

    const oldVersion = h.tether.current().version;
    h.writeConfig(config(grown));
    await waitFor('the new config version', () => h.tether.current().version !== oldVersion);
    const firstMovers = all.map((u, i) => ({ u, want: expectedAfter[i] })).filter(({ u }) => expectedMovers.includes(u)).slice(0, 5);
    await waitFor('the client to apply the added replica', async () =>
      (await Promise.all(firstMovers.map(({ u }) => replicaOf(client, u)))).every((id, i) => id === firstMovers[i]!.want),
    );
    const after = await Promise.all(all.map((u) => replicaOf(client, u)));
    expect(after).toEqual(expectedAfter);
    const movers = all.filter((_, i) => after[i] !== before[i]);
    expect(movers).toEqual(expectedMovers);
    expect(servedMinRingSize('sticky')).toBe(GRPC_POINTS_PER_HOST * grown.length);
    // Stable ring: every user who moved went to the new replica; none moved between old ones.
    for (let i = 0; i < all.length; i++) if (after[i] !== before[i]) expect(after[i], all[i]).toBe('sticky-4');

    h.writeConfig(config(sticky));
    const toExtra = all.find((_, i) => expectedAfter[i] === 'sticky-4')!;
    await waitFor('the replica to be removed again', async () => (await replicaOf(client, toExtra)) !== 'sticky-4');
  });
});

describe('traffic shifting through grpc-js-xds', () => {
  it('measures a 90/10 split within ±3 points over 2,000 calls', async () => {
    const client = h.client('canary');
    let candidate = 0;
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => hello(client)));
      candidate += replies.filter((r) => r.version === 'v2').length;
    }
    const share = (candidate / 2000) * 100;
    expect(share).toBeGreaterThanOrEqual(7);
    expect(share).toBeLessThanOrEqual(13);
  });

  it('routes userhash 101… to the candidate and everything else to the baseline', async () => {
    const client = h.client('iter8');
    // 10-digit binary user hashes, 8 for each 3-digit prefix (1/8 of them start with 101).
    const hashes = Array.from({ length: 64 }, (_, i) => (((i >> 3) << 7) | ((i * 37) % 128)).toString(2).padStart(10, '0'));
    expect(hashes.filter((x) => x.startsWith('101'))).toHaveLength(8);
    for (const userhash of hashes) {
      const reply = await hello(client, { userhash });
      expect(reply.version, userhash).toBe(userhash.startsWith('101') ? 'v2' : 'v1');
    }
    expect((await hello(client)).version).toBe('v1');
  });

  it('rejects an invalid edit and keeps traffic flowing on the old config', async () => {
    const client = h.client('canary');
    await hello(client);
    const before = h.tether.current().version;
    const pushesBefore = JSON.stringify(h.tether.cache.get('grpc')?.configVersion);

    const failures: unknown[] = [];
    let calls = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        calls++;
        await hello(client).catch((err: unknown) => failures.push(err));
      }
    })();

    h.writeConfig(config(sticky, { invalid: true }));
    const result = await h.tether.applyText(JSON.stringify(config(sticky, { invalid: true })), 'test');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => `${e.path}: ${e.message}`)).toContain('services[1].routes[0].backends[0].weight: must be >= 0');
    await new Promise((r) => setTimeout(r, 300)); // the watcher sees the bad file too
    stop = true;
    await traffic;

    expect(h.tether.current().version).toBe(before);
    expect(JSON.stringify(h.tether.cache.get('grpc')?.configVersion)).toBe(pushesBefore);
    expect(calls).toBeGreaterThan(10);
    expect(failures).toEqual([]);
    h.writeConfig(config(sticky));
  });
});
