import { isIP } from 'node:net';
import type { BackendSpec, TetherConfig } from '../model/types';
import type { ClusterLoadAssignment } from '../envoy/messages';
import type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import type { ResolvedEndpoint, ResolvedEndpoints } from './types';
import { byName } from './proto-values';
import { backendPath, type Warnings } from './warnings';

/**
 * One ClusterLoadAssignment per backend, named after it, in one locality. Identical for both
 * kinds of node. A backend with no resolved endpoints still gets one, empty: a missing
 * assignment would leave the cluster warming (and grpc-js-xds waiting 15 s) instead of
 * failing fast with "no healthy upstream".
 */
export function loadAssignments(config: TetherConfig, endpoints: ResolvedEndpoints, warnings: Warnings): ClusterLoadAssignment[] {
  return [...config.backends].sort(byName).map((backend) => loadAssignment(backend, endpoints.get(backend.name) ?? [], warnings));
}

function loadAssignment(backend: BackendSpec, resolved: readonly ResolvedEndpoint[], warnings: Warnings): ClusterLoadAssignment {
  const lbEndpoints = dedupe(resolved, backend.name, warnings).map(lbEndpoint);
  if (lbEndpoints.length === 0) return { cluster_name: backend.name, endpoints: [] };
  return {
    cluster_name: backend.name,
    // grpc-js-xds silently drops a locality without load_balancing_weight.
    endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: lbEndpoints }],
  };
}

/**
 * A drained endpoint is sent as DRAINING rather than left out, so clients keep its
 * connections while they finish: Envoy counts DRAINING as unhealthy (no new requests;
 * subject to the cluster's panic threshold), grpc-js-xds uses only UNKNOWN and HEALTHY
 * endpoints (xds-dependency-manager.js).
 */
function lbEndpoint(e: ResolvedEndpoint): LbEndpoint {
  return {
    endpoint: {
      address: { socket_address: { address: e.ip, port_value: e.port } },
      ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
    },
    ...(e.drain ? { health_status: 'DRAINING' as const } : {}),
    load_balancing_weight: { value: e.weight },
  };
}

/**
 * grpc-js-xds NACKs an assignment that lists one address twice ("address is a duplicate of
 * another address"), which happens when two DNS names resolve to the same IP. The copies are
 * folded into the first, weights added: for ring hash (same host key) and round robin alike
 * that is the traffic share the duplicates would have had.
 */
function dedupe(resolved: readonly ResolvedEndpoint[], backend: string, warnings: Warnings): ResolvedEndpoint[] {
  const byAddress = new Map<string, ResolvedEndpoint>();
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
