import type { BackendSpec, BalancerSpec, TetherConfig } from '../model/types';
import type { Cluster } from '../envoy/messages';
import { pack } from '../envoy/encode';
import type { NodeKind } from './types';
import { GRPC_RING_SIZE_CAP, HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE } from './names';
import { byName, durationFromMs } from './proto-values';
import { backendPath, type Warnings } from './warnings';

/** Load-balancer fields of a Cluster (`lb_policy` and its config). */
type LbFields = Pick<Cluster, 'lb_policy' | 'ring_hash_lb_config' | 'maglev_lb_config' | 'least_request_lb_config'>;

/**
 * One EDS cluster per backend, named after it; its endpoints come over ADS under the same
 * name (grpc-js-xds waits for a ClusterLoadAssignment whose cluster_name equals service_name).
 */
export function clusters(config: TetherConfig, kind: NodeKind, warnings: Warnings): Cluster[] {
  return [...config.backends].sort(byName).map((backend) => cluster(backend, kind, warnings));
}

function cluster(backend: BackendSpec, kind: NodeKind, warnings: Warnings): Cluster {
  const out: Cluster = {
    name: backend.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: backend.name },
    connect_timeout: durationFromMs(backend.connectTimeoutMs),
    ...(kind === 'grpc' ? grpcLb(backend, warnings) : envoyLb(backend.balancer)),
  };
  if (backend.protocol === 'http2') {
    // Envoy talks HTTP/1.1 upstream unless told otherwise (gRPC backends need h2).
    // grpc-js-xds ignores this field; it always speaks HTTP/2.
    out.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: pack(HTTP_PROTOCOL_OPTIONS_TYPE, { explicit_http_config: { http2_protocol_options: {} } }),
    };
  }
  return out;
}

function envoyLb(balancer: BalancerSpec): LbFields {
  switch (balancer.type) {
    case 'ring_hash':
      return {
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: {
          minimum_ring_size: { value: String(balancer.minRingSize) },
          maximum_ring_size: { value: String(balancer.maxRingSize) },
        },
      };
    case 'maglev':
      return { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: String(balancer.tableSize) } } };
    case 'round_robin':
      return { lb_policy: 'ROUND_ROBIN' };
    case 'least_request':
      return { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: balancer.choiceCount } } };
    case 'random':
      return { lb_policy: 'RANDOM' };
  }
}

/**
 * grpc-js-xds accepts lb_policy ROUND_ROBIN and RING_HASH only and NACKs the rest
 * (cluster-resource-type.js: "unsupported lb_policy"). Maglev, being consistent hashing,
 * becomes a ring hash with the default sizes (a maglev table size is no ring size);
 * least-request and random become round robin.
 */
function grpcLb(backend: BackendSpec, warnings: Warnings): LbFields {
  const balancer = backend.balancer;
  switch (balancer.type) {
    case 'ring_hash':
      if (balancer.minRingSize > GRPC_RING_SIZE_CAP) {
        warnings.add(
          `${backendPath(backend.name)}.balancer`,
          `gRPC clients cap the ring at ${GRPC_RING_SIZE_CAP} entries (channel option grpc.lb.ring_hash.ring_size_cap): ` +
            `minRingSize ${balancer.minRingSize} gives them a smaller ring than Envoy's, so keys may map differently`,
        );
      }
      return envoyLb(balancer);
    case 'maglev':
      warnings.add(`${backendPath(backend.name)}.balancer`, 'gRPC clients have no maglev: ring_hash with default ring sizes instead');
      return { lb_policy: 'RING_HASH' };
    case 'least_request':
    case 'random':
      warnings.add(`${backendPath(backend.name)}.balancer`, `gRPC clients have no ${balancer.type}: round_robin instead`);
      return { lb_policy: 'ROUND_ROBIN' };
    case 'round_robin':
      return envoyLb(balancer);
  }
}
