/**
 * Tether's routing model: the validated, normalised form of a config file, with every
 * default filled in. `translate/` turns it into Envoy resources; nothing else does.
 * Durations are milliseconds. Names are unique within their list (validation enforces).
 */
import type { SessionKeyPolicy } from './session-key-policy';
import type { CircuitBreakersSpec, HealthCheckSpec, OutlierDetectionSpec, RetrySpec, SlowStartSpec, UpstreamTlsSpec } from './resilience';

export type { CircuitBreakersSpec, HealthCheckSpec, OutlierDetectionSpec, RetrySpec, SlowStartSpec, UpstreamTlsSpec } from './resilience';

export interface TetherConfig {
  listeners: ListenerSpec[];
  services: ServiceSpec[];
  backends: BackendSpec[];
  /**
   * How Envoy reaches the ext_proc session-key server. Present when the file sets it or a
   * service has an `affinity.sessionKey` (then with every default filled in); absent otherwise,
   * so configs that do not use ext_proc keep their exact model (and content hash).
   */
  extProc?: ExtProcSpec;
}

/** The ext_proc filter Tether gives Envoy listeners that serve a service with a sessionKey. */
export interface ExtProcSpec {
  /** The Envoy cluster the filter's grpc_service names. Default `tether-extproc` (envoy/*.yaml). */
  cluster: string;
  /**
   * When set, Tether sends that cluster over CDS (HTTP/2, STATIC for an IP, else STRICT_DNS).
   * Absent: the Envoy bootstrap defines it (envoy/sidecar.yaml and gateway.yaml do, → tether:18002).
   */
  address?: { host: string; port: number };
  /** Envoy's failure_mode_allow: ext_proc unreachable or late → the request goes on without a key. Default true. */
  failureModeAllow: boolean;
  /** Envoy's message_timeout, per exchange. Default 200. */
  messageTimeoutMs: number;
}

/**
 * A service's ext_proc session-key policy (src/extproc/policy.ts validates and runs it), with
 * the header names and failure mode filled in. The other fields are as written.
 */
export type SessionKeySpec = SessionKeyPolicy & {
  targetHeader: string;
  bucketHeader: string | false;
  failureMode: 'open' | 'closed';
};

/** An Envoy listener (a port). gRPC nodes have no real listeners; see translate/. */
export interface ListenerSpec {
  name: string;
  address: string; // default "0.0.0.0"
  port: number;
  /*
   * The edge settings below are always filled in by the config parser (defaults in
   * config/listener-schema.ts). A model built by hand may leave them out: then Envoy's own
   * behaviour applies (nothing is set), which is what Tether sent before they existed.
   */
  /** Which address Envoy attributes a request to (what a clientIp key hashes). */
  clientAddress?: ClientAddressSpec;
  limits?: ListenerLimitsSpec;
  timeouts?: ListenerTimeoutsSpec;
  /** Envoy's access log for this listener; false or absent: none. */
  accessLog?: AccessLogSpec | false;
  /** Terminate HTTPS with this certificate (served over SDS); absent: plain HTTP. */
  tls?: ListenerTlsSpec;
}

/**
 * Envoy's use_remote_address is always true on Tether's listeners (it then also treats the
 * peer as external and sanitises x-envoy-* headers). `trustedHops` is xff_num_trusted_hops: 0
 * → the connection's peer; N → the Nth X-Forwarded-For address from the right, as the N
 * proxies in front of Envoy appended them (the peer when the header has fewer).
 */
export interface ClientAddressSpec {
  trustedHops: number;
}

export interface ListenerLimitsSpec {
  /** Listener per_connection_buffer_limit_bytes. Default 32768 (Envoy's edge guide). */
  connectionBufferBytes: number;
  /** common_http_protocol_options.max_headers_count. Default 100 (Envoy's). */
  maxHeaders: number;
  /** max_request_headers_kb. Default 60 (Envoy's). */
  maxRequestHeadersKb: number;
}

/** Milliseconds; 0 turns the timeout off. */
export interface ListenerTimeoutsSpec {
  /** A connection with no active stream is closed after this (common_http_protocol_options.idle_timeout). Default 1h. */
  idleMs: number;
  /** A stream with no activity either way is reset after this (stream_idle_timeout). Default 5m. */
  streamIdleMs: number;
  /** The whole request must have arrived within this (request_timeout). Default 5m. */
  requestMs: number;
  /** The request headers must have arrived within this (request_headers_timeout). Default 10s. */
  requestHeadersMs: number;
}

export interface AccessLogSpec {
  format: 'json' | 'text';
  /** A file Envoy appends to; absent: Envoy's stdout. */
  path?: string;
}

/** Certificate and key files Tether reads and sends as an SDS Secret (reloaded when they change). */
export interface ListenerTlsSpec {
  certificateFile: string;
  privateKeyFile: string;
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
  /** Envoy's own hash policies; may be empty when a sessionKey gives the key. */
  keys: AffinityKey[];
  /**
   * Envoy nodes: Tether's ext_proc server finds the key (JWT claim, JSON body field, header,
   * cookie, query…) and writes it into `targetHeader`, which the route hashes on before `keys`.
   * gRPC nodes have no ext_proc and use `keys` only.
   */
  sessionKey?: SessionKeySpec;
  /** Pin each session to the replica that served it first (Envoy only); see StrongAffinitySpec. */
  strong?: StrongAffinitySpec;
}

