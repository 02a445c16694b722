/**
 * The resources a node is served, in their wire form: each translated resource encoded
 * through the real Envoy proto and decoded back (defaults filled in, int64 as strings, enums
 * by name), so explain and what-if read exactly what a client receives, not the typed input
 * objects translate/ builds them from.
 */
import { lookupEnvoyType } from '../envoy/protos';
import { encodeMessage } from '../envoy/encode';
import { CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE, messageNameOf, messageOf } from '../envoy/resource-types';
import type { Cluster__Output } from '../generated/envoy/config/cluster/v3/Cluster';
import type { ClusterLoadAssignment, ClusterLoadAssignment__Output } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { RouteConfiguration, RouteConfiguration__Output } from '../generated/envoy/config/route/v3/RouteConfiguration';
import type { EnvoyResources } from '../envoy/resources';
import { clientAddressPolicies, type ClientAddressPolicy } from './client-address';
import { runSteps, runStepsInTurns, type Steps } from '../util/steps';

export interface WireResources {
  routes: RouteConfiguration__Output[];
  clusters: Map<string, Cluster__Output>;
  /**
   * By cluster name: each cluster's assignment is the one named by its EDS service_name (a
   * gRPC sticky cluster's differs from its own name), and any assignment also by its own
   * cluster_name.
   */
  endpoints: Map<string, ClusterLoadAssignment__Output>;
  /**
   * By route configuration name: how the listener using it attributes requests to a client
   * address (client-address.ts). Absent or without the name: Envoy's defaults.
   */
  clientAddress?: Map<string, ClientAddressPolicy>;
}

/** The options the generated `__Output` types were made with (scripts/gen-types.sh). */
const OUTPUT_OPTIONS = { longs: String, enums: String, defaults: true, oneofs: true } as const;

/** Decodes `bytes` of `typeName` into its generated `__Output` shape. */
export function decodeOutput<T>(typeName: string, bytes: Uint8Array): T {
  const type = lookupEnvoyType(typeName);
  return type.toObject(type.decode(bytes), OUTPUT_OPTIONS) as T;
}

/** An encoded google.protobuf.Any (a resource as a snapshot holds and sends it), its payload decoded. */
export function decodeAnyBytes<T>(anyBytes: Uint8Array): T {
  const any = lookupEnvoyType('google.protobuf.Any').decode(anyBytes) as unknown as { type_url: string; value: Uint8Array };
  return decodeOutput<T>(messageNameOf(any.type_url), any.value);
}

/** An Any's type URL ('' when absent). Typed loosely: the generated Any__Output is a union. */
export function anyTypeUrl(any: unknown): string {
  const url = (any as { type_url?: unknown } | null | undefined)?.type_url;
  return typeof url === 'string' ? url : '';
}

/** An Any's payload decoded, or undefined when it is absent. */
export function unpackAny<T>(any: unknown): T | undefined {
  const typeUrl = anyTypeUrl(any);
  if (!typeUrl) return undefined;
  const value = (any as { value?: unknown }).value;
  return decodeOutput<T>(messageNameOf(typeUrl), value instanceof Uint8Array ? value : new Uint8Array());
}

/**
 * A cluster's ClusterLoadAssignment, looked up as clients do: by its EDS service_name, else its
 * own name (a stable ring's assignment is named after its shape: translate/assignment-names.ts).
 */
export function assignmentOf(resources: WireResources, cluster: Cluster__Output): ClusterLoadAssignment__Output | undefined {
  return resources.endpoints.get(cluster.eds_cluster_config?.service_name || cluster.name);
}

export function wireResources(resources: EnvoyResources): WireResources {
  return runSteps(wireSteps(resources));
}

/**
 * The same, letting the event loop in (`pause`) whenever about `sliceMs` of decoding has
 * passed: a 10,000-service config is 30,000 resources, a 2,000-endpoint assignment alone
 * tens of ms.
 */
export function wireResourcesInTurns(resources: EnvoyResources, pause: () => Promise<unknown>, sliceMs = 10): Promise<WireResources> {
  return runStepsInTurns(wireSteps(resources), sliceMs, pause);
}

