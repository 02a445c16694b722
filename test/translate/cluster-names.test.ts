/**
 * gRPC nodes get a stable ring as one cluster per ring shape (translate/cluster-names.ts), so
 * that a scale event is a route change to a complete cluster, never a ring size applied to the
 * old endpoints. What makes that atomic: a name always carries the same Cluster, and the route,
 * the Cluster, its EDS service_name and its ClusterLoadAssignment agree on the name.
 */
import { describe, expect, it } from 'vitest';
import type { BalancerSpec, EndpointSpec, TetherConfig } from '../../src/model/types';
import { staticEndpoints, translate, type NodeKind } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

const STABLE: BalancerSpec = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' };
const host = (i: number, weight = 1, drain = false): EndpointSpec => ({ host: `10.0.0.${i}`, port: 8080, weight, drain });
const hosts = (n: number): EndpointSpec[] => Array.from({ length: n }, (_, i) => host(i + 1));

/** Service shop: `/split` 50/50 over shop-v1 and shop-v2, everything else to shop-v1. */
function shop(v1: EndpointSpec[], balancer: BalancerSpec = STABLE, v2: EndpointSpec[] = hosts(2)): TetherConfig {
  return config(
    [
      service('shop', [route('split', [backendRef('shop-v1', 50), backendRef('shop-v2', 50)], { match: { path: { prefix: '/split' }, headers: [], queryParams: [] } }), route('all', [backendRef('shop-v1')])], {
        affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] },
      }),
    ],
    [backend('shop-v1', { endpoints: v1, balancer }), backend('shop-v2', { endpoints: v2, balancer: STABLE })],
  );
}

function served(cfg: TetherConfig, kind: NodeKind) {
  const out = translate(cfg, staticEndpoints(cfg), kind);
  const actions = out.routes[0]!.virtual_hosts![0]!.routes!.map((r) => r.route!);
  return {
    out,
    split: actions[0]!.weighted_clusters!.clusters!.map((c) => c.name),
    all: actions[1]!.cluster,
    clusters: out.clusters.map((c) => c.name),
    serviceNames: out.clusters.map((c) => c.eds_cluster_config!.service_name),
    assignments: out.endpoints.map((e) => e.cluster_name),
  };
}

describe('cluster names per ring shape (gRPC nodes)', () => {
  it('names a stable ring after its minimum_ring_size in routes, Cluster, EDS service_name and assignment alike', () => {
    const s = served(shop(hosts(3)), 'grpc');
    expect(s.all).toBe('shop-v1~ring768');
    expect(s.split).toEqual(['shop-v1~ring768', 'shop-v2~ring512']);
    expect(s.clusters).toEqual(['shop-v1~ring768', 'shop-v2~ring512']);
    expect(s.serviceNames).toEqual(s.clusters);
    expect(s.assignments).toEqual(s.clusters);
    expect(grpcXdsErrors(s.out)).toEqual([]);
  });

  it('a scale event changes the name; a change that keeps the ring size (a replica replaced, drained or weights traded) keeps it', () => {
    const name = (v1: EndpointSpec[]) => served(shop(v1), 'grpc').all;
    expect(name(hosts(4))).toBe('shop-v1~ring1024');
    expect(name(hosts(2))).toBe('shop-v1~ring512');
    expect(name([host(1), host(2), host(9)])).toBe('shop-v1~ring768');
    // Drained endpoints are not in the ring, so they do not count.
    expect(name([...hosts(3), host(4, 1, true)])).toBe('shop-v1~ring768');
    expect(name([host(1), host(2, 2)])).toBe('shop-v1~ring768');
  });

  it('one name, one Cluster: every endpoint set that gets a name gets the same Cluster under it', () => {
    const sets: EndpointSpec[][] = [
      hosts(1),
      hosts(2),
      hosts(3),
      hosts(4),
      hosts(16),
      hosts(17), // past the 4096 cap: pinned at the cap
      hosts(20),
      [host(1), host(2, 2)],
      [host(1, 2), host(2)],
      [host(1, 3), host(2, 3), host(3, 3)],
      [...hosts(2), host(3, 1, true)],
      [host(1, 1, true)],
      [],
    ];
    const byName = new Map<string, string>();
    for (const v1 of sets) {
      const cluster = served(shop(v1), 'grpc').out.clusters.find((c) => c.name?.startsWith('shop-v1'))!;
      const body = JSON.stringify(cluster);
      const seen = byName.get(cluster.name!);
      if (seen !== undefined) expect(body, `${cluster.name} for ${JSON.stringify(v1)}`).toBe(seen);
      byName.set(cluster.name!, body);
    }
    expect([...byName.keys()].sort()).toEqual(['shop-v1~ring1024', 'shop-v1~ring256', 'shop-v1~ring4096', 'shop-v1~ring512', 'shop-v1~ring768']);
  });

  it('keeps the backend name on Envoy nodes, and for balancers whose Cluster does not follow the endpoints', () => {
    const envoy = served(shop(hosts(3)), 'envoy');
    expect([envoy.all, ...envoy.split, ...envoy.clusters, ...envoy.assignments]).toEqual(['shop-v1', 'shop-v1', 'shop-v2', 'shop-v1', 'shop-v2', 'shop-v1', 'shop-v2']);
    const fixed: BalancerSpec = { type: 'ring_hash', minRingSize: 2048, maxRingSize: 4096, ring: 'fixed' };
    for (const balancer of [fixed, { type: 'maglev', tableSize: 65537 }, { type: 'round_robin' }] as BalancerSpec[]) {
      expect(served(shop(hosts(3), balancer), 'grpc').all, balancer.type).toBe('shop-v1');
    }
  });
});
