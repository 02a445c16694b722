/**
 * ext_proc session keys in the translation: the filter only on Envoy listeners that serve a
 * service with a sessionKey, before every other filter and the router; enabled per route for
 * those services (with the x-tether-service metadata the server selects the policy by), and
 * switched off on the routes of the others; the target header hashed first; the cluster only
 * with extProc.address; and nothing of it for gRPC nodes, whose resources grpc-js-xds accepts.
 */
import { describe, expect, it } from 'vitest';
import type { AffinitySpec, ExtProcSpec, SessionKeySpec, TetherConfig } from '../../src/model/types';
import { staticEndpoints, toReadable, translate, translateWithWarnings } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';
import { grpcXdsErrors } from './grpc-xds-validator';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RING = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' } as const;

function sessionKey(extra: Partial<SessionKeySpec> = {}): SessionKeySpec {
  return { sources: [{ jwtClaim: { claim: 'sub' } }], targetHeader: 'x-tether-session', bucketHeader: 'x-tether-bucket', failureMode: 'open', ...extra };
}

function setup(opts: { key?: Partial<SessionKeySpec>; keys?: AffinitySpec['keys']; extProc?: ExtProcSpec; strong?: boolean } = {}): TetherConfig {
  const chatAffinity: AffinitySpec = { keys: opts.keys ?? [{ kind: 'header', name: 'x-user', terminal: true }], sessionKey: sessionKey(opts.key) };
  if (opts.strong) chatAffinity.strong = { session: { kind: 'header', name: 'x-pin' }, strict: false };
  return config(
    [
      service('chat', [route('a', [backendRef('chat-v1')]), route('b', [backendRef('chat-v1')])], { domains: ['chat.example.com'], affinity: chatAffinity }),
      service('shop', [route('s', [backendRef('shop-v1')])], {
        domains: ['shop.example.com'],
        listeners: ['http', 'other'],
        affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] },
      }),
    ],
    [backend('chat-v1', { balancer: RING }), backend('shop-v1', { balancer: RING })],
    {
      listeners: [
        { name: 'http', address: '0.0.0.0', port: 10000 },
        { name: 'other', address: '0.0.0.0', port: 10001 },
      ],
      ...(opts.extProc ? { extProc: opts.extProc } : {}),
    },
  );
}

function readable(cfg: TetherConfig, kind: 'envoy' | 'grpc') {
  return toReadable(translate(cfg, staticEndpoints(cfg), kind));
}

function httpFilters(listener: Obj): Obj[] {
  const hcm = listener.filter_chains?.[0]?.filters?.[0]?.typed_config ?? listener.api_listener?.api_listener;
  return hcm.http_filters as Obj[];
}

function routesOf(res: ReturnType<typeof readable>, routeConfig: string, vhost: string): Obj[] {
  const rc = res.routes.find((r) => r.name === routeConfig) as Obj;
  return (rc.virtual_hosts as Obj[]).find((v) => v.name === vhost)!.routes as Obj[];
}

