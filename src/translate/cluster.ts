import type { BackendSpec, BalancerSpec, TetherConfig } from '../model/types';
import type { Cluster } from '../envoy/messages';
import { pack } from '../envoy/encode';
import type { NodeKind } from '../model/node-targets';
import type { AssignmentNames } from './assignment-names';
import { liveWeights, type PreparedEndpoints } from './endpoint';
import { GRPC_RING_SIZE_CAP, HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE } from './names';
import { durationFromMs } from './proto-values';
import { ringSizes, type RingHashSpec } from './ring-sizing';
import { backendPath, type Warnings } from './warnings';
import { nameOf, sortedBy, unitOf, type UnitMemo } from './unit-memo';
import { resilienceFields, slowStartConfig } from './resilience';
import { stepDue, type Steps } from '../util/steps';

/** Load-balancer fields of a Cluster (`lb_policy` and its config). */
export type LbFields = Pick<Cluster, 'lb_policy' | 'ring_hash_lb_config' | 'maglev_lb_config' | 'least_request_lb_config' | 'round_robin_lb_config' | 'common_lb_config'>;

/**
 * One EDS cluster per backend, named after it; its endpoints come over ADS as the assignment
 * `assignments` names (the backend's name, or a stable ring's shape: assignment-names.ts).
 */
export function* clusters(
  config: TetherConfig,
  endpoints: PreparedEndpoints,
  kind: NodeKind,
  assignments: AssignmentNames,
  warnings: Warnings,
  memo?: UnitMemo,
): Steps<Cluster[]> {
  const out: Cluster[] = [];
  for (const backend of sortedBy(memo, 'backends', config.backends, nameOf)) {
    const assignment = assignments(backend.name);
    const prepared = endpoints.get(backend.name);
    out.push(unitOf(memo, 'cluster', backend, [assignment, prepared], warnings, (w) => cluster(backend, assignment, liveWeights(prepared ?? []), kind, w)));
    if (stepDue()) yield;
  }
  return out;
}

function cluster(backend: BackendSpec, assignment: string, weights: readonly number[], kind: NodeKind, warnings: Warnings): Cluster {
  const lb = kind === 'grpc' ? grpcLb(backend, weights, warnings) : envoyLb(backend, weights, warnings);
  return {
    ...edsCluster(backend.name, backend.connectTimeoutMs, backend.protocol, assignment),
    ...withFailoverTuning(backend, lb, kind, warnings),
    ...resilienceFields(backend, kind, warnings),
  };
}

/**
 * Slow start and the panic threshold live in the balancer's fields, so they are merged into
 * what envoyLb / grpcLb chose. grpc-js-xds reads neither (it has no slow start and no panic
 * mode), so gRPC nodes get them left out, with a warning.
 */
function withFailoverTuning(backend: BackendSpec, lb: LbFields, kind: NodeKind, warnings: Warnings): LbFields {
  const at = backendPath(backend.name);
  if (kind === 'grpc') {
    if (backend.slowStart) warnings.add(`${at}.slowStart`, 'gRPC clients have no slow start: left out');
    if (backend.panicThresholdPercent !== undefined) warnings.add(`${at}.panicThreshold`, 'gRPC clients have no panic threshold: left out');
    return lb;
  }
  const out: LbFields = { ...lb };
  if (backend.panicThresholdPercent !== undefined) {
    out.common_lb_config = { ...(lb.common_lb_config ?? {}), healthy_panic_threshold: { value: backend.panicThresholdPercent } };
  }
  if (backend.slowStart) {
    const slow = slowStartConfig(backend.name, backend.slowStart);
    if (lb.lb_policy === 'ROUND_ROBIN') out.round_robin_lb_config = { slow_start_config: slow };
    else if (lb.lb_policy === 'LEAST_REQUEST') out.least_request_lb_config = { ...(lb.least_request_lb_config ?? {}), slow_start_config: slow };
    else warnings.add(`${at}.slowStart`, `Envoy has slow start only for round_robin and least_request, not ${backend.balancer.type}: left out`);
  }
  return out;
}

/**
 * The parts every Tether cluster shares: EDS over ADS, from the ClusterLoadAssignment named
 * `assignment` (the cluster's own name unless given; grpc-js-xds waits for an assignment whose
 * cluster_name equals service_name), timeout, protocol.
 */
