import { describe, expect, it } from 'vitest';
import { translate, translateWithWarnings } from '../../src/translate';
import type { RouteSpec } from '../../src/model/types';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';

const backends = [backend('v1'), backend('v2'), backend('v3')];

function envoyRoute(spec: RouteSpec) {
  const out = translate(config([service('shop', [spec])], backends), noEndpoints, 'envoy');
  return out.routes[0]!.virtual_hosts![0]!.routes![0]!;
}

describe('route action: single vs weighted', () => {
  it('one backend → plain cluster', () => {
    const r = envoyRoute(route('r', [backendRef('v1', 100)]));
    expect(r.route).toEqual({ cluster: 'v1' });
  });

  it('several backends → weighted_clusters in model order', () => {
    const r = envoyRoute(route('r', [backendRef('v2', 10), backendRef('v1', 90)]));
    expect(r.route).toEqual({
      weighted_clusters: {
        clusters: [
          { name: 'v2', weight: { value: 10 } },
          { name: 'v1', weight: { value: 90 } },
        ],
      },
    });
  });

  it('weight-0 backends are left out; one left → plain cluster with its header ops at route level', () => {
    const r = envoyRoute(
      route('r', [
        backendRef('v1', 0, { requestHeaders: { set: [{ name: 'x-dead', value: '1' }], add: [], remove: [] } }),
        backendRef('v2', 100, {
          requestHeaders: { set: [{ name: 'x-b', value: 'b' }], add: [], remove: ['x-gone'] },
          responseHeaders: { set: [{ name: 'version', value: 'v2' }], add: [], remove: [] },
          hostRewrite: 'v2.internal',
        }),
      ]),
    );
    expect(r.route).toEqual({ cluster: 'v2', host_rewrite_literal: 'v2.internal' });
    expect(r.request_headers_to_add).toEqual([{ header: { key: 'x-b', value: 'b' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    expect(r.request_headers_to_remove).toEqual(['x-gone']);
    expect(r.response_headers_to_add).toEqual([{ header: { key: 'version', value: 'v2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
  });

  it('weight-0 backend among several: the rest stay weighted', () => {
    const r = envoyRoute(route('r', [backendRef('v1', 90), backendRef('v2', 0), backendRef('v3', 10)]));
    expect(r.route?.weighted_clusters?.clusters?.map((c) => c.name)).toEqual(['v1', 'v3']);
  });

  it('weighted: per-backend header ops and host rewrite go on each ClusterWeight', () => {
    const r = envoyRoute(
      route(
        'r',
        [
          backendRef('v1', 90),
          backendRef('v2', 10, {
            requestHeaders: { set: [], add: [{ name: 'x-canary', value: '1' }], remove: [] },
            responseHeaders: { set: [], add: [], remove: ['server'] },
            hostRewrite: 'v2.internal',
          }),
        ],
        { hostRewrite: 'shop.internal' },
      ),
    );
    expect(r.route?.host_rewrite_literal).toBeUndefined();
    expect(r.route?.weighted_clusters?.clusters).toEqual([
      { name: 'v1', weight: { value: 90 }, host_rewrite_literal: 'shop.internal' },
      {
        name: 'v2',
        weight: { value: 10 },
        request_headers_to_add: [{ header: { key: 'x-canary', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }],
        response_headers_to_remove: ['server'],
        host_rewrite_literal: 'v2.internal',
      },
    ]);
  });

  it('weighted with only a route-level host rewrite keeps it on the action', () => {
    const r = envoyRoute(route('r', [backendRef('v1', 50), backendRef('v2', 50)], { hostRewrite: 'shop.internal' }));
    expect(r.route?.host_rewrite_literal).toBe('shop.internal');
    expect(r.route?.weighted_clusters?.clusters?.every((c) => c.host_rewrite_literal === undefined)).toBe(true);
  });

  it('single backend: route-level ops win over the backend ones (Envoy evaluates the route level last)', () => {
    const r = envoyRoute(
      route('r', [backendRef('v1', 1, { requestHeaders: { set: [{ name: 'x-a', value: 'backend' }], add: [{ name: 'x-b', value: 'backend' }], remove: [] } })], {
        requestHeaders: { set: [{ name: 'x-a', value: 'route' }], add: [], remove: ['x-b'] },
      }),
    );
    expect(r.request_headers_to_add).toEqual([
      { header: { key: 'x-a', value: 'backend' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-a', value: 'route' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    // x-b: added by the backend level, removed by the route level afterwards → gone.
    expect(r.request_headers_to_remove).toEqual(['x-b']);
  });

  it('single backend: its host rewrite beats the route one', () => {
    const r = envoyRoute(route('r', [backendRef('v1', 1, { hostRewrite: 'b.internal' })], { hostRewrite: 'r.internal' }));
    expect(r.route?.host_rewrite_literal).toBe('b.internal');
  });

  it('Host in a set list becomes a host rewrite; pseudo-headers are refused with a warning', () => {
    const spec = route('r', [backendRef('v1', 1)], {
      requestHeaders: { set: [{ name: 'Host', value: 'h.internal' }], add: [{ name: ':path', value: '/x' }], remove: ['host'] },
    });
    const { resources, warnings } = translateWithWarnings(config([service('shop', [spec])], backends), noEndpoints, 'envoy');
    const r = resources.routes[0]!.virtual_hosts![0]!.routes![0]!;
    expect(r.route?.host_rewrite_literal).toBe('h.internal');
    expect(r.request_headers_to_add).toBeUndefined();
    expect(r.request_headers_to_remove).toBeUndefined();
    expect(warnings.map((w) => w.path)).toEqual(['services[shop].routes[r].requestHeaders.add', 'services[shop].routes[r].requestHeaders.remove']);
  });

  it('timeout → RouteAction.timeout (Envoy)', () => {
    expect(envoyRoute(route('r', [backendRef('v1')], { timeoutMs: 2500 })).route?.timeout).toEqual({ seconds: '2', nanos: 500_000_000 });
    expect(envoyRoute(route('r', [backendRef('v1')], { timeoutMs: 0 })).route?.timeout).toEqual({});
  });

  it('a route whose backends all weigh 0 is left out, with a warning', () => {
    const cfg = config([service('shop', [route('dead', [backendRef('v1', 0)]), route('live', [backendRef('v2')])])], backends);
    const { resources, warnings } = translateWithWarnings(cfg, noEndpoints, 'envoy');
    expect(resources.routes[0]!.virtual_hosts![0]!.routes!.map((r) => r.name)).toEqual(['live']);
    expect(warnings).toEqual([{ path: 'services[shop].routes[dead].backends', message: expect.stringContaining('route left out') }]);
  });
});
