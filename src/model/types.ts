/**
 * Tether's routing model: the validated, normalised form of a config file, with every
 * default filled in. `translate/` turns it into Envoy resources; nothing else does.
 * Durations are milliseconds. Names are unique within their list (validation enforces).
 */

export interface TetherConfig {
  listeners: ListenerSpec[];
  services: ServiceSpec[];
  backends: BackendSpec[];
}

/** An Envoy listener (a port). gRPC nodes have no real listeners; see translate/. */
export interface ListenerSpec {
  name: string;
  address: string; // default "0.0.0.0"
  port: number;
}

export interface ServiceSpec {
  name: string;
  /** Virtual host domains (Host/:authority) for Envoy nodes. Default ["*"]. */
  domains: string[];
  /** Names of the listeners that serve this service. Default: all listeners. */
  listeners: string[];
  /** Session affinity; absent → ordinary (non-sticky) balancing. */
  affinity?: AffinitySpec;
  /** Routes, matched in order (first match wins). At least one. */
  routes: RouteSpec[];
}

/** Where the session key comes from, tried in order (hash_policy list). */
export type AffinityKey =
  | { kind: 'header'; name: string; terminal: boolean }
  | {
      kind: 'cookie';
      name: string;
      /** When set (0 allowed → session cookie), Envoy generates the cookie if absent. */
      ttlMs?: number;
      path?: string;
      terminal: boolean;
    }
  | { kind: 'clientIp'; terminal: boolean }
  | { kind: 'queryParameter'; name: string; terminal: boolean };

export interface AffinitySpec {
  keys: AffinityKey[];
}

export type BalancerSpec =
  | { type: 'ring_hash'; minRingSize: number; maxRingSize: number }
  | { type: 'maglev'; tableSize: number }
  | { type: 'round_robin' }
  | { type: 'least_request'; choiceCount: number }
  | { type: 'random' };

export type BalancerType = BalancerSpec['type'];

export interface EndpointSpec {
  /** An IP literal or a DNS name (resolved by Tether, see resolve/). */
  host: string;
  port: number;
  /** Load-balancing weight, >= 1. Default 1. */
  weight: number;
  /**
   * Keep the endpoint known but send it no new requests (EDS health_status DRAINING), e.g.
   * while a replica shuts down. Default false.
   */
  drain: boolean;
}

export interface BackendSpec {
  name: string;
  endpoints: EndpointSpec[];
  /** Explicit, or derived: ring_hash when a sticky service routes here, else round_robin. */
  balancer: BalancerSpec;
  connectTimeoutMs: number; // default 1000
  /** Upstream protocol for Envoy: http1, or http2 (needed for gRPC backends). Default http1. */
  protocol: 'http1' | 'http2';
}

export interface HeaderOps {
  /** Overwrite (or add) these headers. */
  set: Array<{ name: string; value: string }>;
  /** Append these headers. */
  add: Array<{ name: string; value: string }>;
  remove: string[];
}

export type StringMatch =
  | { exact: string }
  | { prefix: string }
  | { suffix: string }
  | { contains: string }
  | { regex: string };

export type HeaderMatchSpec = { name: string; invert: boolean; ignoreCase: boolean } & (
  | StringMatch
  | { range: { start: number; end: number } } // [start, end) on the integer value
  | { present: boolean }
);

export type PathMatchSpec = { prefix: string } | { exact: string } | { regex: string };

export interface RouteMatchSpec {
  path: PathMatchSpec; // default { prefix: "/" }
  headers: HeaderMatchSpec[];
  queryParams: Array<{ name: string } & (StringMatch | { present: boolean })>;
}

export interface WeightedBackend {
  backend: string; // a BackendSpec name
  weight: number; // >= 0; the route's weights sum to > 0
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Host/:authority rewrite for requests sent to this backend (from `requestHeaders.set.host`). */
  hostRewrite?: string;
}

export interface RouteSpec {
  name: string; // default "<service>-<index>"
  match: RouteMatchSpec;
  backends: WeightedBackend[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  hostRewrite?: string;
  timeoutMs?: number;
}
