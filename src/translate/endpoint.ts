import { isIP } from 'node:net';
import type { BackendSpec, EndpointSpec, TetherConfig } from '../model/types';
import type { ClusterLoadAssignment } from '../envoy/messages';
import type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import type { NodeKind } from '../model/node-targets';
import type { ResolvedEndpoint, ResolvedEndpoints } from '../model/resolved';
import { LB_METADATA_NAMESPACE } from './names';
import { backendPath, type Warnings } from './warnings';
import { nameOf, sortedBy, unitOf, type UnitMemo } from './unit-memo';
import { stepDue, type Steps } from '../util/steps';

const NO_ENDPOINTS: readonly ResolvedEndpoint[] = Object.freeze([]);
const NO_PREPARED: readonly PreparedEndpoint[] = Object.freeze([]);

/** A resolved endpoint, duplicates folded, with the hash key its config endpoint gives. */
export interface PreparedEndpoint extends ResolvedEndpoint {
  hashKey?: string;
  /** From the config endpoint (locality.zone and EDS priority); see localities(). */
  zone?: string;
  priority?: number;
}

/** Backend name → its endpoints as every resource of the snapshot sees them. */
export type PreparedEndpoints = ReadonlyMap<string, readonly PreparedEndpoint[]>;

/**
 * The endpoints of each backend once, as `kind` reaches them, for the assignments, the ring
 * sizes and the sticky-split clusters alike: on gRPC nodes at their `grpcPort`, duplicates
 * folded (see dedupe), `hashKey` taken from the config endpoint an address came from (the
 * resolver carries neither).
 */
export function* prepareEndpoints(config: TetherConfig, endpoints: ResolvedEndpoints, kind: NodeKind, warnings: Warnings, memo?: UnitMemo): Steps<PreparedEndpoints> {
  const out = new Map<string, PreparedEndpoint[]>();
  for (const backend of sortedBy(memo, 'backends', config.backends, nameOf)) {
    const source = endpoints.get(backend.name) ?? NO_ENDPOINTS;
    // Keyed by the backend (its zone/priority placement and hash keys are in it) and the resolved list.
    const prepared = unitOf(memo, 'endpoints', backend, [source], warnings, (w) => {
      const resolved = withPlacement(backend, withHashKeys(backend, source, w));
      return withinWeightLimit(dedupe(kind === 'grpc' ? atGrpcPorts(backend, resolved) : resolved, backend.name, w), backend.name, w);
    });
    out.set(backend.name, prepared);
    if (stepDue()) yield;
  }
  return out;
}

/** The config endpoint a resolved address came from (its IP literal, or its DNS name). */
function sourceOf(backend: BackendSpec, e: ResolvedEndpoint): EndpointSpec | undefined {
  const host = (e.hostname ?? e.ip).toLowerCase();
  return backend.endpoints.find((c) => c.port === e.port && c.host.toLowerCase() === host);
}

/** Replicas that serve gRPC on another port than the one Envoy uses are reached there by gRPC nodes. */
function atGrpcPorts(backend: BackendSpec, resolved: PreparedEndpoint[]): PreparedEndpoint[] {
  if (!backend.endpoints.some((c) => c.grpcPort !== undefined)) return resolved;
  return resolved.map((e) => {
    const grpcPort = sourceOf(backend, e)?.grpcPort;
    return grpcPort === undefined ? e : { ...e, port: grpcPort };
  });
}

/**
 * A hash key names one replica. A DNS name that resolves to several addresses would give
 * them all the same key, i.e. the same ring entries, so the key is left out for all of them.
 */
function withHashKeys(backend: BackendSpec, resolved: readonly ResolvedEndpoint[], warnings: Warnings): PreparedEndpoint[] {
  if (!backend.endpoints.some((e) => e.hashKey !== undefined)) return [...resolved];
  const addresses = new Map<string, number>();
  for (const e of resolved) {
    const key = sourceOf(backend, e)?.hashKey;
    if (key !== undefined) addresses.set(key, (addresses.get(key) ?? 0) + 1);
  }
  for (const [key, count] of addresses) {
    if (count > 1) {
      warnings.add(`${backendPath(backend.name)}.endpoints`, `hashKey "${key}" is on a name that resolves to ${count} addresses; left out for them`);
    }
  }
  return resolved.map((e) => {
    const key = sourceOf(backend, e)?.hashKey;
    return key !== undefined && addresses.get(key) === 1 ? { ...e, hashKey: key } : { ...e };
  });
}