describe('ext_proc translation (Envoy)', () => {
  it('adds the filter, disabled, first, only where a service with a sessionKey listens', () => {
    const res = readable(setup({ strong: true }), 'envoy');
    const http = httpFilters(res.listeners.find((l) => l.name === 'http') as Obj);
    expect(http.map((f) => f.name)).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.stateful_session', 'envoy.filters.http.router']);
    expect(http[0]).toEqual({
      name: 'envoy.filters.http.ext_proc',
      disabled: true,
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
        grpc_service: { envoy_grpc: { cluster_name: 'tether-extproc' } },
        failure_mode_allow: true,
        message_timeout: { nanos: 200_000_000 },
        allow_mode_override: true,
        // NONE body modes are proto defaults (0) and do not appear on the wire.
        processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' },
      },
    });
    // `other` serves shop only: no ext_proc there.
    expect(httpFilters(res.listeners.find((l) => l.name === 'other') as Obj).map((f) => f.name)).toEqual(['envoy.filters.http.router']);
  });

  it('no service with a sessionKey → no filter, no per-route config, no cluster (extProc settings alone change nothing)', () => {
    const cfg = setup({ extProc: { cluster: 'tether-extproc', address: { host: '10.9.9.9', port: 18002 }, failureModeAllow: true, messageTimeoutMs: 200 } });
    delete cfg.services[0]!.affinity!.sessionKey;
    const res = readable(cfg, 'envoy');
    expect(JSON.stringify(res)).not.toContain('ext_proc');
    expect(JSON.stringify(res)).not.toContain('x-tether');
    expect(res.clusters.map((c) => c.name)).toEqual(['chat-v1', 'shop-v1']);
  });

  it('enables it on the routes of a service with a sessionKey, naming the service; disables it on the others', () => {
    const res = readable(setup({ strong: true }), 'envoy');
    for (const r of routesOf(res, 'http', 'chat')) {
      expect(r.typed_per_filter_config['envoy.filters.http.ext_proc']).toEqual({
        '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
        config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
          overrides: { grpc_initial_metadata: [{ key: 'x-tether-service', value: 'chat' }] },
        },
      });
      // The stateful_session per-route config is kept beside it.
      expect(Object.keys(r.typed_per_filter_config).sort()).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.stateful_session']);
    }
    const [shop] = routesOf(res, 'http', 'shop');
    expect(shop!.typed_per_filter_config).toEqual({
      'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true },
    });
    // On the listener without the filter, shop's route mentions no ext_proc at all.
    expect(routesOf(res, 'other', 'shop')[0]!.typed_per_filter_config).toBeUndefined();
  });

  it('mintCookie: the route also sends response headers (for the Set-Cookie)', () => {
    const res = readable(setup({ key: { mintCookie: { name: 'sid', ttlSeconds: 60 } } }), 'envoy');
    const perRoute = routesOf(res, 'http', 'chat')[0]!.typed_per_filter_config['envoy.filters.http.ext_proc'];
    expect(perRoute.config.overrides.processing_mode).toEqual({
      request_header_mode: 'SEND',
      response_header_mode: 'SEND',
      request_trailer_mode: 'SKIP',
      response_trailer_mode: 'SKIP',
    });
  });

  it('hashes the target header first (terminal), then the service’s keys in order', () => {
    const keys: AffinitySpec['keys'] = [
      { kind: 'cookie', name: 'sid', terminal: false },
      { kind: 'header', name: 'x-user', terminal: true },
    ];
    const res = readable(setup({ keys, key: { targetHeader: 'x-chat-key' } }), 'envoy');
    expect(routesOf(res, 'http', 'chat')[0]!.route.hash_policy).toEqual([
      { header: { header_name: 'x-chat-key' }, terminal: true },
      { cookie: { name: 'sid' } },
      { header: { header_name: 'x-user' }, terminal: true },
    ]);
    // A sessionKey alone (no keys): the target header is the whole hash policy.
    expect(routesOf(readable(setup({ keys: [] }), 'envoy'), 'http', 'chat')[0]!.route.hash_policy).toEqual([
      { header: { header_name: 'x-tether-session' }, terminal: true },
    ]);
    // shop, without a sessionKey, keeps its own.
    expect(routesOf(res, 'http', 'shop')[0]!.route.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
  });

  it('settings: cluster name, failure_mode_allow, message_timeout; the cluster is sent only with an address', () => {
    const ext: ExtProcSpec = { cluster: 'keys', failureModeAllow: false, messageTimeoutMs: 1500 };
    let res = readable(setup({ extProc: ext }), 'envoy');
    const filter = httpFilters(res.listeners.find((l) => l.name === 'http') as Obj)[0]!.typed_config;
    expect(filter.grpc_service).toEqual({ envoy_grpc: { cluster_name: 'keys' } });
    expect(filter.failure_mode_allow).toBeUndefined(); // false is the proto default
    expect(filter.message_timeout).toEqual({ seconds: '1', nanos: 500_000_000 });
    expect(res.clusters.map((c) => c.name)).toEqual(['chat-v1', 'shop-v1']);

    res = readable(setup({ extProc: { ...ext, address: { host: '10.1.2.3', port: 18002 } } }), 'envoy');
    expect(res.clusters.find((c) => c.name === 'keys')).toEqual({
      name: 'keys',
      type: 'STATIC',
      connect_timeout: { nanos: 250_000_000 },
      load_assignment: {
        cluster_name: 'keys',
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.2.3', port_value: 18002 } } } }] }],
      },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    });
    res = readable(setup({ extProc: { ...ext, address: { host: 'extproc.internal', port: 18002 } } }), 'envoy');
    expect(res.clusters.find((c) => c.name === 'keys')!.type).toBe('STRICT_DNS');
  });
});

describe('ext_proc translation (gRPC nodes)', () => {
  it('never gets the filter, per-route config, target-header hash or cluster; grpc-js-xds accepts the resources', () => {
    const cfg = setup({ strong: true, key: { mintCookie: { name: 'sid' } }, extProc: { cluster: 'tether-extproc', address: { host: '10.1.2.3', port: 18002 }, failureModeAllow: true, messageTimeoutMs: 200 } });
    const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'grpc');
    const res = toReadable(resources);
    const text = JSON.stringify(res);
    expect(text).not.toContain('ext_proc');
    expect(text).not.toContain('x-tether-session');
    expect(text).not.toContain('x-tether-service');
    expect(res.clusters.map((c) => c.name)).toEqual(['chat-v1', 'shop-v1']);
    for (const l of res.listeners) expect(httpFilters(l as Obj).map((f) => f.name)).toEqual(['envoy.filters.http.router']);
    const chatRoutes = (res.routes.find((r) => r.name === 'chat') as Obj).virtual_hosts[0].routes as Obj[];
    expect(chatRoutes[0]!.route.hash_policy).toEqual([{ header: { header_name: 'x-user' }, terminal: true }]);
    expect(warnings).toContainEqual({
      path: 'services[chat].affinity.sessionKey',
      message: 'gRPC clients have no ext_proc: sessionKey left out; they hash on the header keys of affinity.keys',
    });
    expect(grpcXdsErrors(resources)).toEqual([]);
  });
});
