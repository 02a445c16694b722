/**
 * Sticky canary (stickySplit): what translate emits, and — with src/affinity's exact model of
 * Envoy's and grpc-js-xds's ring — that every user stays on one version at each step and, as
 * the canary grows 1 % → 10 % → 50 % → 100 %, only ever moves from v1 to v2.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRing, initHashing } from '../../src/affinity';
import { staticEndpoints, toReadable, translate, translateWithWarnings } from '../../src/translate';
import { apportion } from '../../src/translate/apportion';
import { exactRingWeights, LARGEST_POINTS, versionPoints } from '../../src/translate/sticky-points';
import { canary, eps, ringOf, STICKY, stickyOf, userMovementTests } from './sticky-canary';
import { grpcXdsErrors } from './grpc-xds-validator';

beforeAll(() => initHashing());

/** gRPC nodes' synthetic sticky ring (the Envoy side is in sticky-split.test.ts). */
const GRPC_ONLY = ['grpc'] as const;

describe('stickySplit (ring mode) for gRPC nodes: translation', () => {
  it('one synthetic cluster over every version, the route points at it, hash policy kept', () => {
    for (const kind of GRPC_ONLY) {
      const out = translate(canary(90, 10), staticEndpoints(canary(90, 10)), kind);
      const action = out.routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
      expect(action.cluster).toBe(STICKY);
      expect(action.weighted_clusters).toBeUndefined();
      expect(action.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
      expect(out.clusters.map((c) => c.name)).toEqual(['canary~main~sticky', 'v1', 'v2']);
      // gRPC: the ring's size (2048 + 228 points at 90/10) names its EDS (see sticky-split.ts).
      const eds = kind === 'grpc' ? 'canary~main~sticky~2276' : STICKY;
      // Stable rings read their endpoints under a name of their shape (assignment-names.ts).
      expect(out.endpoints.map((c) => c.cluster_name)).toEqual([eds, 'v1~ring768', 'v2~ring512']);
      const { cluster } = stickyOf(canary(90, 10), kind);
      expect(cluster).toMatchObject({
        type: 'EDS',
        eds_cluster_config: { service_name: eds },
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: {
          minimum_ring_size: { value: kind === 'grpc' ? '2276' : '131072' },
          maximum_ring_size: { value: kind === 'grpc' ? '2276' : '8388608' },
        },
      });
    }
  });

  it('grpc: the larger version has 2048 points, the other 2048 × its weight / the larger weight; the ring is their sum', () => {
    expect(LARGEST_POINTS).toBe(2048);
    for (const step of [1, 10, 33, 50, 67, 99, 100]) {
      const [v1, v2] = [100 - step, step];
      const larger = Math.max(v1, v2);
      const want = [v1, v2].map((w) => (w === larger ? 2048 : Math.round((2048 * w) / larger))).filter((_, i) => [v1, v2][i]! > 0);
      expect(versionPoints([v1, v2].filter((w) => w > 0), 'grpc')).toEqual({ points: want, ring: want.reduce((a, b) => a + b, 0) });
      const { ring } = ringOf(canary(v1, v2), 'grpc');
      const perVersion = (prefix: string) => ring.pointsPerHost.filter((_, i) => ring.hosts[i]!.address.startsWith(prefix)).reduce((a, b) => a + b, 0);
      expect([perVersion('10.1.'), perVersion('10.2.')].filter((p) => p > 0)).toEqual(want);
    }
    // Three versions none of which has half: 4096 points shared by weight.
    expect(versionPoints([40, 30, 30], 'grpc')).toEqual({ points: [1638, 1229, 1229], ring: 4096 });
    expect(versionPoints([60, 30, 10], 'grpc')).toEqual({ points: [2048, 1024, 341], ring: 3413 });
  });

  it('grpc: weights add up to 65536 and give every host exactly its points on a ring of any size', () => {
    for (const counts of [[683, 683, 682, 114, 114], [1], [2048, 21], [1365, 1365, 1365, 1], [1365, 1365, 1366], [7, 3, 4096 - 10], [2047, 1, 1, 2047]]) {
      const weights = exactRingWeights(counts);
      expect(weights.reduce((a, b) => a + b, 0)).toBe(65_536);
      const total = counts.reduce((a, b) => a + b, 0);
      const hosts = weights.map((weight, i) => ({ address: `10.9.0.${i + 1}:80`, key: `10.9.0.${i + 1}:80`, weight }));
      expect(buildRing(hosts, { flavour: 'grpc', minRingSize: total, maxRingSize: total }).pointsPerHost).toEqual(counts);
    }
    // Every ring size from 2048 to 4096 in steps of 29, over five hosts with uneven shares.
    for (let total = 2048; total <= 4096; total += 29) {
      const counts = apportion([7, 1, 13, 2, 977], total);
      const hosts = exactRingWeights(counts).map((weight, i) => ({ address: `10.9.1.${i + 1}:80`, key: `10.9.1.${i + 1}:80`, weight }));
      expect(buildRing(hosts, { flavour: 'grpc', minRingSize: total, maxRingSize: total }).pointsPerHost, `ring of ${total}`).toEqual(counts);
    }
  });

  it.each(GRPC_ONLY)('%s: the client ring gives every host exactly its points (src/affinity buildRing)', (kind) => {
    for (const step of [1, 10, 50, 100]) {
      const { ring } = ringOf(canary(100 - step, step), kind);
      const { cluster } = stickyOf(canary(100 - step, step), kind);
      expect(ring.hashes.length).toBe(Number(cluster.ring_hash_lb_config!.maximum_ring_size!.value));
      // Each version's points, shared equally by its (equal) replicas.
      const v1 = ring.pointsPerHost.slice(0, 3);
      expect(Math.max(...v1) - Math.min(...v1)).toBeLessThanOrEqual(1);
    }
  });

  userMovementTests(GRPC_ONLY);

  it('replicas without a ring point are left out, with a warning', () => {
    // gRPC: 1 % beside v1's 2048 points is 21 points; 60 v2 replicas cannot all have one.
    const many = canary(99, 1, { v2Hosts: eps('10.2.0', 60) });
    const { resources, warnings } = translateWithWarnings(many, staticEndpoints(many), 'grpc');
    const cla = resources.endpoints.find((c) => c.cluster_name === 'canary~main~sticky~2069')!;
    expect(cla.endpoints![0]!.lb_endpoints!.filter((l) => l.endpoint!.address!.socket_address!.address!.startsWith('10.2.'))).toHaveLength(21);
    expect(warnings).toContainEqual({
      path: 'services[canary].routes[main].stickySplit',
      message: 'v2: 39 of 60 replicas get no ring point at 21 points (its share of 2069); they get users as its share grows',
    });
  });

  it('encodes, and grpc-js-xds accepts the gRPC flavour', () => {
    for (const step of [1, 50, 100]) {
      const cfg = canary(100 - step, step);
      for (const kind of GRPC_ONLY) expect(() => toReadable(translate(cfg, staticEndpoints(cfg), kind))).not.toThrow();
      expect(grpcXdsErrors(translate(cfg, staticEndpoints(cfg), 'grpc'))).toEqual([]);
    }
  });
});