/** Converts one resource per step. */
function* wireSteps(resources: EnvoyResources): Steps<WireResources> {
  const routes: RouteConfiguration__Output[] = [];
  for (const r of resources.routes) {
    routes.push(yield* routeConfigurationSteps(r));
    yield;
  }
  const clusters = new Map<string, Cluster__Output>();
  for (const c of resources.clusters) {
    const decoded = decodeOutput<Cluster__Output>(messageOf(CLUSTER_TYPE), encodeMessage(messageOf(CLUSTER_TYPE), c));
    clusters.set(decoded.name, decoded);
    yield;
  }
  const endpoints = new Map<string, ClusterLoadAssignment__Output>();
  for (const e of resources.endpoints) {
    const decoded = yield* assignmentSteps(e);
    endpoints.set(decoded.cluster_name, decoded);
    yield;
  }
  for (const c of clusters.values()) {
    const service = c.eds_cluster_config?.service_name;
    const assignment = service ? endpoints.get(service) : undefined;
    if (assignment && service !== c.name) endpoints.set(c.name, assignment);
  }
  return { routes, clusters, endpoints, clientAddress: clientAddressPolicies(resources.listeners) };
}

/** Virtual hosts converted per step (10,000 services in one RouteConfiguration: ~0.4 s in one go; 100 per step were 10–20 ms on a loaded box). */
const VIRTUAL_HOST_CHUNK = 50;

/** A route configuration in steps of VIRTUAL_HOST_CHUNK virtual hosts, as assignmentSteps does with endpoints. */
function* routeConfigurationSteps(r: RouteConfiguration): Steps<RouteConfiguration__Output> {
  const RC = messageOf(ROUTE_TYPE);
  const hosts = r.virtual_hosts ?? [];
  if (hosts.length <= VIRTUAL_HOST_CHUNK) return decodeOutput<RouteConfiguration__Output>(RC, encodeMessage(RC, r));
  const shell = decodeOutput<RouteConfiguration__Output>(RC, encodeMessage(RC, { ...r, virtual_hosts: [] }));
  const decoded: RouteConfiguration__Output['virtual_hosts'] = [];
  for (let k = 0; k < hosts.length; k += VIRTUAL_HOST_CHUNK) {
    yield;
    decoded.push(...decodeOutput<RouteConfiguration__Output>(RC, encodeMessage(RC, { name: r.name, virtual_hosts: hosts.slice(k, k + VIRTUAL_HOST_CHUNK) })).virtual_hosts);
  }
  shell.virtual_hosts = decoded;
  return shell;
}

/** Endpoints converted per step: ~4 ms of CPU. */
const ENDPOINT_CHUNK = 250;

/**
 * One assignment in steps of ENDPOINT_CHUNK endpoints (2,000 in one go hold the loop ~35 ms):
 * the assignment without its endpoints, then each locality's endpoints a chunk at a time, each
 * chunk encoded and decoded as an assignment of its own (decoding a repeated field piece by
 * piece gives the same objects).
 */
function* assignmentSteps(e: ClusterLoadAssignment): Steps<ClusterLoadAssignment__Output> {
  const CLA = messageOf(ENDPOINT_TYPE);
  const localities = e.endpoints ?? [];
  if (localities.reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0) <= ENDPOINT_CHUNK) {
    return decodeOutput<ClusterLoadAssignment__Output>(CLA, encodeMessage(CLA, e));
  }
  const shell = decodeOutput<ClusterLoadAssignment__Output>(CLA, encodeMessage(CLA, { ...e, endpoints: localities.map((l) => ({ ...l, lb_endpoints: [] })) }));
  for (const [i, locality] of localities.entries()) {
    const all = locality.lb_endpoints ?? [];
    const decoded: ClusterLoadAssignment__Output['endpoints'][number]['lb_endpoints'] = [];
    for (let k = 0; k < all.length; k += ENDPOINT_CHUNK) {
      yield;
      const part = decodeOutput<ClusterLoadAssignment__Output>(CLA, encodeMessage(CLA, { cluster_name: e.cluster_name, endpoints: [{ lb_endpoints: all.slice(k, k + ENDPOINT_CHUNK) }] }));
      decoded.push(...part.endpoints[0]!.lb_endpoints);
    }
    shell.endpoints[i]!.lb_endpoints = decoded;
  }
  return shell;
}