/** Zone and priority from the config endpoint an address came from. */
function withPlacement(backend: BackendSpec, resolved: PreparedEndpoint[]): PreparedEndpoint[] {
  if (!backend.endpoints.some((c) => c.zone !== undefined || c.priority !== undefined)) return resolved;
  return resolved.map((e) => {
    const source = sourceOf(backend, e);
    return {
      ...e,
      ...(source?.zone !== undefined ? { zone: source.zone } : {}),
      ...(source?.priority !== undefined ? { priority: source.priority } : {}),
    };
  });
}

/** Weights of the endpoints a balancer uses (drained ones are excluded by both kinds of client). */
export function liveWeights(endpoints: readonly PreparedEndpoint[]): number[] {
  return endpoints.filter((e) => !e.drain).map((e) => e.weight);
}

/**
 * One ClusterLoadAssignment per backend, named as `names` says (assignment-names.ts), in one locality.
 * The same for both kinds of node except the hash keys, which only Envoy reads. A backend with
 * no resolved endpoints still gets one, empty: a missing assignment would leave the cluster
 * warming (and grpc-js-xds waiting 15 s) instead of failing fast with "no healthy upstream".
 */
export function* loadAssignments(
  config: TetherConfig,
  prepared: PreparedEndpoints,
  kind: NodeKind,
  /** A backend's ClusterLoadAssignment name (assignment-names.ts). */
  names: (backend: string) => string,
  warnings: Warnings,
  memo?: UnitMemo,
): Steps<ClusterLoadAssignment[]> {
  const out: ClusterLoadAssignment[] = [];
  for (const backend of sortedBy(memo, 'backends', config.backends, nameOf)) {
    const name = names(backend.name);
    const endpoints = prepared.get(backend.name) ?? NO_PREPARED;
    out.push(
      unitOf(memo, 'assignment', backend, [name, endpoints], warnings, () =>
        endpoints.some((e) => e.zone !== undefined || e.priority !== undefined)
          ? placedAssignment(name, endpoints, kind, backend)
          : loadAssignment(name, endpoints.map((e) => lbEndpoint(e, kind))),
      ),
    );
    if (stepDue()) yield;
  }
  return out;
}

/**
 * Endpoints with a zone or priority: one locality per (priority, zone), in the order their
 * first endpoint appears (a ring hashes hosts in EDS order, so the order within a priority is
 * the config's). Priorities are renumbered 0, 1, 2… in order (grpc-js-xds NACKs gaps). Every
 * locality weighs 1: Envoy's ring hash ignores locality weights, and gRPC multiplies endpoint
 * weights by them, so 1 keeps both on the same ring.
 *
 * A hashing balancer picks the priority by the request hash too, in proportion to each
 * priority's health × overprovisioning_factor: with Envoy's 140, losing one of three replicas
 * of priority 0 would send 7 % of every replica's users to priority 1. A consistent-hash backend
 * with several priorities therefore gets a factor of 100 × the size of its largest priority,
 * so priority 0 keeps all its users until its last replica is gone (unless the config says otherwise).
 */
