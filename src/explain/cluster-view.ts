/**
 * What a served Cluster, its ClusterLoadAssignment and a route's hash_policy list mean to
 * the balancer of one kind of client, in src/affinity's terms: a BalancerSpec, the endpoints
 * in EDS order, and the AffinityKeys. Both the legacy form (`lb_policy` + `ring_hash_lb_config`
 * / `maglev_lb_config` + `common_lb_config`) and the typed `load_balancing_policy` extensions
 * are read, so whichever translate/ emits is explained as served.
 */
import { DEFAULT_MIN_RING_SIZE, isHashing, MAGLEV_DEFAULT_TABLE_SIZE, MAX_RING_SIZE, type AffinityEndpoint, type Flavour } from '../affinity';
import { TYPE_PREFIX } from '../envoy/resource-types';
import type { Cluster__Output } from '../generated/envoy/config/cluster/v3/Cluster';
import type { ClusterLoadAssignment__Output } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { LbEndpoint__Output } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import type { _envoy_config_route_v3_RouteAction_HashPolicy__Output as HashPolicy } from '../generated/envoy/config/route/v3/RouteAction';
import type { Maglev__Output } from '../generated/envoy/extensions/load_balancing_policies/maglev/v3/Maglev';
import type { RingHash__Output } from '../generated/envoy/extensions/load_balancing_policies/ring_hash/v3/RingHash';
import type { AffinityKey, BalancerSpec } from '../model/types';
import { anyTypeUrl, decodeAnyBytes, unpackAny } from './wire';

export interface ClusterBalancer {
  balancer: BalancerSpec;
  /** Hash hosts by their EDS hostname instead of their address (Envoy only). */
  useHostname: boolean;
  /** Caveats worth showing next to a pick. */
  notes: string[];
  /** Set when the client hashes in a way not modelled here: no pick can be predicted. */
  unsupported?: string;
}

const POLICY_PREFIX = `${TYPE_PREFIX}envoy.extensions.load_balancing_policies.`;
const RING_HASH_TYPE = 'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash';
const MAGLEV_TYPE = 'envoy.extensions.load_balancing_policies.maglev.v3.Maglev';

const num = (v: { value: string | number } | null | undefined, fallback: number): number => (v ? Number(v.value) : fallback);

/** Reads consistent_hashing_lb_config: adds the bounded-load caveat, returns whether hosts hash by hostname. */
function consistentHashing(notes: string[], flavour: Flavour, cfg: { use_hostname_for_hashing: boolean; hash_balance_factor: { value: number } | null } | null | undefined): boolean {
  if (!cfg) return false;
  if (cfg.hash_balance_factor && flavour === 'envoy') {
    notes.push(
      `bounded load (hash_balance_factor ${cfg.hash_balance_factor.value}): while the picked replica is above its load bound, Envoy moves the request to the next one; the pick shown assumes it is not`,
    );
  }
  return flavour === 'envoy' && cfg.use_hostname_for_hashing;
}

