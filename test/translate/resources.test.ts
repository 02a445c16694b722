import { describe, expect, it } from 'vitest';
import { NODE_KINDS, staticEndpoints, toReadable, translate, translateWithWarnings } from '../../src/translate';
import type { ResolvedEndpoints } from '../../src/translate';
import { decodeMessage } from '../../src/envoy/encode';
import type { BalancerSpec, TetherConfig } from '../../src/model/types';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';

function twoListeners(): TetherConfig {
  return config(
    [
      service('shop', [route('r', [backendRef('shop-v1')])], { listeners: ['public'], domains: ['shop.example.com', 'www.shop.example.com'] }),
      service('admin', [route('r', [backendRef('admin')])], { listeners: ['internal'], domains: ['*'] }),
      service('both', [route('r', [backendRef('shop-v1')])], { listeners: ['public', 'internal'], domains: ['both.example.com'] }),
    ],
    [backend('shop-v1'), backend('admin', { endpoints: [{ host: 'admin.svc', port: 80, weight: 1, drain: false }] })],
    {
      listeners: [
        { name: 'public', address: '0.0.0.0', port: 10000 },
        { name: 'internal', address: '127.0.0.1', port: 10001 },
      ],
    },
  );
}

describe('Envoy listeners and route configurations', () => {
  it('a listener per ListenerSpec with an HCM using RDS over ADS, router last', () => {
    const out = translate(twoListeners(), noEndpoints, 'envoy');
    expect(out.listeners.map((l) => [l.name, l.address?.socket_address])).toEqual([
      ['internal', { address: '127.0.0.1', port_value: 10001 }],
      ['public', { address: '0.0.0.0', port_value: 10000 }],
    ]);
    const filter = out.listeners[1]!.filter_chains![0]!.filters![0]!;
    expect(filter.name).toBe('envoy.filters.network.http_connection_manager');
    const any = filter.typed_config as { type_url: string; value: Buffer };
    expect(decodeMessage(any.type_url.replace('type.googleapis.com/', ''), any.value)).toEqual({
      stat_prefix: 'public',
      rds: { route_config_name: 'public', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    });
  });

  it('a RouteConfiguration per listener, named after it, with the services attached there', () => {
    const out = translate(twoListeners(), noEndpoints, 'envoy');
    expect(out.routes.map((r) => [r.name, r.virtual_hosts!.map((v) => [v.name, v.domains])])).toEqual([
      ['internal', [['admin', ['*']], ['both', ['both.example.com']]]],
      ['public', [['shop', ['shop.example.com', 'www.shop.example.com']], ['both', ['both.example.com']]]],
    ]);
  });

  it('a domain claimed twice on one listener stays with the first service; never silently', () => {
    const cfg = config(
      [
        service('a', [route('r', [backendRef('b')])], { domains: ['x.com', 'Y.com'] }),
        service('b', [route('r', [backendRef('b')])], { domains: ['y.com', 'z.com'] }),
        service('c', [route('r', [backendRef('b')])], { domains: ['X.COM'] }),
      ],
      [backend('b')],
    );
    const { resources, warnings } = translateWithWarnings(cfg, noEndpoints, 'envoy');
    expect(resources.routes[0]!.virtual_hosts!.map((v) => [v.name, v.domains])).toEqual([
      ['a', ['x.com', 'Y.com']],
      ['b', ['z.com']],
    ]);
    expect(warnings.map((w) => w.path)).toEqual(['services[b].domains', 'services[c].domains', 'services[c]']);
  });

  it('services on no listener get no virtual host; a listener with none gets an empty table', () => {
    const cfg = config([service('s', [route('r', [backendRef('b')])], { listeners: [] })], [backend('b')]);
    expect(translate(cfg, noEndpoints, 'envoy').routes).toEqual([{ name: 'http', virtual_hosts: [], validate_clusters: { value: false } }]);
  });
});

describe('clusters', () => {
  const lbOf = (balancer: BalancerSpec) => {
    const c = translate(config([], [backend('b', { balancer })]), noEndpoints, 'envoy').clusters[0]!;
    return { lb_policy: c.lb_policy, ring: c.ring_hash_lb_config, maglev: c.maglev_lb_config, lr: c.least_request_lb_config };
  };

  it('EDS over ADS with service_name = backend name, connect timeout', () => {
    const c = translate(config([], [backend('shop-v1', { connectTimeoutMs: 250 })]), noEndpoints, 'envoy').clusters[0]!;
    expect(c).toMatchObject({
      name: 'shop-v1',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'shop-v1' },
      connect_timeout: { nanos: 250_000_000 },
    });
    expect(c.typed_extension_protocol_options).toBeUndefined();
  });

  it('each balancer', () => {
    expect(lbOf({ type: 'ring_hash', minRingSize: 2048, maxRingSize: 8192 })).toEqual({
      lb_policy: 'RING_HASH',
      ring: { minimum_ring_size: { value: '2048' }, maximum_ring_size: { value: '8192' } },
      maglev: undefined,
      lr: undefined,
    });
    expect(lbOf({ type: 'maglev', tableSize: 65537 })).toMatchObject({ lb_policy: 'MAGLEV', maglev: { table_size: { value: '65537' } } });
    expect(lbOf({ type: 'least_request', choiceCount: 3 })).toMatchObject({ lb_policy: 'LEAST_REQUEST', lr: { choice_count: { value: 3 } } });
    expect(lbOf({ type: 'round_robin' }).lb_policy).toBe('ROUND_ROBIN');
    expect(lbOf({ type: 'random' }).lb_policy).toBe('RANDOM');
  });

  it('http2 backends get explicit HTTP/2 protocol options', () => {
    const c = translate(config([], [backend('g', { protocol: 'http2' })]), noEndpoints, 'envoy');
    expect(toReadable(c).clusters[0]!.typed_extension_protocol_options).toEqual({
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    });
  });
});

