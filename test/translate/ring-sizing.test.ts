/**
 * Stable ring sizing and endpoint hash keys: what each kind of node is sent, and (with
 * src/affinity's exact ring) that scaling moves only the sessions of the replica that comes
 * or goes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRing, initHashing, ringPick, syntheticHashes } from '../../src/affinity';
import type { BalancerSpec, EndpointSpec, TetherConfig } from '../../src/model/types';
import { NODE_KINDS, staticEndpoints, toReadable, translate, translateWithWarnings, type NodeKind, type ResolvedEndpoints } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

beforeAll(() => initHashing());

const STABLE: BalancerSpec = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' };
const hosts = (n: number, weight = 1): EndpointSpec[] => Array.from({ length: n }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 8080, weight, drain: false }));

function sticky(endpoints: EndpointSpec[], balancer: BalancerSpec = STABLE): TetherConfig {
  return config(
    [service('shop', [route('all', [backendRef('shop-v1')])], { affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] } })],
    [backend('shop-v1', { endpoints, balancer })],
  );
}

function sizes(cfg: TetherConfig, kind: NodeKind, endpoints: ResolvedEndpoints = staticEndpoints(cfg)): [number, number] {
  const c = translate(cfg, endpoints, kind).clusters[0]!;
  return [Number(c.ring_hash_lb_config!.minimum_ring_size!.value), Number(c.ring_hash_lb_config!.maximum_ring_size!.value)];
}

describe('stable ring sizes', () => {
  it('K × total weight / smallest weight: Envoy K = 1024 (max 8M), gRPC K = 256 (max 4096)', () => {
    expect(sizes(sticky(hosts(3)), 'envoy')).toEqual([3072, 8388608]);
    expect(sizes(sticky(hosts(3)), 'grpc')).toEqual([768, 4096]);
    expect(sizes(sticky([...hosts(2), { host: '10.0.0.9', port: 8080, weight: 3, drain: false }]), 'envoy')).toEqual([5 * 1024, 8388608]);
    expect(sizes(sticky(hosts(4, 5)), 'grpc')).toEqual([1024, 4096]);
  });

  it('pointsPerHost sets K for both kinds', () => {
    const cfg = sticky(hosts(5), { ...STABLE, pointsPerHost: 100 });
    expect(sizes(cfg, 'envoy')).toEqual([500, 8388608]);
    expect(sizes(cfg, 'grpc')).toEqual([500, 4096]);
  });

  it('drained endpoints do not count (they are not in the ring)', () => {
    const eps = hosts(4);
    eps[1] = { ...eps[1]!, drain: true };
    expect(sizes(sticky(eps), 'envoy')).toEqual([3072, 8388608]);
    expect(sizes(sticky(eps), 'grpc')).toEqual([768, 4096]);
  });

  it('resolved addresses count, after folding duplicates; no address at all sizes for one host', () => {
    const cfg = sticky([{ host: 'shop.svc', port: 8080, weight: 1, drain: false }]);
    const resolved: ResolvedEndpoints = new Map([
      [
        'shop-v1',
        [
          { ip: '10.0.0.1', port: 8080, weight: 1, hostname: 'shop.svc' },
          { ip: '10.0.0.2', port: 8080, weight: 1, hostname: 'shop.svc' },
        ],
      ],
    ]);
    expect(sizes(cfg, 'envoy', resolved)).toEqual([2048, 8388608]);
    expect(sizes(cfg, 'envoy', new Map())).toEqual([1024, 8388608]);
  });

  it('fixed rings are sent as configured', () => {
    const cfg = sticky(hosts(3), { type: 'ring_hash', minRingSize: 2048, maxRingSize: 4096, ring: 'fixed' });
    for (const kind of NODE_KINDS) expect(sizes(cfg, kind)).toEqual([2048, 4096]);
  });

  it('gRPC: more than 16 equal replicas do not fit 4096; the ring is pinned there, with a warning', () => {
    expect(translateWithWarnings(sticky(hosts(16)), staticEndpoints(sticky(hosts(16))), 'grpc').warnings).toEqual([]);
    const cfg = sticky(hosts(17));
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'grpc');
    expect(resources.clusters[0]!.ring_hash_lb_config).toEqual({ minimum_ring_size: { value: '4096' }, maximum_ring_size: { value: '4096' } });
    expect(warnings).toEqual([
      {
        path: 'backends[shop-v1].balancer',
        message:
          'gRPC clients cap the ring at 4096 entries: a stable ring of 256 points per host does not fit these 17 replicas (weights), so it is ' +
          'pinned at 4096 and adding or removing a replica moves more sessions than its share (lower pointsPerHost to fit)',
      },
    ]);
    expect(translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy').warnings).toEqual([]);
  });

  it('Envoy: weights too uneven for 8M entries are pinned there too', () => {
    const cfg = sticky([{ host: '10.0.0.1', port: 1, weight: 1, drain: false }, { host: '10.0.0.2', port: 1, weight: 10_000, drain: false }]);
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy');
    expect(resources.clusters[0]!.ring_hash_lb_config!.minimum_ring_size).toEqual({ value: '8388608' });
    expect(warnings[0]!.message).toMatch(/^Envoy's ring is at most 8388608 entries/);
  });

  it.each(NODE_KINDS)('%s: 3 → 4 → 3 replicas moves only the new replica’s sessions, and back', (kind) => {
    const users = syntheticHashes(20_000, 'scale');
    const ringFor = (n: number) => {
      const [min, max] = sizes(sticky(hosts(n)), kind);
      return buildRing(
        hosts(n).map((h) => ({ address: `${h.host}:${h.port}`, key: `${h.host}:${h.port}`, weight: 1 })),
        { flavour: kind, minRingSize: min, maxRingSize: max },
      );
    };
    const three = ringFor(3);
    const four = ringFor(4);
    let moved = 0;
    for (const h of users) {
      const a = ringPick(three, h);
      const b = ringPick(four, h);
      if (a === b) continue;
      moved++;
      expect(b).toBe('10.0.0.4:8080');
    }
    expect(moved / users.length).toBeGreaterThan(0.2);
    expect(moved / users.length).toBeLessThan(0.3);
    expect(ringFor(3).hashes).toEqual(three.hashes);
  });
});

describe('endpoint hash keys', () => {
  const keyed = () => sticky([{ host: '10.0.0.1', port: 8080, weight: 1, drain: false, hashKey: 'shop-0' }, { host: '10.0.0.2', port: 8080, weight: 1, drain: false }]);

  it('Envoy gets envoy.lb metadata hash_key; gRPC (which hashes the address) does not', () => {
    const cfg = keyed();
    const envoy = toReadable(translate(cfg, staticEndpoints(cfg), 'envoy')).endpoints[0] as { endpoints: Array<{ lb_endpoints: Array<Record<string, unknown>> }> };
    expect(envoy.endpoints[0]!.lb_endpoints.map((e) => e.metadata)).toEqual([{ filter_metadata: { 'envoy.lb': { fields: { hash_key: { stringValue: 'shop-0' } } } } }, undefined]);
    const grpc = translate(cfg, staticEndpoints(cfg), 'grpc');
    expect(grpc.endpoints[0]!.endpoints![0]!.lb_endpoints!.map((e) => e.metadata)).toEqual([undefined, undefined]);
    expect(grpcXdsErrors(grpc)).toEqual([]);
  });

  it('a key on a DNS name that resolves to several addresses is left out for them, with a warning', () => {
    const cfg = sticky([{ host: 'shop.svc', port: 8080, weight: 1, drain: false, hashKey: 'k' }]);
    const two: ResolvedEndpoints = new Map([
      [
        'shop-v1',
        [
          { ip: '10.0.0.1', port: 8080, weight: 1, hostname: 'shop.svc' },
          { ip: '10.0.0.2', port: 8080, weight: 1, hostname: 'shop.svc' },
        ],
      ],
    ]);
    const { resources, warnings } = translateWithWarnings(cfg, two, 'envoy');
    expect(resources.endpoints[0]!.endpoints![0]!.lb_endpoints!.map((e) => e.metadata)).toEqual([undefined, undefined]);
    expect(warnings).toEqual([{ path: 'backends[shop-v1].endpoints', message: 'hashKey "k" is on a name that resolves to 2 addresses; left out for them' }]);
    const one: ResolvedEndpoints = new Map([['shop-v1', [{ ip: '10.0.0.7', port: 8080, weight: 1, hostname: 'shop.svc' }]]]);
    expect(translate(cfg, one, 'envoy').endpoints[0]!.endpoints![0]!.lb_endpoints![0]!.metadata).toEqual({
      filter_metadata: { 'envoy.lb': { fields: { hash_key: { stringValue: 'k' } } } },
    });
  });
});