function placedAssignment(name: string, endpoints: readonly PreparedEndpoint[], kind: NodeKind, backend: BackendSpec): ClusterLoadAssignment {
  const priorities = [...new Set(endpoints.map((e) => e.priority ?? 0))].sort((a, b) => a - b);
  const groups = new Map<string, { priority: number; zone?: string; lbEndpoints: LbEndpoint[] }>();
  const sizes = new Map<number, number>();
  for (const e of endpoints) {
    const priority = priorities.indexOf(e.priority ?? 0);
    const key = `${priority}|${e.zone ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      group = { priority, ...(e.zone !== undefined ? { zone: e.zone } : {}), lbEndpoints: [] };
      groups.set(key, group);
    }
    group.lbEndpoints.push(lbEndpoint(e, kind));
    sizes.set(priority, (sizes.get(priority) ?? 0) + 1);
  }
  const localities = [...groups.values()]
    .sort((a, b) => a.priority - b.priority)
    .map((g) => ({
      locality: g.zone !== undefined ? { zone: g.zone } : {},
      load_balancing_weight: { value: 1 },
      ...(g.priority > 0 ? { priority: g.priority } : {}),
      lb_endpoints: g.lbEndpoints,
    }));
  const out: ClusterLoadAssignment = { cluster_name: name, endpoints: localities };
  const hashing = backend.balancer.type === 'ring_hash' || backend.balancer.type === 'maglev';
  const factor = backend.overprovisioningFactor ?? (hashing && priorities.length > 1 ? 100 * Math.max(...sizes.values()) : undefined);
  if (factor !== undefined) out.policy = { overprovisioning_factor: { value: factor } };
  return out;
}

export function loadAssignment(name: string, lbEndpoints: LbEndpoint[]): ClusterLoadAssignment {
  if (lbEndpoints.length === 0) return { cluster_name: name, endpoints: [] };
  return {
    cluster_name: name,
    // grpc-js-xds silently drops a locality without load_balancing_weight.
    endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: lbEndpoints }],
  };
}

/**
 * A drained endpoint is sent as DRAINING rather than left out, so clients keep its
 * connections while they finish: Envoy counts DRAINING as unhealthy (no new requests;
 * subject to the cluster's panic threshold), grpc-js-xds uses only UNKNOWN and HEALTHY
 * endpoints (xds-dependency-manager.js).
 *
 * A hash key goes into `envoy.lb` metadata, which Envoy's ring hash and maglev hash instead of
 * ip:port (so a replica that comes back on a new IP keeps its ring positions). grpc-js-xds
 * always hashes the address (load-balancer-ring-hash.js), so gRPC nodes do not get it.
 */
export function lbEndpoint(e: PreparedEndpoint, kind: NodeKind, weight = e.weight): LbEndpoint {
  const out: LbEndpoint = {
    endpoint: {
      address: { socket_address: { address: e.ip, port_value: e.port } },
      ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
    },
    ...(e.drain ? { health_status: 'DRAINING' as const } : {}),
    load_balancing_weight: { value: weight },
  };
  if (kind === 'envoy' && e.hashKey !== undefined) {
    out.metadata = { filter_metadata: { [LB_METADATA_NAMESPACE]: { fields: { hash_key: { stringValue: e.hashKey } } } } };
  }
  return out;
}

/**
 * grpc-js-xds NACKs an assignment that lists one address twice ("address is a duplicate of
 * another address"), which happens when two DNS names resolve to the same IP. The copies are
 * folded into the first, weights added: for ring hash (same host key) and round robin alike
 * that is the traffic share the duplicates would have had.
 */
function dedupe(resolved: readonly PreparedEndpoint[], backend: string, warnings: Warnings): PreparedEndpoint[] {
  const byAddress = new Map<string, PreparedEndpoint>();
  for (const e of resolved) {
    const key = `${e.ip.toLowerCase()}|${e.port}`;
    const first = byAddress.get(key);
    if (first) {
      // A drained copy adds no traffic share; one live copy keeps the address live.
      if (!!first.drain === !!e.drain) first.weight += e.weight;
      else if (first.drain) {
        first.weight = e.weight;
        delete first.drain;
      }
      warnings.add(`${backendPath(backend)}.endpoints`, `${e.hostname ?? e.ip}:${e.port} resolves to an address already listed; weights added`);
    } else {
      byAddress.set(key, { ...e });
    }
  }
  return [...byAddress.values()];
}

/** Envoy's limit on the sum of endpoint weights in one locality (a backend is one locality). */
export const MAX_LOCALITY_WEIGHT = 0xffffffff;

/**
 * Validation keeps a backend's written weights within Envoy's per-locality limit, but a DNS
 * name that resolves to several addresses gives each the name's weight (and duplicates are
 * folded, weights added), so the sum can pass it later: Envoy would then refuse the whole
 * assignment ("The sum of weights of all upstream hosts in a locality exceeds 4294967295").
 * Scale the weights down instead, keeping their proportions (each at least 1), and say so.
 */
function withinWeightLimit(endpoints: PreparedEndpoint[], backend: string, warnings: Warnings): PreparedEndpoint[] {
  const sum = endpoints.reduce((a, e) => a + e.weight, 0);
  if (sum <= MAX_LOCALITY_WEIGHT) return endpoints;
  const factor = Math.ceil(sum / (MAX_LOCALITY_WEIGHT - endpoints.length));
  warnings.add(
    `${backendPath(backend)}.endpoints`,
    `weights of the resolved addresses add up to ${sum}, over Envoy's ${MAX_LOCALITY_WEIGHT} per locality; divided by ${factor}`,
  );
  return endpoints.map((e) => ({ ...e, weight: Math.max(1, Math.floor(e.weight / factor)) }));
}

/**
 * The endpoints a config gives as IP literals, for use without a resolver (golden tests,
 * `render`-style tools). DNS names are left out: resolving them is resolve/'s job.
 */
export function staticEndpoints(config: TetherConfig): ResolvedEndpoints {
  const out = new Map<string, ResolvedEndpoint[]>();
  for (const backend of config.backends) {
    out.set(
      backend.name,
      backend.endpoints
        .filter((e) => isIP(e.host) !== 0)
        .map((e) => ({ ip: e.host, port: e.port, weight: e.weight, ...(e.drain ? { drain: true } : {}) })),
    );
  }
  return out;
}
