import { describe, expect, it } from 'vitest';
import { staticEndpoints, translate, translateWithWarnings } from '../../src/translate';
import { decodeMessage } from '../../src/envoy/encode';
import type { BalancerSpec, TetherConfig } from '../../src/model/types';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

/** A config that uses every feature, so both kinds' degradations show up. */
function everything(): TetherConfig {
  return config(
    [
      service(
        'shop',
        [
          route('by-header', [backendRef('ring', 100, { hostRewrite: 'x.internal' })], {
            match: {
              path: { prefix: '/' },
              headers: [
                { name: 'userhash', prefix: '101', invert: false, ignoreCase: false },
                { name: 'n', range: { start: 1, end: 10 }, invert: false, ignoreCase: false },
                { name: 'p', present: false, invert: false, ignoreCase: false },
                { name: 'r', regex: 'a+', invert: true, ignoreCase: true },
                { name: 'c', contains: 'x', invert: false, ignoreCase: true },
              ],
              queryParams: [],
            },
            responseHeaders: { set: [{ name: 'version', value: 'v2' }], add: [], remove: [] },
            timeoutMs: 1500,
          }),
          route('by-query', [backendRef('ring')], { match: { path: { exact: '/q' }, headers: [], queryParams: [{ name: 'u', exact: '1' }] } }),
          route('split', [backendRef('maglev', 90), backendRef('lr', 10), backendRef('rand', 0)]),
        ],
        {
          domains: ['shop.example.com'],
          affinity: {
            keys: [
              { kind: 'header', name: 'x-user', terminal: true },
              { kind: 'cookie', name: 's', ttlMs: 0, terminal: false },
            ],
          },
        },
      ),
    ],
    [
      backend('ring', { balancer: { type: 'ring_hash', minRingSize: 1024, maxRingSize: 4096 } }),
      backend('maglev', { balancer: { type: 'maglev', tableSize: 65537 }, protocol: 'http2' }),
      backend('lr', { balancer: { type: 'least_request', choiceCount: 2 } }),
      backend('rand', { balancer: { type: 'random' } }),
    ],
  );
}

describe('gRPC nodes (grpc-js-xds)', () => {
  it('one api_listener per service, named after it, RDS over ADS with the router last', () => {
    const out = translate(everything(), noEndpoints, 'grpc');
    expect(out.listeners).toHaveLength(1);
    const listener = out.listeners[0]!;
    expect(listener.name).toBe('shop');
    expect(listener.address).toBeUndefined();
    expect(listener.filter_chains).toBeUndefined();
    const any = listener.api_listener!.api_listener as { type_url: string; value: Buffer };
    const hcm = decodeMessage(any.type_url.replace('type.googleapis.com/', ''), any.value);
    expect(hcm).toMatchObject({
      rds: { route_config_name: 'shop', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router' }],
    });
  });

  it('one RouteConfiguration per service with a single * virtual host', () => {
    const out = translate(everything(), noEndpoints, 'grpc');
    expect(out.routes.map((r) => r.name)).toEqual(['shop']);
    expect(out.routes[0]!.virtual_hosts).toHaveLength(1);
    expect(out.routes[0]!.virtual_hosts![0]!.domains).toEqual(['*']);
  });

  it('no header/host rewrites; the deadline goes in max_stream_duration', () => {
    const out = translate(everything(), noEndpoints, 'grpc');
    const r = out.routes[0]!.virtual_hosts![0]!.routes![0]!;
    expect(r.response_headers_to_add).toBeUndefined();
    expect(r.route).toEqual({
      cluster: 'ring',
      hash_policy: [{ header: { header_name: 'x-user' }, terminal: true }],
      max_stream_duration: { max_stream_duration: { seconds: '1', nanos: 500_000_000 } },
    });
  });

  it('lb policies: maglev → RING_HASH (default sizes), least_request/random → ROUND_ROBIN', () => {
    const out = translate(everything(), noEndpoints, 'grpc');
    const lb = Object.fromEntries(out.clusters.map((c) => [c.name, [c.lb_policy, c.ring_hash_lb_config ?? c.maglev_lb_config ?? c.least_request_lb_config]]));
    expect(lb).toEqual({
      lr: ['ROUND_ROBIN', undefined],
      maglev: ['RING_HASH', undefined],
      rand: ['ROUND_ROBIN', undefined],
      ring: ['RING_HASH', { minimum_ring_size: { value: '1024' }, maximum_ring_size: { value: '4096' } }],
    });
  });

  it('reports every degradation as data, in model order', () => {
    const { warnings } = translateWithWarnings(everything(), noEndpoints, 'grpc');
    expect(warnings.map((w) => w.path)).toEqual([
      'services[shop].affinity',
      'services[shop].routes[by-header]',
      'services[shop].routes[by-query].match.queryParams',
      'backends[lr].balancer',
      'backends[maglev].balancer',
      'backends[rand].balancer',
    ]);
  });

  it('warns when a ring is larger than grpc-js-xds uses by default', () => {
    const big = config([], [backend('b', { balancer: { type: 'ring_hash', minRingSize: 65536, maxRingSize: 8388608 } })]);
    expect(translateWithWarnings(big, noEndpoints, 'grpc').warnings[0]?.message).toMatch(/4096/);
    expect(translateWithWarnings(big, noEndpoints, 'envoy').warnings).toEqual([]);
  });

  it('grpc-js-xds accepts every gRPC resource (its own decoders and validators)', () => {
    const cfg = everything();
    expect(grpcXdsErrors(translate(cfg, staticEndpoints(cfg), 'grpc'))).toEqual([]);
  });

  it('…and would NACK the Envoy flavour (what the degradations are for)', () => {
    const cfg = everything();
    const errors = grpcXdsErrors(translate(cfg, staticEndpoints(cfg), 'envoy'));
    expect(errors.join('\n')).toMatch(/unsupported lb_policy: MAGLEV/);
    expect(errors.join('\n')).toMatch(/unsupported lb_policy: LEAST_REQUEST/);
    expect(errors.join('\n')).toMatch(/unsupported lb_policy: RANDOM/);
  });

  it.each<BalancerSpec>([
    { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608 },
    { type: 'round_robin' },
  ])('keeps $type as is', (balancer) => {
    const out = translate(config([], [backend('b', { balancer })]), noEndpoints, 'grpc');
    const envoy = translate(config([], [backend('b', { balancer })]), noEndpoints, 'envoy');
    expect(out.clusters).toEqual(envoy.clusters);
  });

  it('endpoints are the same as Envoy’s', () => {
    const cfg = everything();
    expect(translate(cfg, staticEndpoints(cfg), 'grpc').endpoints).toEqual(translate(cfg, staticEndpoints(cfg), 'envoy').endpoints);
  });
});