/**
 * Strong stickiness: Envoy's stateful_session filter remembers the replica a session was sent
 * to (in a cookie or a header) and sends the session back there, whatever the ring says, so
 * scale events move no existing session. The affinity keys still pick the first replica.
 */
export interface StrongAffinitySpec {
  session:
    | {
        kind: 'cookie';
        name: string;
        /** Cookie lifetime, whole seconds in ms; absent → a session cookie (no Max-Age). */
        ttlMs?: number;
        path?: string;
        /** The Secure attribute (Envoy ≥ 1.35). */
        secure?: boolean;
        /** The SameSite attribute (Envoy ≥ 1.35); absent → none sent (browsers treat it as Lax). */
        sameSite?: 'strict' | 'lax' | 'none';
      }
    | { kind: 'header'; name: string };
  /** true: 503 when the remembered replica is gone; false: balance anew (and re-pin). */
  strict: boolean;
}

/**
 * How a ring_hash ring is sized. `stable`: per snapshot, K entries per unit of the smallest
 * endpoint weight (see translate/cluster.ts), so adding or removing a replica moves only its
 * own share of sessions. `fixed`: minRingSize/maxRingSize as given (Envoy's behaviour).
 */
export type RingSizing = 'stable' | 'fixed';

export type BalancerSpec =
  | {
      type: 'ring_hash';
      /** Used when `ring` is `fixed` (or absent); a stable ring is sized by translate/ instead. */
      minRingSize: number;
      maxRingSize: number;
      /**
       * Absent means `fixed`: a model built from a served Cluster carries its concrete sizes.
       * The config parser always sets it (`stable` unless sizes are given).
       */
      ring?: RingSizing;
      /** Stable rings only: K for every node kind; absent → Envoy 1024, gRPC 256. */
      pointsPerHost?: number;
      /** Bounded load (consistent_hashing_lb_config.hash_balance_factor), >= 100. */
      hashBalanceFactor?: number;
    }
  | { type: 'maglev'; tableSize: number; hashBalanceFactor?: number }
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
  /**
   * Stable identity for hashing (Envoy's `envoy.lb` metadata `hash_key`): Envoy places the
   * replica on the ring by this instead of ip:port, so a restart with a new IP keeps its
   * sessions. gRPC clients ignore it (they hash the address).
   */
  hashKey?: string;
  /**
   * The port proxyless gRPC clients (gRPC nodes) reach this replica on, when it is not `port`:
   * a replica serving HTTP on one port and gRPC on another (Istio's WorkloadEntry `ports`, per
   * protocol). Envoy nodes always use `port`. Absent → `port` for both kinds.
   */
  grpcPort?: number;
  /** Locality zone (EDS locality.zone); endpoints are grouped by zone and priority. */
  zone?: string;
  /** EDS priority: 0 serves while healthy enough, then 1, and so on. Absent → 0. */
  priority?: number;
}

export interface BackendSpec {
  name: string;
  endpoints: EndpointSpec[];
  /** Explicit, or derived: ring_hash when a sticky service routes here, else round_robin. */
  balancer: BalancerSpec;
  connectTimeoutMs: number; // default 1000
  /** Upstream protocol for Envoy: http1, or http2 (needed for gRPC backends). Default http1. */
  protocol: 'http1' | 'http2';
  healthCheck?: HealthCheckSpec;
  outlierDetection?: OutlierDetectionSpec;
  circuitBreakers?: CircuitBreakersSpec;
  slowStart?: SlowStartSpec;
  tls?: UpstreamTlsSpec;
  /**
   * Percent of healthy endpoints below which Envoy balances over all of them, healthy or not
   * (common_lb_config.healthy_panic_threshold). Absent → Envoy's 50.
   */
  panicThresholdPercent?: number;
  /** EDS policy.overprovisioning_factor, percent (Envoy's 140): how early a priority spills to the next. */
  overprovisioningFactor?: number;
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

/**
 * Keep every user on one version of a weighted split, and move users only from earlier-listed
 * backends to later ones as weights shift (old → new).
 * - `ring`: one synthetic cluster holding every version's replicas on one ring, each with as
 *   many ring points as its share of the split (translate/sticky-split.ts). Both node kinds.
 * - `header`: Envoy's WeightedCluster `header_name`: the request header's integer value
 *   (e.g. the ext_proc bucket, 0–9999) picks the version. Envoy only; gRPC gets `ring`.
 */
export type StickySplitSpec = { mode: 'ring' } | { mode: 'header'; header: string };

/** Shadow traffic: a copy of `percent` % of the route's requests also goes to `backend`. */
export interface MirrorSpec {
  backend: string; // a BackendSpec name
  /** 0–100, at most 4 decimals. */
  percent: number;
}

export interface RouteSpec {
  name: string; // default "<service>-<index>"
  match: RouteMatchSpec;
  backends: WeightedBackend[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  hostRewrite?: string;
  timeoutMs?: number;
  /** Absent: a split picks the backend at random per request. Requires service affinity. */
  stickySplit?: StickySplitSpec;
  /** Shadow copies; in config order. Default none. */
  mirrors?: MirrorSpec[];
  retries?: RetrySpec;
}