describe('endpoints', () => {
  const cfg = config([], [backend('a'), backend('b'), backend('empty')]);
  const resolved: ResolvedEndpoints = new Map([
    [
      'a',
      [
        { ip: '10.0.0.2', port: 80, weight: 2, hostname: 'a.svc' },
        { ip: '10.0.0.1', port: 80, weight: 1 },
      ],
    ],
    ['b', [{ ip: '::1', port: 9000, weight: 1 }]],
  ]);

  it('one locality with weight 1, endpoints in the given order with weight and hostname', () => {
    const cla = translate(cfg, resolved, 'envoy').endpoints[0]!;
    expect(cla).toEqual({
      cluster_name: 'a',
      endpoints: [
        {
          locality: {},
          load_balancing_weight: { value: 1 },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 80 } }, hostname: 'a.svc' }, load_balancing_weight: { value: 2 } },
            { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: 1 } },
          ],
        },
      ],
    });
  });

  it('a backend without endpoints still gets an (empty) assignment', () => {
    const out = translate(cfg, resolved, 'envoy').endpoints;
    expect(out.map((c) => c.cluster_name)).toEqual(['a', 'b', 'empty']);
    expect(out[2]).toEqual({ cluster_name: 'empty', endpoints: [] });
    expect(translate(cfg, new Map([['empty', []]]), 'envoy').endpoints[2]).toEqual({ cluster_name: 'empty', endpoints: [] });
  });

  it('the same address twice (two names, one IP) is folded, weights added (grpc-js-xds NACKs duplicates)', () => {
    const dup: ResolvedEndpoints = new Map([
      [
        'a',
        [
          { ip: '10.0.0.1', port: 80, weight: 1, hostname: 'x.svc' },
          { ip: '10.0.0.2', port: 80, weight: 1 },
          { ip: '10.0.0.1', port: 80, weight: 3, hostname: 'y.svc' },
        ],
      ],
    ]);
    const { resources, warnings } = translateWithWarnings(cfg, dup, 'grpc');
    const lbs = resources.endpoints[0]!.endpoints![0]!.lb_endpoints!;
    expect(lbs.map((e) => [e.endpoint?.address?.socket_address?.address, e.load_balancing_weight?.value, e.endpoint?.hostname])).toEqual([
      ['10.0.0.1', 4, 'x.svc'],
      ['10.0.0.2', 1, undefined],
    ]);
    expect(warnings).toEqual([{ path: 'backends[a].endpoints', message: expect.stringContaining('y.svc:80') }]);
    // The input map is not mutated.
    expect(dup.get('a')![0]!.weight).toBe(1);
  });

  it("a DNS name's addresses whose weights pass Envoy's per-locality limit are scaled down, proportions kept", () => {
    // 3 000 000 000 on a name that resolves to two addresses: 6e9 > 4 294 967 295.
    const wide: ResolvedEndpoints = new Map([
      [
        'a',
        [
          { ip: '10.0.0.1', port: 80, weight: 3_000_000_000, hostname: 'x.svc' },
          { ip: '10.0.0.2', port: 80, weight: 3_000_000_000, hostname: 'x.svc' },
          { ip: '10.0.0.3', port: 80, weight: 1 },
        ],
      ],
    ]);
    for (const kind of NODE_KINDS) {
      const { resources, warnings } = translateWithWarnings(cfg, wide, kind);
      const weights = resources.endpoints[0]!.endpoints![0]!.lb_endpoints!.map((e) => e.load_balancing_weight!.value);
      expect(weights).toEqual([1_500_000_000, 1_500_000_000, 1]);
      expect(weights.reduce((a, b) => a! + b!, 0)).toBeLessThanOrEqual(0xffffffff);
      expect(warnings).toEqual([{ path: 'backends[a].endpoints', message: expect.stringContaining('add up to 6000000001, over Envoy\'s 4294967295 per locality; divided by 2') }]);
    }
  });

  it('staticEndpoints keeps IP literals and leaves DNS names to the resolver', () => {
    const c = config([], [backend('m', { endpoints: [{ host: '10.1.1.1', port: 1, weight: 2, drain: false }, { host: 'db.svc', port: 2, weight: 1, drain: false }, { host: 'fe80::1', port: 3, weight: 1, drain: false }] })]);
    expect(staticEndpoints(c).get('m')).toEqual([
      { ip: '10.1.1.1', port: 1, weight: 2 },
      { ip: 'fe80::1', port: 3, weight: 1 },
    ]);
  });
});

