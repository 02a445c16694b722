import type { ListenerSpec, ServiceSpec, TetherConfig } from '../model/types';
import type { HttpConnectionManager, Listener } from '../envoy/messages';
import { pack } from '../envoy/encode';
import { httpFilters } from './http-filters';
import { HCM_TYPE, HTTP_CONNECTION_MANAGER_FILTER } from './names';
import { byName } from './proto-values';
import { mapOf, nameOf, sortedBy, unitOf, type UnitMemo } from './unit-memo';
import { Warnings } from './warnings';
import type { Steps } from '../util/steps';
import { downstreamTls, hcmEdgeFields, listenerEdgeFields } from './listener-edge';

/**
 * Envoy: a real listener per ListenerSpec, its routes fetched by RDS over ADS. With a memo, a
 * listener is built again only when its spec, the config's other global fields or its HTTP
 * filters changed: packing its connection manager is most of a small config's translation, and
 * an edit of a route changes none of them.
 */
export function envoyListeners(config: TetherConfig, memo?: UnitMemo): Listener[] {
  const globals = memo?.globals(config) ?? [];
  const none = new Warnings();
  return [...config.listeners].sort(byName).map((listener) => {
    const services = config.services.filter((s) => s.listeners.includes(listener.name));
    const filters = httpFilters({ config, kind: 'envoy', services });
    // The filters are the listener's only input besides its spec and the globals: their
    // encoded form (small, a few filters) keys it, whatever a filter contributor reads.
    return unitOf(memo, 'envoy-listener', listener, [globals, JSON.stringify(filters)], none, () => envoyListener(listener, filters));
  });
}

function envoyListener(listener: ListenerSpec, filters: HttpConnectionManager['http_filters']): Listener {
  const hcm: HttpConnectionManager = {
    stat_prefix: listener.name,
    codec_type: 'AUTO',
    ...rds(listener.name),
    http_filters: filters,
    ...hcmEdgeFields(listener),
  };
  const tls = downstreamTls(listener);
  return {
    name: listener.name,
    address: { socket_address: { address: listener.address, port_value: listener.port } },
    ...listenerEdgeFields(listener),
    filter_chains: [{ filters: [{ name: HTTP_CONNECTION_MANAGER_FILTER, typed_config: pack(HCM_TYPE, hcm) }], ...(tls ? { transport_socket: tls } : {}) }],
  };
}

/**
 * Proxyless gRPC: a client dialing `xds:///<service>` asks LDS for a Listener named exactly
 * `<service>` and reads only its api_listener (no address, no filter chains).
 */
export function* grpcListeners(config: TetherConfig, memo?: UnitMemo): Steps<Listener[]> {
  const globals = memo?.globals(config) ?? [];
  const none = new Warnings();
  // Position by position (UnitMemo.map): a one-route edit reads the edited service only.
  const out = yield* mapOf(memo, 'grpc-listeners', sortedBy(memo, 'services', config.services, nameOf), globals, none, (service) =>
    unitOf(memo, 'grpc-listener', service, globals, none, () => grpcListener(config, service)),
  );
  return out as Listener[];
}

function grpcListener(config: TetherConfig, service: ServiceSpec): Listener {
  const hcm: HttpConnectionManager = {
    // Unused by gRPC, but Envoy's proto validation requires it (min_len 1): keeps the
    // resource valid for any checker that applies those rules.
    stat_prefix: service.name,
    ...rds(service.name),
    http_filters: httpFilters({ config, kind: 'grpc', services: [service] }),
  };
  return { name: service.name, api_listener: { api_listener: pack(HCM_TYPE, hcm) } };
}

/** RDS over the ADS stream; the RouteConfiguration carries the same name. */
function rds(routeConfigName: string): Pick<HttpConnectionManager, 'rds'> {
  return { rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } } };
}
