/**
 * Where a gRPC client should send each user when Tether serves a stable ring over equal
 * replicas, predicted by the independent reference ring (ring-hash-reference.ts), not by
 * Tether's own code.
 */
import { buildRing, DEFAULT_MAX_RING_SIZE, hashHeader, pick } from './ring-hash-reference';

/** Tether's stable ring for gRPC nodes: 256 points per unit of the smallest weight. */
export const GRPC_POINTS_PER_HOST = 256;

interface ReplicaLike {
  readonly id: string;
  readonly address: string;
}

/**
 * user (x-user value) → the id of the replica the client's ring gives it, for these equal-weight
 * replicas. `sizedFor`: build the ring with the stable size for that many replicas instead (a
 * size that does not match the endpoints, as a client holding a new size with old endpoints would).
 */
export function stableRingOwners(replicas: readonly ReplicaLike[], sizedFor = replicas.length): (user: string) => string {
  const ring = buildRing(
    replicas.map((r) => ({ address: r.address, weight: 1 })),
    { minRingSize: GRPC_POINTS_PER_HOST * sizedFor, maxRingSize: DEFAULT_MAX_RING_SIZE },
  );
  const idOf = new Map(replicas.map((r) => [r.address, r.id]));
  return (user) => idOf.get(pick(ring, hashHeader(user)))!;
}
