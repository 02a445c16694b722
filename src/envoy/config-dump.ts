/**
 * Envoy's `/config_dump?include_eds` read as the xDS resources it holds: the dynamic
 * listeners, route configurations, clusters and endpoint assignments (static ones come from
 * the bootstrap, not from a control plane), each in the JSON form Envoy prints, and the node
 * it identifies itself as.
 */
import { SHOWN_TYPES, TYPE_PREFIX, type ResourceTypeName } from './resource-types';

type JsonObject = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any


export interface DumpedResource {
  type: ResourceTypeName;
  name: string;
  /** The resource as Envoy prints it, without its "@type". */
  json: JsonObject;
  /** Received but not in use yet (a warming listener or cluster). */
  warming: boolean;
  versionInfo?: string;
}

export interface DumpedNode {
  id: string;
  cluster: string;
  userAgentName: string;
  /** node.metadata as JSON (a Struct printed as an object). */
  metadata: Record<string, unknown>;
}

export interface ConfigDump {
  node?: DumpedNode;
  resources: DumpedResource[];
}

const ADMIN_TYPE = `${TYPE_PREFIX}envoy.admin.v3.`;

/** The field naming a resource of each type (the table's: a ClusterLoadAssignment's is cluster_name). */
const NAME_FIELD = Object.fromEntries(SHOWN_TYPES.map((t) => [t.short, t.nameField])) as Record<ResourceTypeName, string>;

function withoutType(json: JsonObject): JsonObject {
  const { '@type': _type, ...rest } = json;
  return rest;
}

/** The resources and node of a parsed `/config_dump` answer. Throws on something that is not one. */
export function readConfigDump(dump: unknown): ConfigDump {
  const configs = (dump as { configs?: unknown } | null)?.configs;
  if (!Array.isArray(configs)) throw new Error('not an Envoy /config_dump answer (no "configs" list)');
  const section = (name: string): JsonObject | undefined => configs.find((c: JsonObject) => c?.['@type'] === `${ADMIN_TYPE}${name}`);
  const resources: DumpedResource[] = [];
  const add = (type: ResourceTypeName, json: JsonObject | undefined, warming: boolean, versionInfo?: string) => {
    if (!json) return;
    const name = String(json[NAME_FIELD[type]]);
    resources.push({ type, name, json: withoutType(json), warming, ...(versionInfo ? { versionInfo } : {}) });
  };

  for (const l of section('ListenersConfigDump')?.dynamic_listeners ?? []) {
    if (l.active_state) add('LDS', l.active_state.listener, false, l.active_state.version_info);
    else if (l.warming_state) add('LDS', l.warming_state.listener, true, l.warming_state.version_info);
  }
  for (const r of section('RoutesConfigDump')?.dynamic_route_configs ?? []) add('RDS', r.route_config, false, r.version_info);
  const clusters = section('ClustersConfigDump');
  for (const c of clusters?.dynamic_active_clusters ?? []) add('CDS', c.cluster, false, c.version_info);
  for (const c of clusters?.dynamic_warming_clusters ?? []) add('CDS', c.cluster, true, c.version_info);
  for (const e of section('EndpointsConfigDump')?.dynamic_endpoint_configs ?? []) add('EDS', e.endpoint_config, false, e.version_info);

  const node = section('BootstrapConfigDump')?.bootstrap?.node as JsonObject | undefined;
  return {
    resources,
    ...(node
      ? { node: { id: String(node.id ?? ''), cluster: String(node.cluster ?? ''), userAgentName: String(node.user_agent_name ?? ''), metadata: node.metadata ?? {} } }
      : {}),
  };
}

/** The message type of each short type name. */
export const MESSAGE_OF: Readonly<Record<ResourceTypeName, string>> = Object.fromEntries(SHOWN_TYPES.map((t) => [t.short, t.message])) as Record<ResourceTypeName, string>;
