import type { BackendSpec, HeaderOps, RouteSpec, ServiceSpec, TetherConfig, WeightedBackend } from '../../src/model/types';
import type { ResolvedEndpoints } from '../../src/translate';

/** Model builders with the defaults the config parser fills in, overridable per test. */
export const noOps = (): HeaderOps => ({ set: [], add: [], remove: [] });

export function backendRef(backend: string, weight = 100, extra: Partial<WeightedBackend> = {}): WeightedBackend {
  return { backend, weight, requestHeaders: noOps(), responseHeaders: noOps(), ...extra };
}

export function route(name: string, backends: WeightedBackend[], extra: Partial<RouteSpec> = {}): RouteSpec {
  return {
    name,
    match: { path: { prefix: '/' }, headers: [], queryParams: [] },
    backends,
    requestHeaders: noOps(),
    responseHeaders: noOps(),
    ...extra,
  };
}

export function service(name: string, routes: RouteSpec[], extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { name, domains: ['*'], listeners: ['http'], routes, ...extra };
}

export function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    name,
    endpoints: [{ host: '10.0.0.1', port: 8080, weight: 1, drain: false }],
    balancer: { type: 'round_robin' },
    connectTimeoutMs: 1000,
    protocol: 'http1',
    ...extra,
  };
}

export function config(services: ServiceSpec[], backends: BackendSpec[], extra: Partial<TetherConfig> = {}): TetherConfig {
  return { listeners: [{ name: 'http', address: '0.0.0.0', port: 10000 }], services, backends, ...extra };
}

export const noEndpoints: ResolvedEndpoints = new Map();