/** The balancer a client of `flavour` runs for `cluster`. */
export function clusterBalancer(cluster: Cluster__Output, flavour: Flavour): ClusterBalancer {
  const notes: string[] = [];
  const typed = cluster.load_balancing_policy?.policies ?? [];
  if (typed.length > 0) {
    for (const policy of typed) {
      const any = policy.typed_extension_config?.typed_config;
      const typeUrl = anyTypeUrl(any);
      if (typeUrl === `${TYPE_PREFIX}${RING_HASH_TYPE}`) {
        const rh = unpackAny<RingHash__Output>(any)!;
        // The deprecated top-level fields apply when consistent_hashing_lb_config is absent.
        const useHostname = consistentHashing(
          notes,
          flavour,
          rh.consistent_hashing_lb_config ?? { use_hostname_for_hashing: rh.use_hostname_for_hashing, hash_balance_factor: rh.hash_balance_factor },
        );
        const out: ClusterBalancer = {
          balancer: { type: 'ring_hash', minRingSize: num(rh.minimum_ring_size, DEFAULT_MIN_RING_SIZE), maxRingSize: num(rh.maximum_ring_size, MAX_RING_SIZE) },
          useHostname,
          notes,
        };
        if (rh.hash_function !== 'XX_HASH' && rh.hash_function !== 'DEFAULT_HASH') out.unsupported = `ring hash function ${rh.hash_function} is not modelled`;
        return out;
      }
      if (typeUrl === `${TYPE_PREFIX}${MAGLEV_TYPE}`) {
        const mg = unpackAny<Maglev__Output>(any)!;
        const useHostname = consistentHashing(notes, flavour, mg.consistent_hashing_lb_config);
        return { balancer: { type: 'maglev', tableSize: num(mg.table_size, MAGLEV_DEFAULT_TABLE_SIZE) }, useHostname, notes };
      }
      if (typeUrl.startsWith(POLICY_PREFIX)) {
        const name = typeUrl.slice(POLICY_PREFIX.length).split('.')[0];
        if (name === 'round_robin') return { balancer: { type: 'round_robin' }, useHostname: false, notes };
        if (name === 'random') return { balancer: { type: 'random' }, useHostname: false, notes };
        if (name === 'least_request') return { balancer: { type: 'least_request', choiceCount: 2 }, useHostname: false, notes };
      }
    }
    const names = typed.map((p) => anyTypeUrl(p.typed_extension_config?.typed_config) || '?').join(', ');
    return { balancer: { type: 'round_robin' }, useHostname: false, notes, unsupported: `load_balancing_policy ${names} is not modelled` };
  }

  const common = cluster.common_lb_config?.consistent_hashing_lb_config;
  switch (cluster.lb_policy) {
    case 'RING_HASH': {
      const rh = cluster.ring_hash_lb_config;
      const useHostname = consistentHashing(notes, flavour, common);
      const out: ClusterBalancer = {
        balancer: { type: 'ring_hash', minRingSize: num(rh?.minimum_ring_size, DEFAULT_MIN_RING_SIZE), maxRingSize: num(rh?.maximum_ring_size, MAX_RING_SIZE) },
        useHostname,
        notes,
      };
      if (rh && rh.hash_function !== 'XX_HASH') out.unsupported = `ring hash function ${rh.hash_function} is not modelled`;
      return out;
    }
    case 'MAGLEV': {
      const useHostname = consistentHashing(notes, flavour, common);
      return { balancer: { type: 'maglev', tableSize: num(cluster.maglev_lb_config?.table_size, MAGLEV_DEFAULT_TABLE_SIZE) }, useHostname, notes };
    }
    case 'LEAST_REQUEST':
      return { balancer: { type: 'least_request', choiceCount: 2 }, useHostname: false, notes };
    case 'RANDOM':
      return { balancer: { type: 'random' }, useHostname: false, notes };
    default:
      return { balancer: { type: 'round_robin' }, useHostname: false, notes };
  }
}

/** `envoy.lb` metadata `hash_key`, which Envoy hashes instead of the address. */
function hashKeyOf(lb: LbEndpoint__Output): string | undefined {
  const fields = (lb.metadata?.filter_metadata?.['envoy.lb'] as { fields?: Record<string, Record<string, unknown>> } | undefined)?.fields;
  const value = fields?.hash_key;
  const text = value?.string_value ?? value?.stringValue;
  return typeof text === 'string' && text !== '' ? text : undefined;
}

/**
 * The assignment's endpoints per priority (0 first), each in EDS order (localities in order,
 * then their endpoints), as the balancer library takes them: DRAINING (and any health other
 * than UNKNOWN/HEALTHY) is marked drained, which both clients exclude.
 */
export function endpointsByPriority(cla: ClusterLoadAssignment__Output | undefined, useHostname: boolean): AffinityEndpoint[][] {
  const byPriority = new Map<number, AffinityEndpoint[]>();
  for (const locality of cla?.endpoints ?? []) {
    const list = byPriority.get(locality.priority) ?? [];
    byPriority.set(locality.priority, list);
    for (const lb of locality.lb_endpoints) {
      const socket = lb.endpoint?.address?.socket_address;
      if (!socket) continue;
      const endpoint: AffinityEndpoint = { ip: socket.address, port: socket.port_value ?? 0, weight: lb.load_balancing_weight?.value || 1 };
      if (lb.health_status !== 'UNKNOWN' && lb.health_status !== 'HEALTHY') endpoint.drain = true;
      const hashKey = hashKeyOf(lb) ?? (useHostname && lb.endpoint?.hostname ? lb.endpoint.hostname : undefined);
      if (hashKey !== undefined) endpoint.hashKey = hashKey;
      list.push(endpoint);
    }
  }
  return [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => list);
}