describe('purity and determinism', () => {
  it('same input → equal output; resource lists sorted by name whatever the input order', () => {
    const cfg = twoListeners();
    const shuffled: TetherConfig = { listeners: [...cfg.listeners].reverse(), services: cfg.services, backends: [...cfg.backends].reverse() };
    for (const kind of NODE_KINDS) {
      const a = toReadable(translate(cfg, staticEndpoints(cfg), kind));
      expect(toReadable(translate(cfg, staticEndpoints(cfg), kind))).toEqual(a);
      expect(toReadable(translate(shuffled, staticEndpoints(shuffled), kind))).toEqual(a);
      for (const list of [a.listeners, a.routes, a.clusters]) {
        const names = list.map((r) => r.name as string);
        expect(names).toEqual([...names].sort());
      }
    }
  });

  it('does not mutate its input', () => {
    const cfg = twoListeners();
    const before = JSON.stringify(cfg);
    for (const kind of NODE_KINDS) translate(cfg, staticEndpoints(cfg), kind);
    expect(JSON.stringify(cfg)).toBe(before);
  });

  it('every emitted resource encodes through the real protos (toReadable encodes each one)', () => {
    for (const kind of NODE_KINDS) {
      const cfg = twoListeners();
      const out = translate(cfg, staticEndpoints(cfg), kind);
      const readable = toReadable(out);
      expect(readable.listeners).toHaveLength(out.listeners.length);
      expect(readable.routes).toHaveLength(out.routes.length);
      expect(readable.clusters).toHaveLength(out.clusters.length);
      expect(readable.endpoints).toHaveLength(out.endpoints.length);
    }
  });

  it('an empty config gives no resources', () => {
    for (const kind of NODE_KINDS) {
      expect(translate({ listeners: [], services: [], backends: [] }, noEndpoints, kind)).toEqual({ listeners: [], routes: [], clusters: [], endpoints: [] });
    }
  });
});
