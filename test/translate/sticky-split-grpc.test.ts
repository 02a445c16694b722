/**
 * Sticky canary (stickySplit): what translate emits, and — with src/affinity's exact model of
 * Envoy's and grpc-js-xds's ring — that every user stays on one version at each step and, as
 * the canary grows 1 % → 10 % → 50 % → 100 %, only ever moves from v1 to v2.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRing, initHashing, ringPick, syntheticHashes, type AffinityEndpoint, type Flavour } from '../../src/affinity';
import type { ClusterLoadAssignment } from '../../src/envoy/messages';
import type { Cluster } from '../../src/envoy/messages';
import type { EndpointSpec, TetherConfig } from '../../src/model/types';
import { staticEndpoints, toReadable, translate, translateWithWarnings, type NodeKind } from '../../src/translate';
import { apportion } from '../../src/translate/apportion';
import { exactRingWeights, LARGEST_POINTS, versionPoints } from '../../src/translate/sticky-points';
import { backend, backendRef, config, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

beforeAll(() => initHashing());

const STICKY = 'canary~main~sticky';
const eps = (prefix: string, n: number, weight = 1): EndpointSpec[] =>
  Array.from({ length: n }, (_, i) => ({ host: `${prefix}.${i + 1}`, port: 8080, weight, drain: false }));

function canary(v1: number, v2: number, opts: { v1Hosts?: EndpointSpec[]; v2Hosts?: EndpointSpec[]; mode?: 'ring' | 'header' } = {}): TetherConfig {
  const split = opts.mode === 'header' ? { mode: 'header' as const, header: 'x-tether-bucket' } : { mode: 'ring' as const };
  return config(
    [
      service('canary', [route('main', [backendRef('v1', v1), backendRef('v2', v2)], { stickySplit: split })], {
        affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] },
      }),
    ],
    [
      backend('v1', { endpoints: opts.v1Hosts ?? eps('10.1.0', 3), balancer: { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' } }),
      backend('v2', { endpoints: opts.v2Hosts ?? eps('10.2.0', 2), balancer: { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' } }),
    ],
  );
}

function stickyOf(cfg: TetherConfig, kind: NodeKind): { cluster: Cluster; cla: ClusterLoadAssignment } {
  const out = translate(cfg, staticEndpoints(cfg), kind);
  const cluster = out.clusters.find((c) => c.name === STICKY)!;
  return { cluster, cla: out.endpoints.find((c) => c.cluster_name === cluster.eds_cluster_config!.service_name)! };
}

/** The served assignment as src/affinity takes it (what explain does with a served cluster). */
function endpointsOf(cla: ClusterLoadAssignment): AffinityEndpoint[] {
  return (cla.endpoints ?? []).flatMap((l) =>
    (l.lb_endpoints ?? []).map((lb) => ({
      ip: lb.endpoint!.address!.socket_address!.address!,
      port: lb.endpoint!.address!.socket_address!.port_value!,
      weight: lb.load_balancing_weight!.value!,
      ...(lb.health_status === 'DRAINING' ? { drain: true } : {}),
    })),
  );
}

function ringOf(cfg: TetherConfig, kind: NodeKind) {
  const { cluster, cla } = stickyOf(cfg, kind);
  const endpoints = endpointsOf(cla);
  const flavour: Flavour = kind;
  const hosts = endpoints.filter((e) => !e.drain).map((e) => ({ address: `${e.ip}:${e.port}`, key: `${e.ip}:${e.port}`, weight: e.weight }));
  const ring = buildRing(hosts, {
    flavour,
    minRingSize: Number(cluster.ring_hash_lb_config!.minimum_ring_size!.value),
    maxRingSize: Number(cluster.ring_hash_lb_config!.maximum_ring_size!.value),
  });
  return { ring, hosts };
}

const versionOf = (address: string | undefined): string => (address?.startsWith('10.2.') ? 'v2' : 'v1');

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

  it.each(GRPC_ONLY)('%s: 20,000 users, 1 → 10 → 50 → 100 %%: each on one version per step, never back from v2 to v1', (kind) => {
    const users = syntheticHashes(20_000, 'user');
    const history = users.map(() => [] as string[]);
    for (const step of [1, 10, 50, 100]) {
      const { ring } = ringOf(canary(100 - step, step), kind);
      const again = ringOf(canary(100 - step, step), kind).ring;
      let onV2 = 0;
      users.forEach((h, i) => {
        const address = ringPick(ring, h);
        expect(ringPick(again, h)).toBe(address); // stable per user at each step
        const version = versionOf(address);
        if (version === 'v2') onV2++;
        history[i]!.push(version);
      });
      expect(Math.abs((onV2 / users.length) * 100 - step)).toBeLessThan(step === 1 ? 1 : 3);
    }
    for (const versions of history) {
      const first = versions.indexOf('v2');
      if (first >= 0) expect(versions.slice(first).every((v) => v === 'v2')).toBe(true);
    }
    expect(history.every((v) => v[3] === 'v2')).toBe(true);
  });

  it.each(GRPC_ONLY)('%s: growing the canary only adds v2 entries and removes v1 entries', (kind) => {
    let previous = ringOf(canary(99, 1), kind).ring;
    for (const step of [5, 10, 50, 99, 100]) {
      const next = ringOf(canary(100 - step, step), kind).ring;
      const entries = (r: typeof next) => new Map([...r.hashes].map((h, i) => [h, r.hosts[r.owners[i]!]!.address]));
      const before = entries(previous);
      const after = entries(next);
      for (const [h, address] of after) if (!before.has(h)) expect(versionOf(address)).toBe('v2');
      for (const [h, address] of before) if (!after.has(h)) expect(versionOf(address)).toBe('v1');
      previous = next;
    }
  });

  it.each(GRPC_ONLY)('%s: scaling v2 from 2 to 3 replicas at a fixed split moves users within and, by up to the re-shared points, across versions', (kind) => {
    const users = syntheticHashes(20_000, 'scale');
    for (const [v1, v2] of [
      [90, 10],
      [70, 30],
      [50, 50],
    ] as const) {
      const two = ringOf(canary(v1, v2), kind);
      const three = ringOf(canary(v1, v2, { v2Hosts: eps('10.2.0', 3) }), kind);
      // The points v2's first two replicas give up to the third (the rest of the ring is unchanged).
      const reshared = two.ring.pointsPerHost.slice(3).reduce((a, p, i) => a + p - three.ring.pointsPerHost[3 + i]!, 0);
      let across = 0;
      let within = 0;
      for (const h of users) {
        const a = ringPick(two.ring, h);
        const b = ringPick(three.ring, h);
        if (a === b) continue;
        if (versionOf(a) === versionOf(b)) within++;
        else across++;
      }
      const T = two.ring.hashes.length;
      expect(three.ring.hashes.length).toBe(T);
      console.info(`${kind} ${v1}/${v2}: v2 2 → 3 replicas: ${(within / users.length * 100).toFixed(1)} % moved within v2, ${(across / users.length * 100).toFixed(1)} % across versions (re-shared ${(reshared / T * 100).toFixed(1)} % of the ring)`);
      expect(within).toBeGreaterThan(0);
      // A user changes version only if its entry was one of the re-shared points, or the new
      // replica's entries now come first: at most twice the re-shared share (sampling slack).
      expect(across / users.length).toBeLessThan((2 * reshared) / T + 0.01);
    }
  });

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
