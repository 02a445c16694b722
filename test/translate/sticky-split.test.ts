/**
 * Sticky canary (stickySplit): what translate emits, and — with src/affinity's exact model of
 * Envoy's and grpc-js-xds's ring — that every user stays on one version at each step and, as
 * the canary grows 1 % → 10 % → 50 % → 100 %, only ever moves from v1 to v2. Ring mode is the
 * synthetic ring for gRPC and for Envoys before 1.36 (RING_TARGETS), and weighted clusters with
 * use_hash_policy for the current Envoy API ('envoy').
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRing, initHashing, ringPick, syntheticHashes } from '../../src/affinity';
import type { TetherConfig } from '../../src/model/types';
import { NODE_TARGETS, staticEndpoints, targetKind, toReadable, translate, translateWithWarnings, type NodeTarget } from '../../src/translate';
import { apportion } from '../../src/translate/apportion';
import { STICKY_RING_POINTS } from '../../src/translate/sticky-split';
import { backend, backendRef, config, route, service } from './fixtures';
import { canary, endpointsOf, eps, ringOf, STICKY, stickyOf, userMovementTests } from './sticky-canary';
import { grpcXdsErrors } from './grpc-xds-validator';

beforeAll(() => initHashing());

/** Envoys without WeightedCluster.use_hash_policy get the synthetic ring, like gRPC. */
const ENVOY_RING: NodeTarget = 'envoy-pre-1.35';
// gRPC's synthetic ring (sized per version) is tested in sticky-split-grpc.test.ts.
const RING_TARGETS: readonly NodeTarget[] = ['envoy-pre-1.35'];
const points = (target: NodeTarget): number => STICKY_RING_POINTS[targetKind(target)];

