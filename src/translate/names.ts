/**
 * Well-known names Envoy and grpc-js-xds look for, and the few derived resource names. Resource
 * names are otherwise the model's names (listener, service, backend): a listener's
 * RouteConfiguration is named after the listener, a gRPC service's Listener and
 * RouteConfiguration after the service, a Cluster and its ClusterLoadAssignment after the
 * backend — except a stable ring's assignment (ringShapeAssignmentName) and sticky-split clusters.
 */

export const HTTP_CONNECTION_MANAGER_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Key of Cluster.typed_extension_protocol_options that Envoy reads HttpProtocolOptions from. */
export const HTTP_PROTOCOL_OPTIONS_KEY = HTTP_PROTOCOL_OPTIONS_TYPE;

/** grpc-js-xds clamps the ring to `grpc.lb.ring_hash.ring_size_cap`, 4096 by default. */
export const GRPC_RING_SIZE_CAP = 4096;

/** Endpoint metadata namespace whose `hash_key` Envoy's hashing balancers read. */
export const LB_METADATA_NAMESPACE = 'envoy.lb';

export const STATEFUL_SESSION_FILTER = 'envoy.filters.http.stateful_session';
export const STATEFUL_SESSION_TYPE = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSession';
export const STATEFUL_SESSION_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute';
export const COOKIE_SESSION_STATE = 'envoy.http.stateful_session.cookie';
export const COOKIE_SESSION_STATE_TYPE = 'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState';
export const HEADER_SESSION_STATE = 'envoy.http.stateful_session.header';
export const HEADER_SESSION_STATE_TYPE = 'envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState';

export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';
export const EXT_PROC_TYPE = 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
export const EXT_PROC_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
/** The wrapper that enables, per route, a filter the HCM lists with `disabled: true`. */
export const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';

/**
 * The synthetic cluster of a stickySplit route (translate/sticky-split.ts). `~` cannot occur in
 * Tether names, so it never collides with a backend's cluster.
 */
export function stickyClusterName(service: string, route: string): string {
  return `${service}~${route}~sticky`;
}

/**
 * The ClusterLoadAssignment (EDS service_name) of a backend with a stable ring of `minRingSize`
 * entries: one name per ring shape, so a scale event gives the cluster a new assignment instead
 * of new endpoints under the old size (translate/assignment-names.ts).
 */
export function ringShapeAssignmentName(backend: string, minRingSize: number): string {
  return `${backend}~ring${minRingSize}`;
}

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const UPSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
export const STDOUT_ACCESS_LOG = 'envoy.access_loggers.stdout';
export const STDOUT_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const FILE_ACCESS_LOG = 'envoy.access_loggers.file';
export const FILE_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/**
 * The SDS Secret holding a TLS listener's certificate (translate/listener-edge.ts). `~` cannot
 * occur in Tether names, so it never collides with a listener, service or backend name.
 */
export function listenerSecretName(listener: string): string {
  return `${listener}~tls`;
}