export function edsCluster(name: string, connectTimeoutMs: number, protocol: BackendSpec['protocol'], assignment = name): Cluster {
  const out: Cluster = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: assignment },
    connect_timeout: durationFromMs(connectTimeoutMs),
  };
  if (protocol === 'http2') {
    // Envoy talks HTTP/1.1 upstream unless told otherwise (gRPC backends need h2).
    // grpc-js-xds ignores this field; it always speaks HTTP/2.
    out.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: pack(HTTP_PROTOCOL_OPTIONS_TYPE, { explicit_http_config: { http2_protocol_options: {} } }),
    };
  }
  return out;
}

function envoyLb(backend: BackendSpec, weights: readonly number[], warnings: Warnings): LbFields {
  const balancer = backend.balancer;
  switch (balancer.type) {
    case 'ring_hash':
      return { ...ringHashLb(backend.name, balancer, weights, 'envoy', warnings), ...boundedLoad(balancer) };
    case 'maglev':
      return { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: String(balancer.tableSize) } }, ...boundedLoad(balancer) };
    case 'round_robin':
      return { lb_policy: 'ROUND_ROBIN' };
    case 'least_request':
      return { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: balancer.choiceCount } } };
    case 'random':
      return { lb_policy: 'RANDOM' };
  }
}

function ringHashLb(name: string, balancer: RingHashSpec, weights: readonly number[], kind: NodeKind, warnings: Warnings): LbFields {
  const sizes = ringSizes(balancer, weights, kind);
  if (sizes.cappedAt !== undefined) {
    const who = kind === 'grpc' ? `gRPC clients cap the ring at ${GRPC_RING_SIZE_CAP} entries` : "Envoy's ring is at most 8388608 entries";
    warnings.add(
      `${backendPath(name)}.balancer`,
      `${who}: a stable ring of ${sizes.pointsPerHost} points per host does not fit these ${weights.length} replicas (weights), ` +
        `so it is pinned at ${sizes.cappedAt} and adding or removing a replica moves more sessions than its share (lower pointsPerHost to fit)`,
    );
  }
  return {
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: { value: String(sizes.minRingSize) }, maximum_ring_size: { value: String(sizes.maxRingSize) } },
  };
}

/** Bounded load: a replica over factor % of the average load passes requests to the next one. */
function boundedLoad(balancer: Extract<BalancerSpec, { type: 'ring_hash' | 'maglev' }>): LbFields {
  if (balancer.hashBalanceFactor === undefined) return {};
  return { common_lb_config: { consistent_hashing_lb_config: { hash_balance_factor: { value: balancer.hashBalanceFactor } } } };
}

/**
 * grpc-js-xds accepts lb_policy ROUND_ROBIN and RING_HASH only and NACKs the rest
 * (cluster-resource-type.js: "unsupported lb_policy"). Maglev, being consistent hashing,
 * becomes a ring hash with the default sizes (a maglev table size is no ring size; src/affinity's
 * picker models exactly that); least-request and random become round robin. grpc-js-xds never
 * reads common_lb_config, so a hash_balance_factor is accepted and ignored: it is still sent
 * (the cluster stays what the config says) with a warning that gRPC clients do not bound load.
 */
function grpcLb(backend: BackendSpec, weights: readonly number[], warnings: Warnings): LbFields {
  const balancer = backend.balancer;
  const at = `${backendPath(backend.name)}.balancer`;
  if ((balancer.type === 'ring_hash' || balancer.type === 'maglev') && balancer.hashBalanceFactor !== undefined) {
    warnings.add(`${at}.hashBalanceFactor`, 'gRPC clients ignore hash_balance_factor (grpc-js-xds does not read common_lb_config): no bounded load for them');
  }
  switch (balancer.type) {
    case 'ring_hash':
      if (balancer.ring !== 'stable' && balancer.minRingSize > GRPC_RING_SIZE_CAP) {
        warnings.add(
          at,
          `gRPC clients cap the ring at ${GRPC_RING_SIZE_CAP} entries (channel option grpc.lb.ring_hash.ring_size_cap): ` +
            `minRingSize ${balancer.minRingSize} gives them a smaller ring than Envoy's, so keys may map differently`,
        );
      }
      return { ...ringHashLb(backend.name, balancer, weights, 'grpc', warnings), ...boundedLoad(balancer) };
    case 'maglev':
      warnings.add(at, 'gRPC clients have no maglev: ring_hash with default ring sizes instead');
      return { lb_policy: 'RING_HASH', ...boundedLoad(balancer) };
    case 'least_request':
    case 'random':
      warnings.add(at, `gRPC clients have no ${balancer.type}: round_robin instead`);
      return { lb_policy: 'ROUND_ROBIN' };
    case 'round_robin':
      return { lb_policy: 'ROUND_ROBIN' };
  }
}
