import { lookupEnvoyType } from '../envoy/protos';
import {
  CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_TYPE,
  TYPE_PREFIX,
  type ResourceTypeUrl,
} from '../envoy/resource-types';
import type { Cluster, Listener, RouteConfiguration } from '../envoy/messages';

const HCM_NAME = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EDS_DISCOVERY_TYPE = 3;

/** Tether packs every Any with pack() ({type_url, value}); anything else names nothing. */
function rdsNameOf(any: object | null | undefined): string | undefined {
  const { type_url, value } = (any ?? {}) as { type_url?: unknown; value?: unknown };
  if (type_url !== TYPE_PREFIX + HCM_NAME || !(value instanceof Uint8Array)) return undefined;
  const hcm = lookupEnvoyType(HCM_NAME).decode(value) as unknown as { rds?: { route_config_name?: string } | null };
  return hcm.rds?.route_config_name || undefined;
}

function listenerRefs(l: Listener): string[] {
  const anys: (object | null | undefined)[] = [l.api_listener?.api_listener];
  for (const chain of [...(l.filter_chains ?? []), l.default_filter_chain]) {
    for (const f of chain?.filters ?? []) anys.push(f.typed_config);
  }
  return anys.map(rdsNameOf).filter((n): n is string => !!n);
}

type VirtualHost = NonNullable<RouteConfiguration['virtual_hosts']>[number];
/** Per virtual host (messages are never modified once built): a big route config changed in one host reads one. */
const hostRefs = new WeakMap<VirtualHost, readonly string[]>();

/** The clusters one virtual host routes to (with repeats), once per host message. */
export function virtualHostReferences(vh: VirtualHost): readonly string[] {
  let refs = hostRefs.get(vh);
  if (!refs) hostRefs.set(vh, (refs = virtualHostRefs(vh)));
  return refs;
}

function routeRefs(r: RouteConfiguration): string[] {
  const names: string[] = [];
  for (const vh of r.virtual_hosts ?? []) for (const name of virtualHostReferences(vh)) names.push(name);
  return names;
}

function virtualHostRefs(vh: VirtualHost): string[] {
  const names: string[] = [];
  for (const route of vh.routes ?? []) {
    const action = route.route;
    if (!action) continue;
    if (action.cluster) names.push(action.cluster);
    for (const wc of action.weighted_clusters?.clusters ?? []) if (wc.name) names.push(wc.name);
    for (const m of action.request_mirror_policies ?? []) if (m.cluster) names.push(m.cluster);
  }
  return names;
}

function clusterRefs(c: Cluster): string[] {
  const isEds = c.type === 'EDS' || (c.type as unknown) === EDS_DISCOVERY_TYPE;
  return isEds && c.name ? [c.eds_cluster_config?.service_name || c.name] : [];
}

/**
 * Names of the resources of REFERENCED_TYPE[typeUrl] that `message` needs, deduplicated and
 * sorted. Lets a stream tell that a node has not finished subscribing (it holds a listener
 * whose route config it has not asked for yet) before reporting a config version applied.
 */
export function referencesOf(typeUrl: ResourceTypeUrl, message: unknown): readonly string[] {
  let names: string[];
  switch (typeUrl) {
    case LISTENER_TYPE:
      names = listenerRefs(message as Listener);
      break;
    case ROUTE_TYPE:
      names = routeRefs(message as RouteConfiguration);
      break;
    case CLUSTER_TYPE:
      names = clusterRefs(message as Cluster);
      break;
    default:
      names = [];
  }
  return [...new Set(names)].sort();
}