describe('stickySplit (ring mode): the synthetic ring (gRPC, Envoy < 1.36)', () => {
  it('one synthetic cluster over every version, the route points at it, hash policy kept', () => {
    for (const kind of [...RING_TARGETS, 'envoy-1.35' as const]) {
      const out = translate(canary(90, 10), staticEndpoints(canary(90, 10)), kind);
      const action = out.routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
      expect(action.cluster).toBe(STICKY);
      expect(action.weighted_clusters).toBeUndefined();
      expect(action.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
      expect(out.clusters.map((c) => c.name)).toEqual(['canary~main~sticky', 'v1', 'v2']);
      // The sticky cluster's ring is fixed (T points); v1's and v2's own stable rings read
      // assignments named after their shape (3 and 2 replicas).
      const k = kind === 'grpc' ? 256 : 1024;
      expect(out.endpoints.map((c) => c.cluster_name)).toEqual(['canary~main~sticky', `v1~ring${3 * k}`, `v2~ring${2 * k}`]);
      const { cluster } = stickyOf(canary(90, 10), kind);
      expect(cluster).toMatchObject({
        type: 'EDS',
        eds_cluster_config: { service_name: STICKY },
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: {
          minimum_ring_size: { value: String(points(kind)) },
          maximum_ring_size: { value: kind === 'grpc' ? '4096' : '8388608' },
        },
      });
    }
  });

  it.each(RING_TARGETS)('%s: the weights are whole ring points that add up to the ring size, a power of two', (kind) => {
    const T = points(kind);
    expect(Math.log2(T) % 1).toBe(0);
    for (const step of [1, 10, 33, 50, 99, 100]) {
      const weights = endpointsOf(stickyOf(canary(100 - step, step), kind).cla).map((e) => e.weight);
      expect(weights.reduce((a, b) => a + b, 0)).toBe(T);
      const v2 = endpointsOf(stickyOf(canary(100 - step, step), kind).cla)
        .filter((e) => e.ip.startsWith('10.2.'))
        .reduce((a, e) => a + e.weight, 0);
      expect(Math.abs(v2 - (T * step) / 100)).toBeLessThanOrEqual(1);
    }
  });

  it.each(RING_TARGETS)('%s: the client ring gives every host exactly its weight in points (src/affinity buildRing)', (kind) => {
    for (const step of [1, 10, 50, 100]) {
      const { ring, hosts } = ringOf(canary(100 - step, step), kind);
      expect(ring.hashes.length).toBe(points(kind));
      expect(ring.pointsPerHost).toEqual(hosts.map((h) => h.weight));
    }
  });

  userMovementTests(RING_TARGETS, points);

  it('drained replicas stay in EDS as DRAINING and count for nothing; replicas without a point are left out, with a warning', () => {
    const v2Hosts = [...eps('10.2.0', 2), { host: '10.2.0.9', port: 8080, weight: 1, drain: true }];
    const cfg = canary(99, 1, { v1Hosts: eps('10.1.0', 3), v2Hosts });
    const lbs = stickyOf(cfg, ENVOY_RING).cla.endpoints![0]!.lb_endpoints!;
    const drained = lbs.filter((l) => l.health_status === 'DRAINING');
    expect(drained.map((l) => l.endpoint!.address!.socket_address!.address)).toEqual(['10.2.0.9']);
    expect(lbs.filter((l) => l.health_status !== 'DRAINING').reduce((a, l) => a + l.load_balancing_weight!.value!, 0)).toBe(131_072);
    // gRPC's share of points per replica: sticky-split-grpc.test.ts.
  });

  it('per-backend header operations are never applied to the shared cluster', () => {
    const cfg = canary(50, 50);
    cfg.services[0]!.routes[0]!.backends[1]!.responseHeaders = { set: [{ name: 'version', value: 'v2' }], add: [], remove: [] };
    cfg.services[0]!.routes[0]!.responseHeaders = { set: [{ name: 'x-canary', value: 'sticky' }], add: [], remove: [] };
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), ENVOY_RING);
    const r = resources.routes[0]!.virtual_hosts![0]!.routes![0]!;
    expect(r.response_headers_to_add).toEqual([{ header: { key: 'x-canary', value: 'sticky' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    expect(warnings.map((w) => w.path)).toContain('services[canary].routes[main].backends');
  });

  it('bounded load of a member backend is not applied, with a warning', () => {
    const cfg = canary(50, 50);
    cfg.backends[0]!.balancer = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable', hashBalanceFactor: 150 };
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), ENVOY_RING);
    expect(resources.clusters.find((c) => c.name === STICKY)!.common_lb_config).toBeUndefined();
    expect(warnings.filter((w) => w.path === 'services[canary].routes[main].stickySplit').map((w) => w.message)).toContainEqual(expect.stringMatching(/hashBalanceFactor of v1 not applied/));
  });

  it('encodes, and grpc-js-xds accepts the gRPC flavour', () => {
    for (const step of [1, 50, 100]) {
      const cfg = canary(100 - step, step);
      for (const kind of NODE_TARGETS) expect(() => toReadable(translate(cfg, staticEndpoints(cfg), kind))).not.toThrow();
      expect(grpcXdsErrors(translate(cfg, staticEndpoints(cfg), 'grpc'))).toEqual([]);
    }
  });
});

/** Envoy's WeightedClusterSpecifierPlugin: `value % total` falls into a cumulative weight range. */
function weightedPick(clusters: ReadonlyArray<{ name?: string; weight?: { value?: number } | null }>, value: bigint): string {
  const total = clusters.reduce((a, c) => a + BigInt(c.weight!.value!), 0n);
  const selected = value % total;
  let end = 0n;
  for (const c of clusters) {
    end += BigInt(c.weight!.value!);
    if (selected < end) return c.name!;
  }
  throw new Error('no cluster');
}

/** A backend's own cluster as src/affinity's ring (what Envoy builds from its CDS + EDS). */
function backendRing(cfg: TetherConfig, name: string) {
  const out = translate(cfg, staticEndpoints(cfg), 'envoy');
  const cluster = out.clusters.find((c) => c.name === name)!;
  // The cluster reads its endpoints under its EDS service_name (a stable ring's names its shape).
  const assignment = cluster.eds_cluster_config?.service_name || name;
  const hosts = endpointsOf(out.endpoints.find((c) => c.cluster_name === assignment)!).map((e) => ({ address: `${e.ip}:${e.port}`, key: `${e.ip}:${e.port}`, weight: e.weight }));
  return buildRing(hosts, {
    flavour: 'envoy',
    minRingSize: Number(cluster.ring_hash_lb_config!.minimum_ring_size!.value),
    maxRingSize: Number(cluster.ring_hash_lb_config!.maximum_ring_size!.value),
  });
}

describe('stickySplit (ring mode) on Envoy ≥ 1.36: weighted clusters with use_hash_policy', () => {
  it('the route keeps both backends, scaled to 10,000, picked by the route hash; no synthetic cluster, no warning', () => {
    const cfg = canary(90, 10);
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy');
    const action = resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
    expect(action.weighted_clusters).toEqual({
      clusters: [
        { name: 'v1', weight: { value: 9000 } },
        { name: 'v2', weight: { value: 1000 } },
      ],
      use_hash_policy: { value: true },
    });
    expect(action.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
    expect(resources.clusters.map((c) => c.name)).toEqual(['v1', 'v2']);
    expect(warnings).toEqual([]);
  });

  it('older Envoys get the synthetic ring, with a warning naming their level', () => {
    for (const [target, label] of [
      ['envoy-1.35', 'Envoy 1.35'],
      ['envoy-pre-1.35', 'Envoy before 1.35'],
    ] as const) {
      const cfg = canary(90, 10);
      const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), target);
      expect(resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!.cluster).toBe(STICKY);
      expect(warnings).toContainEqual({
        path: 'services[canary].routes[main].stickySplit',
        message: expect.stringMatching(new RegExp(`^${label} has no WeightedCluster.use_hash_policy \\(Envoy 1.36\\): these Envoys get ring mode`)),
      });
    }
  });

  it('a service with strong stickiness keeps the synthetic ring: its pins must reach every version', () => {
    const cfg = canary(90, 10);
    cfg.services[0]!.affinity!.strong = { session: { kind: 'cookie', name: 'pin' }, strict: false };
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy');
    expect(resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!.cluster).toBe(STICKY);
    expect(warnings.filter((w) => w.message.includes('use_hash_policy'))).toEqual([]);
  });

  it("20,000 users, 1 → 10 → 50 → 100 %: one version per step, only v1 → v2, and a user staying on v1 keeps its replica (Envoy's pick, exactly)", () => {
    const users = syntheticHashes(20_000, 'user');
    const history = users.map(() => [] as string[]);
    const v1Replica = new Map<number, string>();
    let replicaMoves = 0;
    for (const step of [1, 10, 50, 100]) {
      const cfg = canary(100 - step, step);
      const action = translate(cfg, staticEndpoints(cfg), 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
      const clusters = action.weighted_clusters?.clusters ?? [{ name: action.cluster!, weight: { value: 1 } }];
      const rings = new Map(clusters.map((c) => [c.name!, backendRing(cfg, c.name!)]));
      let onV2 = 0;
      users.forEach((h, i) => {
        const version = weightedPick(clusters, h);
        const replica = ringPick(rings.get(version)!, h)!;
        if (version === 'v2') onV2++;
        else {
          if (v1Replica.has(i) && v1Replica.get(i) !== replica) replicaMoves++;
          v1Replica.set(i, replica);
        }
        history[i]!.push(version);
      });
      expect(Math.abs((onV2 / users.length) * 100 - step)).toBeLessThan(step === 1 ? 1 : 2);
    }
    for (const versions of history) {
      const first = versions.indexOf('v2');
      if (first >= 0) expect(versions.slice(first).every((v) => v === 'v2')).toBe(true);
    }
    expect(history.every((v) => v[3] === 'v2')).toBe(true);
    expect(replicaMoves).toBe(0);
  });

  it('scaling v2 at a fixed split moves no user across versions (the version depends on the hash and weights only)', () => {
    const users = syntheticHashes(5_000, 'scale');
    const two = canary(70, 30);
    const three = canary(70, 30, { v2Hosts: eps('10.2.0', 3) });
    const clustersTwo = translate(two, staticEndpoints(two), 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!.weighted_clusters!.clusters!;
    const clustersThree = translate(three, staticEndpoints(three), 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!.weighted_clusters!.clusters!;
    expect(clustersThree).toEqual(clustersTwo);
    expect(users.filter((h) => weightedPick(clustersTwo, h) !== weightedPick(clustersThree, h))).toEqual([]);
  });
});

describe('stickySplit (header mode)', () => {
  it('Envoy: weighted clusters scaled to 10,000 in route order, header_name set, per-backend headers kept', () => {
    const cfg = canary(97, 3, { mode: 'header' });
    cfg.services[0]!.routes[0]!.backends[1]!.responseHeaders = { set: [{ name: 'version', value: 'v2' }], add: [], remove: [] };
    const action = translate(cfg, staticEndpoints(cfg), 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
    expect(action.weighted_clusters).toEqual({
      clusters: [
        { name: 'v1', weight: { value: 9700 } },
        {
          name: 'v2',
          weight: { value: 300 },
          response_headers_to_add: [{ header: { key: 'version', value: 'v2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        },
      ],
      header_name: 'x-tether-bucket',
    });
    expect(action.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
    expect(translate(cfg, staticEndpoints(cfg), 'envoy').clusters.map((c) => c.name)).toEqual(['v1', 'v2']);
  });

  it('Envoy: a bucket (value % 10,000) only moves to later backends as the split shifts (cumulative rounding)', () => {
    const pick = (weights: number[], bucket: number): number => {
      const cfg = config(
        [service('s', [route('r', weights.map((w, i) => backendRef(`b${i}`, w)), { stickySplit: { mode: 'header', header: 'x-b' } })], { affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] } })],
        weights.map((_, i) => backend(`b${i}`)),
      );
      const clusters = translate(cfg, staticEndpoints(cfg), 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!.weighted_clusters!.clusters!;
      let end = 0;
      for (const c of clusters) {
        end += c.weight!.value!;
        if (bucket % end === bucket && bucket < end) return Number(c.name!.slice(1));
      }
      throw new Error('no cluster');
    };
    const steps = [
      [98, 1, 1],
      [90, 7, 3],
      [70, 20, 10],
      [40, 35, 25],
      [10, 30, 60],
      [1, 2, 97],
    ];
    for (let bucket = 0; bucket < 10_000; bucket += 7) {
      let last = -1;
      for (const w of steps) {
        const got = pick(w, bucket);
        expect(got).toBeGreaterThanOrEqual(last);
        last = got;
      }
    }
  });

  it('gRPC: falls back to the ring mode, with a warning', () => {
    const cfg = canary(90, 10, { mode: 'header' });
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'grpc');
    expect(resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!.cluster).toBe(STICKY);
    expect(warnings[0]).toEqual({
      path: 'services[canary].routes[main].stickySplit',
      message: 'gRPC clients pick weighted clusters at random (grpc-js-xds ignores header_name): ring mode, one cluster over all versions, instead',
    });
    expect(grpcXdsErrors(resources)).toEqual([]);
  });
});

describe('apportion (Webster, seat by seat)', () => {
  it('adds up, and is proportional for exact shares', () => {
    expect(apportion([1, 1, 2], 4096)).toEqual([1024, 1024, 2048]);
    expect(apportion([99, 1], 4096)).toEqual([4055, 41]);
    expect(apportion([0, 5], 10)).toEqual([0, 10]);
    expect(apportion([0, 0], 10)).toEqual([0, 0]);
    expect(apportion([1, 1, 1], 4096).reduce((a, b) => a + b)).toBe(4096);
  });

  it('house monotone: one more seat never takes one from anybody', () => {
    const weights = [7, 3, 11, 1, 5];
    let previous = apportion(weights, 0);
    for (let seats = 1; seats <= 300; seats++) {
      const next = apportion(weights, seats);
      next.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(previous[i]!));
      previous = next;
    }
  });

  it('two parties: the growing one never loses a seat', () => {
    let previous = 0;
    for (let share = 0; share <= 1000; share++) {
      const [, grown] = apportion([1000 - share, share], 4096);
      expect(grown!).toBeGreaterThanOrEqual(previous);
      previous = grown!;
    }
  });
});
