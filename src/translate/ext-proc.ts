import type { ExtProcSpec, ServiceSpec, TetherConfig } from '../model/types';
import type { Cluster } from '../envoy/messages';
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import type { ProcessingMode } from '../generated/envoy/extensions/filters/http/ext_proc/v3/ProcessingMode';
import type { ExtProcOverrides } from '../generated/envoy/extensions/filters/http/ext_proc/v3/ExtProcOverrides';
import type { _envoy_config_route_v3_RouteAction_HashPolicy as HashPolicy } from '../generated/envoy/config/route/v3/RouteAction';
import { isIP } from 'node:net';
import { pack, type PackedAny } from '../envoy/encode';
import type { HttpFilterContext } from './types';
import {
  EXT_PROC_FILTER,
  EXT_PROC_PER_ROUTE_TYPE,
  EXT_PROC_TYPE,
  FILTER_CONFIG_TYPE,
  HTTP_PROTOCOL_OPTIONS_KEY,
  HTTP_PROTOCOL_OPTIONS_TYPE,
} from './names';
import { durationFromMs } from './proto-values';
import type { NodeKind } from '../model/node-targets';
import type { Warnings } from './warnings';

/**
 * ext_proc session keys (src/extproc/README.md): Tether's ext_proc server finds a service's key
 * where Envoy's hash policies cannot look and writes it into a header the route hashes on.
 *
 * - The HCM of an Envoy listener that serves at least one service with `affinity.sessionKey`
 *   gets the ext_proc filter, first (its header mutations and route-cache clearing must precede
 *   every filter that reads the route), `disabled: true`: it runs only where a route turns it on.
 * - Each route of such a service enables it (FilterConfig wrapper) with ExtProcPerRoute
 *   overrides: `grpc_initial_metadata x-tether-service: <service>`, which is how the server picks
 *   the policy (src/extproc/service.ts), and, with mintCookie, response headers sent too (for the
 *   Set-Cookie). Routes of other services on that listener say `disabled: true` explicitly.
 * - The route's hash_policy hashes the target header first, terminal, then the service's keys.
 * - The cluster comes from the Envoy bootstrap (`tether-extproc` in envoy/*.yaml), or over CDS
 *   when `extProc.address` is set.
 *
 * gRPC nodes get none of it: proxyless clients have no ext_proc (grpc-js-xds NACKs a filter it
 * does not implement), so they hash on the service's own keys only.
 */

/** Used when a model built elsewhere carries no extProc (the parser always fills it). */
const DEFAULT_EXT_PROC: ExtProcSpec = { cluster: 'tether-extproc', failureModeAllow: true, messageTimeoutMs: 200 };

export const SERVICE_METADATA_KEY = 'x-tether-service';

/**
 * Request headers only. Response headers are the per-route exception (mintCookie); the server
 * asks for the body itself (mode_override → BUFFERED) when a jsonBody source needs it. Every
 * field is written out: a header mode left at DEFAULT means SEND.
 */
const BASE_MODE: ProcessingMode = {
  request_header_mode: 'SEND',
  response_header_mode: 'SKIP',
  request_body_mode: 'NONE',
  response_body_mode: 'NONE',
  request_trailer_mode: 'SKIP',
  response_trailer_mode: 'SKIP',
};

export function hasSessionKey(service: ServiceSpec): boolean {
  return service.affinity?.sessionKey !== undefined;
}

function settings(config: TetherConfig): ExtProcSpec {
  return config.extProc ?? DEFAULT_EXT_PROC;
}

