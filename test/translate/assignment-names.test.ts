/**
 * A stable ring's ClusterLoadAssignment is named after its ring shape (translate/
 * assignment-names.ts), so a scale event gives the cluster a new assignment instead of new
 * endpoints under its old size. What makes that atomic: an assignment name always goes with the
 * same Cluster (so with the same ring size), and the Cluster's service_name and the assignment
 * agree; the cluster, and the routes to it, keep the backend's name.
 */
import { describe, expect, it } from 'vitest';
import type { BalancerSpec, EndpointSpec, TetherConfig } from '../../src/model/types';
import { NODE_KINDS, staticEndpoints, translate, type NodeKind } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

const STABLE: BalancerSpec = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' };
const host = (i: number, weight = 1, drain = false): EndpointSpec => ({ host: `10.0.0.${i}`, port: 8080, weight, drain });
const hosts = (n: number): EndpointSpec[] => Array.from({ length: n }, (_, i) => host(i + 1));
/** K: ring entries per replica of equal weight. */
const K: Record<NodeKind, number> = { envoy: 1024, grpc: 256 };

/** Service shop: `/split` 50/50 over shop-v1 and shop-v2, everything else to shop-v1. */
function shop(v1: EndpointSpec[], balancer: BalancerSpec = STABLE): TetherConfig {
  const split = route('split', [backendRef('shop-v1', 50), backendRef('shop-v2', 50)], { match: { path: { prefix: '/split' }, headers: [], queryParams: [] } });
  return config(
    [service('shop', [split, route('all', [backendRef('shop-v1')])], { affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] } })],
    [backend('shop-v1', { endpoints: v1, balancer }), backend('shop-v2', { endpoints: hosts(2), balancer: STABLE })],
  );
}

function served(cfg: TetherConfig, kind: NodeKind) {
  const out = translate(cfg, staticEndpoints(cfg), kind);
  const actions = out.routes[0]!.virtual_hosts!.find((vh) => vh.name === 'shop')!.routes!.map((r) => r.route!);
  const v1 = out.clusters.find((c) => c.name === 'shop-v1')!;
  return {
    out,
    routed: [...actions[0]!.weighted_clusters!.clusters!.map((c) => c.name), actions[1]!.cluster],
    clusters: out.clusters.map((c) => c.name),
    serviceNames: out.clusters.map((c) => c.eds_cluster_config!.service_name),
    assignments: out.endpoints.map((e) => e.cluster_name),
    v1,
    v1Assignment: v1.eds_cluster_config!.service_name!,
  };
}

describe('assignment names per ring shape', () => {
  it('names a stable ring’s assignment after its minimum_ring_size; the cluster and the routes keep the backend’s name', () => {
    for (const kind of NODE_KINDS) {
      const s = served(shop(hosts(3)), kind);
      expect(s.routed).toEqual(['shop-v1', 'shop-v2', 'shop-v1']);
      expect(s.clusters).toEqual(['shop-v1', 'shop-v2']);
      const expected = [`shop-v1~ring${3 * K[kind]}`, `shop-v2~ring${2 * K[kind]}`];
      expect(s.serviceNames).toEqual(expected);
      expect(s.assignments).toEqual(expected);
    }
    expect(grpcXdsErrors(served(shop(hosts(3)), 'grpc').out)).toEqual([]);
  });

  it('a scale event names a new assignment; a change that keeps the ring size (a replica replaced, drained or weights traded) keeps it', () => {
    const name = (v1: EndpointSpec[]) => served(shop(v1), 'grpc').v1Assignment;
    expect(name(hosts(3))).toBe('shop-v1~ring768');
    expect(name(hosts(4))).toBe('shop-v1~ring1024');
    expect(name(hosts(2))).toBe('shop-v1~ring512');
    expect(name([host(1), host(2), host(9)])).toBe('shop-v1~ring768');
    // Drained endpoints are not in the ring, so they do not count.
    expect(name([...hosts(3), host(4, 1, true)])).toBe('shop-v1~ring768');
    expect(name([host(1), host(2, 2)])).toBe('shop-v1~ring768');
  });

  it('one assignment name, one Cluster: every endpoint set whose assignment has a name gets the same Cluster with it', () => {
    const sets: EndpointSpec[][] = [
      hosts(1),
      hosts(2),
      hosts(3),
      hosts(4),
      hosts(16),
      hosts(17), // gRPC: past the 4096 cap, pinned at the cap
      hosts(20),
      [host(1), host(2, 2)],
      [host(1, 2), host(2)],
      [host(1, 3), host(2, 3), host(3, 3)],
      [...hosts(2), host(3, 1, true)],
      [host(1, 1, true)],
      [],
    ];
    for (const kind of NODE_KINDS) {
      const byAssignment = new Map<string, string>();
      for (const v1 of sets) {
        const s = served(shop(v1), kind);
        const body = JSON.stringify(s.v1);
        const seen = byAssignment.get(s.v1Assignment);
        if (seen !== undefined) expect(body, `${kind} ${s.v1Assignment} for ${JSON.stringify(v1)}`).toBe(seen);
        byAssignment.set(s.v1Assignment, body);
      }
      expect(byAssignment.size, kind).toBeGreaterThan(4);
    }
  });

  it('keeps the backend’s name for balancers whose Cluster does not follow the endpoints', () => {
    const fixed: BalancerSpec = { type: 'ring_hash', minRingSize: 2048, maxRingSize: 4096, ring: 'fixed' };
    for (const kind of NODE_KINDS) {
      for (const balancer of [fixed, { type: 'maglev', tableSize: 65537 }, { type: 'round_robin' }] as BalancerSpec[]) {
        expect(served(shop(hosts(3), balancer), kind).v1Assignment, `${kind} ${balancer.type}`).toBe('shop-v1');
      }
    }
  });
});
