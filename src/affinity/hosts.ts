/**
 * The hosts a consistent-hash balancer is built from, derived from Tether's resolved endpoints
 * the way each kind of client derives them from the EDS Tether sends (translate/endpoint.ts).
 *
 * Facts relied on:
 * - Envoy excludes EDS hosts in DRAINING from load balancing and from the panic computation
 *   (source/common/upstream/upstream_impl.cc setEdsHealthFlag, runtime guard
 *   exclude_host_in_eds_status_draining, on by default and removed in 1.36); grpc-js-xds keeps
 *   only UNKNOWN and HEALTHY endpoints (build/src/xds-dependency-manager.js).
 * - Envoy builds the ring/table from the healthy hosts in host-set order with
 *   normalized weight = weight / sum of weights (thread_aware_lb_impl.cc normalizeHostWeights;
 *   Tether sends one locality and no locality_weighted_lb_config, so locality weights do not
 *   apply). grpc-js-xds uses the same order and weight / sum, where the weight is locality weight
 *   (1 from Tether) × endpoint weight, and merges endpoints with the same address, summing
 *   weights, at the first one's position (load-balancer-ring-hash.js updateAddressList).
 *   Tether's EDS already merges duplicate addresses, so both flavours merge here.
 * - Host keys: see address.ts.
 */
import type { ResolvedEndpoint } from '../model/resolved';
import { envoyAddress, joinHostPort } from './address';
import { AffinityError } from './errors';
import type { Flavour } from './hash-policy';

/** A resolved endpoint, optionally with the `envoy.lb` `hash_key` metadata Envoy hashes instead of the address. */
export interface AffinityEndpoint extends ResolvedEndpoint {
  hashKey?: string;
}

export interface BalancerHost {
  /** `ip:port` (IPv6 bracketed): what a pick returns. */
  address: string;
  /** What the ring entries / maglev permutation are hashed from. */
  key: string;
  weight: number;
}

export function balancerHosts(endpoints: readonly AffinityEndpoint[], flavour: Flavour): BalancerHost[] {
  const byAddress = new Map<string, BalancerHost>();
  endpoints.forEach((e, i) => {
    if (!Number.isFinite(e.weight) || e.weight <= 0) {
      throw new AffinityError('INVALID_ARGUMENT', `endpoints[${i}].weight: must be > 0 (got ${e.weight})`);
    }
    if (e.drain) return;
    const address = flavour === 'envoy' ? envoyAddress(e.ip, e.port) : joinHostPort(e.ip, e.port);
    const existing = byAddress.get(address);
    if (existing) {
      existing.weight += e.weight;
      return;
    }
    const key = flavour === 'envoy' && e.hashKey ? e.hashKey : address;
    byAddress.set(address, { address, key, weight: e.weight });
  });
  return [...byAddress.values()];
}

/** Envoy's and grpc-js-xds's normalized weights: weight / sum, in host order. */
export function normalizedWeights(hosts: readonly BalancerHost[]): number[] {
  let sum = 0;
  for (const h of hosts) sum += h.weight;
  return hosts.map((h) => h.weight / sum);
}