/** The HTTP filter contributor (http-filters.ts). */
export function extProcFilter(ctx: HttpFilterContext): HttpFilter[] {
  if (ctx.kind !== 'envoy' || !ctx.services.some(hasSessionKey)) return [];
  const ext = settings(ctx.config);
  return [
    {
      name: EXT_PROC_FILTER,
      disabled: true,
      typed_config: pack(EXT_PROC_TYPE, {
        // No grpc_service timeout: with response headers sent, a stream lives as long as the
        // upstream response; message_timeout bounds each exchange instead.
        grpc_service: { envoy_grpc: { cluster_name: ext.cluster } },
        failure_mode_allow: ext.failureModeAllow,
        message_timeout: durationFromMs(ext.messageTimeoutMs),
        allow_mode_override: true,
        processing_mode: BASE_MODE,
      }),
    },
  ];
}

/**
 * Route.typed_per_filter_config entry for a route of `service` on an Envoy listener, or
 * undefined when that listener has no ext_proc filter (no service there has a sessionKey).
 */
export function extProcPerRoute(service: ServiceSpec, listenerHasFilter: boolean): Record<string, PackedAny> | undefined {
  if (!listenerHasFilter) return undefined;
  const key = service.affinity?.sessionKey;
  if (!key) return { [EXT_PROC_FILTER]: pack(EXT_PROC_PER_ROUTE_TYPE, { disabled: true }) };
  const overrides: ExtProcOverrides = {
    grpc_initial_metadata: [{ key: SERVICE_METADATA_KEY, value: service.name }],
  };
  if (key.mintCookie !== undefined) overrides.processing_mode = { ...BASE_MODE, response_header_mode: 'SEND' };
  return {
    [EXT_PROC_FILTER]: pack(FILTER_CONFIG_TYPE, { config: pack(EXT_PROC_PER_ROUTE_TYPE, { overrides }) }),
  };
}

/** The hash policy on the header the ext_proc server writes (Envoy only), to go before the keys. */
export function sessionKeyHashPolicy(service: ServiceSpec, kind: NodeKind): HashPolicy[] {
  const key = service.affinity?.sessionKey;
  if (!key || kind !== 'envoy') return [];
  // Terminal: a key found by ext_proc decides alone; without it, the service's own keys do.
  return [{ header: { header_name: key.targetHeader }, terminal: true }];
}

/** One empty list: the translation's memo sees the same (empty) part again (unit-memo.ts joined). */
const NO_CLUSTERS = Object.freeze([]) as unknown as Cluster[];

/** The ext_proc cluster, when Tether sends it (extProc.address) and an Envoy listener uses it. */
export function extProcClusters(config: TetherConfig, kind: NodeKind): Cluster[] {
  const ext = settings(config);
  if (kind !== 'envoy' || ext.address === undefined) return NO_CLUSTERS;
  const used = config.services.some((s) => hasSessionKey(s) && config.listeners.some((l) => s.listeners.includes(l.name)));
  if (!used) return NO_CLUSTERS;
  const { host, port } = ext.address;
  return [
    {
      name: ext.cluster,
      // An IP needs no resolution; a name is resolved by Envoy (this cluster has no EDS).
      type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
      connect_timeout: durationFromMs(250),
      load_assignment: {
        cluster_name: ext.cluster,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
      },
      // gRPC: HTTP/2 to the ext_proc server.
      typed_extension_protocol_options: {
        [HTTP_PROTOCOL_OPTIONS_KEY]: pack(HTTP_PROTOCOL_OPTIONS_TYPE, { explicit_http_config: { http2_protocol_options: {} } }),
      },
    },
  ];
}

/** gRPC: one warning per service with a sessionKey (what its clients hash on instead). */
export function warnGrpcSessionKey(service: ServiceSpec, warnings: Warnings, path: string): void {
  if (!service.affinity?.sessionKey) return;
  const headerKeys = service.affinity.keys.some((k) => k.kind === 'header');
  warnings.add(
    `${path}.affinity.sessionKey`,
    'gRPC clients have no ext_proc: sessionKey left out; ' +
      (headerKeys ? 'they hash on the header keys of affinity.keys' : 'affinity.keys has no header key, so gRPC picks are not sticky for this service'),
  );
}