/**
 * The endpoints a hashing balancer places sessions on while they are all healthy: those of the
 * first priority with a live (not drained) endpoint. Envoy and gRPC build one ring per priority
 * and send a session to a lower one only as the higher one loses health (with Tether's
 * overprovisioning for consistent-hash backends, only once it has no healthy endpoint left).
 */
export function clusterEndpoints(cla: ClusterLoadAssignment__Output | undefined, useHostname: boolean): AffinityEndpoint[] {
  const priorities = endpointsByPriority(cla, useHostname);
  return priorities.find((list) => list.some((e) => !e.drain)) ?? priorities[0] ?? [];
}

/** A hashing balancer as a client builds it from what it is served, and the endpoints it places sessions on. */
export interface ServedHashBalancer {
  balancer: Extract<BalancerSpec, { type: 'ring_hash' | 'maglev' }>;
  endpoints: AffinityEndpoint[];
}

/**
 * The hashing balancer a client of `flavour` builds from a served Cluster and its
 * ClusterLoadAssignment, given as the encoded Anys a snapshot sends; undefined when the cluster
 * does not hash, or hashes in a way not modelled here. Throws on bytes it cannot decode.
 */
export function servedHashBalancer(clusterAny: Uint8Array, assignmentAny: Uint8Array | undefined, flavour: Flavour): ServedHashBalancer | undefined {
  const lb = clusterBalancer(decodeAnyBytes<Cluster__Output>(clusterAny), flavour);
  if (!isHashing(lb.balancer) || lb.unsupported) return undefined;
  const assignment = assignmentAny && decodeAnyBytes<ClusterLoadAssignment__Output>(assignmentAny);
  return { balancer: lb.balancer, endpoints: clusterEndpoints(assignment, lb.useHostname) };
}

/**
 * Where sessions go when `address` is out (ejected by outlier detection, failing its health
 * checks, or drained): its own priority without it, or the next priority with a live endpoint
 * when it was the last one. Envoy rebuilds the ring from the healthy hosts, so each of the
 * replica's sessions moves to the replica of the next ring entry; the others stay.
 */
export function endpointsWithout(cla: ClusterLoadAssignment__Output | undefined, useHostname: boolean, address: string | ReadonlySet<string>): AffinityEndpoint[] {
  const out = typeof address === 'string' ? (a: string) => a === address : (a: string) => address.has(a);
  const priorities = endpointsByPriority(cla, useHostname).map((list) => list.map((e) => (out(`${e.ip}:${e.port}`) ? { ...e, drain: true } : e)));
  return priorities.find((list) => list.some((e) => !e.drain)) ?? [];
}

export interface RouteKeys {
  keys: AffinityKey[];
  notes: string[];
}

/** A route's hash_policy list as affinity keys, in order. */
export function routeKeys(policies: readonly HashPolicy[]): RouteKeys {
  const keys: AffinityKey[] = [];
  const notes: string[] = [];
  for (const p of policies) {
    const terminal = p.terminal;
    switch (p.policy_specifier) {
      case 'header':
        if (p.header?.regex_rewrite?.pattern) notes.push(`the regex_rewrite of header ${p.header.header_name} is not applied here`);
        keys.push({ kind: 'header', name: p.header?.header_name ?? '', terminal });
        break;
      case 'cookie': {
        const c = p.cookie!;
        const key: AffinityKey = { kind: 'cookie', name: c.name, terminal };
        if (c.ttl) key.ttlMs = Number(c.ttl.seconds) * 1000 + Math.floor(c.ttl.nanos / 1e6);
        if (c.path) key.path = c.path;
        keys.push(key);
        break;
      }
      case 'connection_properties':
        // Without source_ip Envoy adds no hash method at all (its terminal flag included).
        if (p.connection_properties?.source_ip) keys.push({ kind: 'clientIp', terminal });
        break;
      case 'query_parameter':
        keys.push({ kind: 'queryParameter', name: p.query_parameter?.name ?? '', terminal });
        break;
      default:
        notes.push(`hash policy ${p.policy_specifier ?? '(empty)'} is not evaluated here`);
    }
  }
  return { keys, notes };
}
