/** xDS resource type URLs, and the order ADS pushes them in (make-before-break). */
export const TYPE_PREFIX = 'type.googleapis.com/';

export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** SDS over the ADS stream: a TLS listener's certificate (translate/listener-edge.ts). */
export const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type ResourceTypeUrl = typeof LISTENER_TYPE | typeof ROUTE_TYPE | typeof CLUSTER_TYPE | typeof ENDPOINT_TYPE | typeof SECRET_TYPE;

/**
 * A change is pushed in this order so that nothing refers to what the client lacks:
 * clusters first, then their endpoints, then the secrets listeners name, then listeners,
 * then the routes that point at them.
 */
export const PUSH_ORDER: readonly ResourceTypeUrl[] = [CLUSTER_TYPE, ENDPOINT_TYPE, SECRET_TYPE, LISTENER_TYPE, ROUTE_TYPE];

/** LDS and CDS subscriptions may be wildcard; RDS and EDS are always by name. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([LISTENER_TYPE, CLUSTER_TYPE]);

export const SHORT_NAMES: Readonly<Record<ResourceTypeUrl, string>> = {
  [LISTENER_TYPE]: 'LDS',
  [ROUTE_TYPE]: 'RDS',
  [CLUSTER_TYPE]: 'CDS',
  [ENDPOINT_TYPE]: 'EDS',
  [SECRET_TYPE]: 'SDS',
};

export function isResourceTypeUrl(typeUrl: string): typeUrl is ResourceTypeUrl {
  return typeUrl === LISTENER_TYPE || typeUrl === ROUTE_TYPE || typeUrl === CLUSTER_TYPE || typeUrl === ENDPOINT_TYPE || typeUrl === SECRET_TYPE;
}

/** `type.googleapis.com/a.b.C` → `a.b.C`. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.startsWith(TYPE_PREFIX) ? typeUrl.slice(TYPE_PREFIX.length) : typeUrl;
}

/**
 * Virtual hosts on their own (VHDS): served only to delta Envoy nodes that opt in
 * (xds/vhds.ts); not one of the four snapshot types.
 */
export const VIRTUAL_HOST_TYPE = 'type.googleapis.com/envoy.config.route.v3.VirtualHost';
