import type { Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, Secret } from '../envoy/messages';

/**
 * The two kinds of xDS client Tether serves. Envoy gets real listeners (address + port)
 * with an HTTP connection manager; proxyless gRPC gets one api_listener per service,
 * named after it, and no Envoy-only filters. See xds/node-kind.ts for how a node is classified.
 */
export type NodeKind = 'envoy' | 'grpc';
export const NODE_KINDS: readonly NodeKind[] = ['envoy', 'grpc'];

/** One upstream address after DNS resolution (EDS carries IPs only). */
export interface ResolvedEndpoint {
  ip: string;
  port: number;
  weight: number;
  /** The configured DNS name, when the endpoint came from one. */
  hostname?: string;
  /** The configured endpoint says `drain: true` (see EndpointSpec.drain). */
  drain?: boolean;
}

/** Backend name → its resolved endpoints, in config order. */
export type ResolvedEndpoints = ReadonlyMap<string, readonly ResolvedEndpoint[]>;

/** A TLS listener's certificate chain and private key, PEM, as read from its files (resolve/tls-files.ts). */
export interface TlsPair {
  readonly certificateChain: string;
  readonly privateKey: string;
}

/** Listener name → its pair; only listeners with `tls` whose files were read. */
export type TlsMaterial = ReadonlyMap<string, TlsPair>;

/** Everything one kind of node is served, as typed Envoy messages. */
export interface EnvoyResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  /**
   * SDS: the certificates of TLS listeners (Envoy nodes). Optional so that code which only
   * shows or compares resources never meets key material: diffs and displays leave it out.
   */
  secrets?: Secret[];
}

/**
 * Something the translation had to drop or change because a kind of node cannot express it
 * (mostly proxyless gRPC), or because the input could not be emitted as given. Data, not logs:
 * translate/ stays pure; callers decide whether to log, surface or ignore these.
 */
export interface TranslateWarning {
  /** Where in the model, e.g. `services[shop].routes[canary].match.queryParams`. */
  path: string;
  message: string;
}

export interface TranslateResult {
  resources: EnvoyResources;
  /** In a stable order (model order), so two runs on the same input give equal lists. */
  warnings: TranslateWarning[];
}
