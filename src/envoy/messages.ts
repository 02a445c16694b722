/**
 * The Envoy messages Tether builds, by fully-qualified proto name. Every typed_config Tether
 * emits goes through `pack()` with one of these names, so its object literal is checked
 * against the generated type at compile time (a misspelled field does not compile).
 */
import type { Listener } from '../generated/envoy/config/listener/v3/Listener';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration';
import type { VirtualHost } from '../generated/envoy/config/route/v3/VirtualHost';
import type { FilterConfig } from '../generated/envoy/config/route/v3/FilterConfig';
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { HttpConnectionManager } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { Router } from '../generated/envoy/extensions/filters/http/router/v3/Router';
import type { StatefulSession } from '../generated/envoy/extensions/filters/http/stateful_session/v3/StatefulSession';
import type { StatefulSessionPerRoute } from '../generated/envoy/extensions/filters/http/stateful_session/v3/StatefulSessionPerRoute';
import type { CookieBasedSessionState } from '../generated/envoy/extensions/http/stateful_session/cookie/v3/CookieBasedSessionState';
import type { HeaderBasedSessionState } from '../generated/envoy/extensions/http/stateful_session/header/v3/HeaderBasedSessionState';
import type { ExternalProcessor } from '../generated/envoy/extensions/filters/http/ext_proc/v3/ExternalProcessor';
import type { ExtProcPerRoute } from '../generated/envoy/extensions/filters/http/ext_proc/v3/ExtProcPerRoute';
import type { RingHash } from '../generated/envoy/extensions/load_balancing_policies/ring_hash/v3/RingHash';
import type { Maglev } from '../generated/envoy/extensions/load_balancing_policies/maglev/v3/Maglev';
import type { HttpProtocolOptions } from '../generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions';
import type { Bootstrap } from '../generated/envoy/config/bootstrap/v3/Bootstrap';
import type { UpstreamTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext';
import type { PreviousHostsPredicate } from '../generated/envoy/extensions/retry/host/previous_hosts/v3/PreviousHostsPredicate';
import type { StdoutAccessLog } from '../generated/envoy/extensions/access_loggers/stream/v3/StdoutAccessLog';
import type { FileAccessLog } from '../generated/envoy/extensions/access_loggers/file/v3/FileAccessLog';
import type { DownstreamTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext';
import type { Secret } from '../generated/envoy/extensions/transport_sockets/tls/v3/Secret';

export type { Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, HttpConnectionManager, Bootstrap, Secret };
// Fields of newer Envoys the bundled protos lack, merged into the generated types (newer-api.ts).
export type { CookieAttribute } from './newer-api-types';

export interface EnvoyMessages {
  'envoy.config.listener.v3.Listener': Listener;
  'envoy.config.route.v3.RouteConfiguration': RouteConfiguration;
  'envoy.config.route.v3.VirtualHost': VirtualHost;
  'envoy.config.route.v3.FilterConfig': FilterConfig;
  'envoy.config.cluster.v3.Cluster': Cluster;
  'envoy.config.endpoint.v3.ClusterLoadAssignment': ClusterLoadAssignment;
  'envoy.config.bootstrap.v3.Bootstrap': Bootstrap;
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': HttpConnectionManager;
  'envoy.extensions.filters.http.router.v3.Router': Router;
  'envoy.extensions.filters.http.stateful_session.v3.StatefulSession': StatefulSession;
  'envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute': StatefulSessionPerRoute;
  'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState': CookieBasedSessionState;
  'envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState': HeaderBasedSessionState;
  'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor': ExternalProcessor;
  'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute': ExtProcPerRoute;
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash': RingHash;
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev': Maglev;
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': HttpProtocolOptions;
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext': UpstreamTlsContext;
  'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate': PreviousHostsPredicate;
  'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog': StdoutAccessLog;
  'envoy.extensions.access_loggers.file.v3.FileAccessLog': FileAccessLog;
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext': DownstreamTlsContext;
  'envoy.extensions.transport_sockets.tls.v3.Secret': Secret;
}

export type EnvoyMessageName = keyof EnvoyMessages;
