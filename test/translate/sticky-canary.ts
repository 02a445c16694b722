/**
 * The canary config, the served sticky ring read back through src/affinity, and the tests of
 * user movement on it, shared by sticky-split.test.ts (Envoys with the synthetic ring) and
 * sticky-split-grpc.test.ts (gRPC nodes): one ring model, run for each client.
 */
import { expect, it } from 'vitest';
import { buildRing, ringPick, syntheticHashes, type AffinityEndpoint } from '../../src/affinity';
import type { Cluster, ClusterLoadAssignment } from '../../src/envoy/messages';
import type { EndpointSpec, TetherConfig } from '../../src/model/types';
import { staticEndpoints, targetKind, translate, type NodeTarget } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';

export const STICKY = 'canary~main~sticky';

export const eps = (prefix: string, n: number, weight = 1): EndpointSpec[] =>
  Array.from({ length: n }, (_, i) => ({ host: `${prefix}.${i + 1}`, port: 8080, weight, drain: false }));

export function canary(v1: number, v2: number, opts: { v1Hosts?: EndpointSpec[]; v2Hosts?: EndpointSpec[]; mode?: 'ring' | 'header' } = {}): TetherConfig {
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

/** The sticky cluster and the assignment it reads (gRPC's is named after its ring size). */
export function stickyOf(cfg: TetherConfig, target: NodeTarget): { cluster: Cluster; cla: ClusterLoadAssignment } {
  const out = translate(cfg, staticEndpoints(cfg), target);
  const cluster = out.clusters.find((c) => c.name === STICKY)!;
  return { cluster, cla: out.endpoints.find((c) => c.cluster_name === cluster.eds_cluster_config!.service_name)! };
}

/** The served assignment as src/affinity takes it (what explain does with a served cluster). */
export function endpointsOf(cla: ClusterLoadAssignment): AffinityEndpoint[] {
  return (cla.endpoints ?? []).flatMap((l) =>
    (l.lb_endpoints ?? []).map((lb) => ({
      ip: lb.endpoint!.address!.socket_address!.address!,
      port: lb.endpoint!.address!.socket_address!.port_value!,
      weight: lb.load_balancing_weight!.value!,
      ...(lb.health_status === 'DRAINING' ? { drain: true } : {}),
    })),
  );
}

/** The ring the client builds from the served cluster and assignment (its own flavour). */
export function ringOf(cfg: TetherConfig, target: NodeTarget) {
  const { cluster, cla } = stickyOf(cfg, target);
  const endpoints = endpointsOf(cla);
  const hosts = endpoints.filter((e) => !e.drain).map((e) => ({ address: `${e.ip}:${e.port}`, key: `${e.ip}:${e.port}`, weight: e.weight }));
  const ring = buildRing(hosts, {
    flavour: targetKind(target),
    minRingSize: Number(cluster.ring_hash_lb_config!.minimum_ring_size!.value),
    maxRingSize: Number(cluster.ring_hash_lb_config!.maximum_ring_size!.value),
  });
  return { ring, hosts };
}

export const versionOf = (address: string | undefined): string => (address?.startsWith('10.2.') ? 'v2' : 'v1');

/**
 * How users move on the sticky ring of each of `targets` as the canary grows and as v2 scales.
 * `ringSize`, when the target's ring has a fixed size, is checked against the ring built.
 */
export function userMovementTests(targets: readonly NodeTarget[], ringSize?: (target: NodeTarget) => number): void {
  it.each(targets)('%s: 20,000 users, 1 → 10 → 50 → 100 %%: each on one version per step, never back from v2 to v1', (kind) => {
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

  it.each(targets)('%s: growing the canary only adds v2 entries and removes v1 entries', (kind) => {
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

  it.each(targets)('%s: scaling v2 from 2 to 3 replicas at a fixed split moves users within and, by up to the re-shared points, across versions', (kind) => {
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
      if (ringSize) expect(T).toBe(ringSize(kind));
      expect(three.ring.hashes.length).toBe(T);
      console.info(`${kind} ${v1}/${v2}: v2 2 → 3 replicas: ${(within / users.length * 100).toFixed(1)} % moved within v2, ${(across / users.length * 100).toFixed(1)} % across versions (re-shared ${(reshared / T * 100).toFixed(1)} % of the ring)`);
      expect(within).toBeGreaterThan(0);
      // A user changes version only if its entry was one of the re-shared points, or the new
      // replica's entries now come first: at most twice the re-shared share (sampling slack).
      expect(across / users.length).toBeLessThan((2 * reshared) / T + 0.01);
    }
  });
}
