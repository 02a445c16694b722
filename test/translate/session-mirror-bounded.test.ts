/** Strong stickiness (stateful_session), shadow traffic and bounded load, for both kinds of node. */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/envoy/encode';
import type { AffinitySpec, BalancerSpec, TetherConfig } from '../../src/model/types';
import { NODE_KINDS, staticEndpoints, toReadable, translate, translateWithWarnings } from '../../src/translate';
import { fractionalPercent } from '../../src/translate/mirror';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

const KEYS: AffinitySpec['keys'] = [{ kind: 'header', name: 'x-user', terminal: true }];

function withStrong(strong: AffinitySpec['strong']): TetherConfig {
  return config(
    [
      service('shop', [route('a', [backendRef('shop-v1')]), route('b', [backendRef('shop-v1')])], { affinity: { keys: KEYS, ...(strong ? { strong } : {}) } }),
      service('plain', [route('p', [backendRef('shop-v1')])], { listeners: ['other'], domains: ['plain.example.com'] }),
    ],
    [backend('shop-v1', { balancer: { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' } })],
    {
      listeners: [
        { name: 'http', address: '0.0.0.0', port: 10000 },
        { name: 'other', address: '0.0.0.0', port: 10001 },
      ],
    },
  );
}

function hcmFilters(cfg: TetherConfig, listener: string): Array<Record<string, unknown>> {
  const l = toReadable(translate(cfg, staticEndpoints(cfg), 'envoy')).listeners.find((x) => x.name === listener) as {
    filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<Record<string, unknown>> } }> }>;
  };
  return l.filter_chains[0]!.filters[0]!.typed_config.http_filters;
}

describe('affinity.strong (Envoy stateful_session)', () => {
  const cookie = withStrong({ session: { kind: 'cookie', name: 'shop-pin', ttlMs: 3_600_000, path: '/' }, strict: true });

  it('the filter, empty (disabled), before the router, only on listeners serving a service that uses it', () => {
    expect(hcmFilters(cookie, 'http')).toEqual([
      { name: 'envoy.filters.http.stateful_session', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession' } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
    ]);
    expect(hcmFilters(cookie, 'other').map((f) => f.name)).toEqual(['envoy.filters.http.router']);
    expect(hcmFilters(withStrong(undefined), 'http').map((f) => f.name)).toEqual(['envoy.filters.http.router']);
  });

  it('each route of the service enables it with the cookie session state', () => {
    const routes = toReadable(translate(cookie, staticEndpoints(cookie), 'envoy')).routes.find((r) => r.name === 'http') as {
      virtual_hosts: Array<{ routes: Array<Record<string, unknown>> }>;
    };
    const perRoute = {
      'envoy.filters.http.stateful_session': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute',
        stateful_session: {
          session_state: {
            name: 'envoy.http.stateful_session.cookie',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState',
              cookie: { name: 'shop-pin', ttl: { seconds: '3600' }, path: '/' },
            },
          },
          strict: true,
        },
      },
    };
    expect(routes.virtual_hosts[0]!.routes.map((r) => r.typed_per_filter_config)).toEqual([perRoute, perRoute]);
  });

  it('header session state; no ttl is a session cookie (no ttl field); strict false is left at its default', () => {
    const header = withStrong({ session: { kind: 'header', name: 'x-shop-pin' }, strict: false });
    const r = translate(header, staticEndpoints(header), 'envoy').routes.find((x) => x.name === 'http')!.virtual_hosts![0]!.routes![0]!;
    const any = r.typed_per_filter_config!['envoy.filters.http.stateful_session'] as { type_url: string; value: Buffer };
    const decoded = decodeMessage('envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute', any.value) as {
      stateful_session: { session_state: { name: string; typed_config: { value: Buffer } }; strict?: boolean };
    };
    expect(decoded.stateful_session.session_state.name).toBe('envoy.http.stateful_session.header');
    expect(decoded.stateful_session.strict).toBeUndefined();
    expect(decodeMessage('envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState', decoded.stateful_session.session_state.typed_config.value)).toEqual({
      name: 'x-shop-pin',
    });
    const session = withStrong({ session: { kind: 'cookie', name: 'pin' }, strict: false });
    const text = JSON.stringify(toReadable(translate(session, staticEndpoints(session), 'envoy')).routes);
    expect(text).toContain('"cookie":{"name":"pin"}');
  });

  it('gRPC nodes get no filter and no per-route config, and a warning', () => {
    const { resources, warnings } = translateWithWarnings(cookie, staticEndpoints(cookie), 'grpc');
    expect(JSON.stringify(toReadable(resources))).not.toContain('stateful_session');
    expect(warnings).toEqual([
      {
        path: 'services[shop].affinity.strong',
        message: 'gRPC clients have no stateful sessions (grpc-js-xds NACKs a stateful_session filter); left out: the affinity keys alone pick the replica',
      },
    ]);
    expect(grpcXdsErrors(resources)).toEqual([]);
  });

  it('strict with a random weighted split warns (a pinned replica of another backend gets 503)', () => {
    const cfg = withStrong({ session: { kind: 'cookie', name: 'pin' }, strict: true });
    cfg.backends.push(backend('shop-v2', { endpoints: [{ host: '10.0.0.2', port: 8080, weight: 1, drain: false }] }));
    cfg.services[0]!.routes[0] = route('a', [backendRef('shop-v1', 90), backendRef('shop-v2', 10)]);
    const { warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy');
    expect(warnings.map((w) => w.path)).toEqual(['services[shop].routes[a]']);
    cfg.services[0]!.routes[0]!.stickySplit = { mode: 'ring' };
    expect(translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy').warnings).toEqual([]);
  });
});

describe('mirror (request_mirror_policies)', () => {
  const mirrored = () =>
    config(
      [service('shop', [route('r', [backendRef('shop-v1')], { mirrors: [{ backend: 'shadow', percent: 10 }, { backend: 'shop-v2', percent: 0.25 }, { backend: 'off', percent: 0 }] })])],
      [backend('shop-v1'), backend('shop-v2'), backend('shadow'), backend('off')],
    );

  it('Envoy: one policy per mirror with a fraction, 0 % left out', () => {
    const action = translate(mirrored(), noEndpoints, 'envoy').routes[0]!.virtual_hosts![0]!.routes![0]!.route!;
    expect(action.request_mirror_policies).toEqual([
      { cluster: 'shadow', runtime_fraction: { default_value: { numerator: 10, denominator: 'HUNDRED' } } },
      { cluster: 'shop-v2', runtime_fraction: { default_value: { numerator: 25, denominator: 'TEN_THOUSAND' } } },
    ]);
    expect(() => toReadable(translate(mirrored(), noEndpoints, 'envoy'))).not.toThrow();
  });

  it('the coarsest exact denominator', () => {
    expect(fractionalPercent(100)).toEqual({ numerator: 100, denominator: 'HUNDRED' });
    expect(fractionalPercent(0.5)).toEqual({ numerator: 50, denominator: 'TEN_THOUSAND' });
    expect(fractionalPercent(12.3456)).toEqual({ numerator: 123456, denominator: 'MILLION' });
    expect(fractionalPercent(0.0001)).toEqual({ numerator: 1, denominator: 'MILLION' });
  });

  it('gRPC: left out with a warning (grpc-js-xds ignores them)', () => {
    const { resources, warnings } = translateWithWarnings(mirrored(), noEndpoints, 'grpc');
    expect(resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!.request_mirror_policies).toBeUndefined();
    expect(warnings).toEqual([
      { path: 'services[shop].routes[r].mirror', message: 'gRPC clients do not mirror requests (grpc-js-xds ignores request_mirror_policies); left out' },
    ]);
    expect(grpcXdsErrors(resources)).toEqual([]);
  });
});

describe('bounded load (hash_balance_factor)', () => {
  const bounded = (balancer: BalancerSpec) => config([], [backend('b', { balancer })]);

  it('Envoy: common_lb_config.consistent_hashing_lb_config for ring_hash and maglev', () => {
    for (const balancer of [
      { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable', hashBalanceFactor: 150 },
      { type: 'maglev', tableSize: 65537, hashBalanceFactor: 125 },
    ] as BalancerSpec[]) {
      const c = translate(bounded(balancer), noEndpoints, 'envoy').clusters[0]!;
      expect(c.common_lb_config).toEqual({ consistent_hashing_lb_config: { hash_balance_factor: { value: 'hashBalanceFactor' in balancer ? balancer.hashBalanceFactor : 0 } } });
    }
  });

  it('gRPC: sent (grpc-js-xds accepts and ignores common_lb_config), with a warning that it has no effect there', () => {
    const cfg = bounded({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable', hashBalanceFactor: 150 });
    const { resources, warnings } = translateWithWarnings(cfg, noEndpoints, 'grpc');
    expect(resources.clusters[0]!.common_lb_config).toEqual({ consistent_hashing_lb_config: { hash_balance_factor: { value: 150 } } });
    expect(warnings).toEqual([
      {
        path: 'backends[b].balancer.hashBalanceFactor',
        message: 'gRPC clients ignore hash_balance_factor (grpc-js-xds does not read common_lb_config): no bounded load for them',
      },
    ]);
    expect(grpcXdsErrors(resources)).toEqual([]);
  });

  it('absent: no common_lb_config', () => {
    for (const kind of NODE_KINDS) {
      expect(translate(bounded({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608 }), noEndpoints, kind).clusters[0]!.common_lb_config).toBeUndefined();
    }
  });
});
