/**
 * Where a client should send each user when Tether serves a stable ring over equal replicas,
 * predicted by the independent reference ring (ring-hash-reference.ts), not by Tether's own code.
 */
import { buildRing, DEFAULT_MAX_RING_SIZE, GRPC_DEFAULT_RING_SIZE_CAP, hashHeader, pick } from './ring-hash-reference';

/** How a kind of client sizes Tether's stable ring: K points per replica of equal weight, its cap. */
export interface StableRingFlavour {
  pointsPerHost: number;
  ringSizeCap: number;
}

export const GRPC_STABLE_RING: StableRingFlavour = { pointsPerHost: 256, ringSizeCap: GRPC_DEFAULT_RING_SIZE_CAP };
export const ENVOY_STABLE_RING: StableRingFlavour = { pointsPerHost: 1024, ringSizeCap: Infinity };

/** A replica as the ring sees it: `address` is the `ip:port` the client hashes. */
export interface RingReplica {
  readonly id: string;
  readonly address: string;
}

/**
 * user (x-user value) → the id of the replica the client's ring gives it, for these equal-weight
 * replicas. `sizedFor`: build the ring with the stable size for that many replicas instead (a
 * size that does not match the endpoints, as a client holding one without the other would).
 */
export function stableRingOwners(replicas: readonly RingReplica[], flavour = GRPC_STABLE_RING, sizedFor = replicas.length): (user: string) => string {
  const ring = buildRing(
    replicas.map((r) => ({ address: r.address, weight: 1 })),
    { minRingSize: flavour.pointsPerHost * sizedFor, maxRingSize: DEFAULT_MAX_RING_SIZE, ringSizeCap: flavour.ringSizeCap },
  );
  const idOf = new Map(replicas.map((r) => [r.address, r.id]));
  return (user) => idOf.get(pick(ring, hashHeader(user)))!;
}
