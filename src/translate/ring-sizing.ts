import type { BalancerSpec } from '../model/types';
import { stableRingSize } from '../affinity/ring-sizing';
import type { NodeKind } from '../model/node-targets';
import { GRPC_RING_SIZE_CAP } from './names';

/**
 * Ring sizes for a ring_hash backend, per snapshot and per kind of node.
 *
 * A `stable` ring (the default) gives every host K × weight / smallest weight entries, whatever
 * the other hosts are: minimum_ring_size = K × W / wmin over the hosts actually in the ring
 * (src/affinity/ring-sizing.ts has the why and the arithmetic). A host's entries are the first
 * n of its own fixed sequence, so adding a replica only adds entries and removing one only
 * removes its own: the sessions that move are exactly the new (or gone) replica's share.
 * Drained endpoints are not in the ring (Envoy excludes DRAINING hosts, grpc-js-xds uses only
 * HEALTHY/UNKNOWN ones), so they do not count.
 *
 * K: Envoy 1024 (its default ring for one host, ~2.7 % spread of load); gRPC 256, because
 * grpc-js-xds caps the ring at 4096 entries and 256 × 16 = 4096 keeps the ring stable up to 16
 * equal replicas. Past the cap the client pins the ring at 4096 and remapping degrades toward
 * the fixed ring's (a warning says so). `pointsPerHost` sets K for both kinds.
 */

export const ENVOY_POINTS_PER_HOST = 1024;
export const GRPC_POINTS_PER_HOST = 256;

export type RingHashSpec = Extract<BalancerSpec, { type: 'ring_hash' }>;

export interface RingSizes {
  minRingSize: number;
  maxRingSize: number;
  /** Set when a stable ring would exceed the client's limit, so it is pinned there instead. */
  cappedAt?: number;
  /** The K used (stable rings). */
  pointsPerHost?: number;
}

export function ringSizes(balancer: RingHashSpec, liveWeights: readonly number[], kind: NodeKind): RingSizes {
  if (balancer.ring !== 'stable') return { minRingSize: balancer.minRingSize, maxRingSize: balancer.maxRingSize };
  const K = balancer.pointsPerHost ?? (kind === 'grpc' ? GRPC_POINTS_PER_HOST : ENVOY_POINTS_PER_HOST);
  // No live host: the ring is empty whatever its size; size it as for one host.
  const weights = liveWeights.length > 0 ? liveWeights : [1];
  const size = stableRingSize(weights, kind === 'grpc' ? { pointsPerWeight: K, cap: GRPC_RING_SIZE_CAP } : { pointsPerWeight: K });
  const out: RingSizes = { minRingSize: size.minRingSize, maxRingSize: size.maxRingSize, pointsPerHost: K };
  if (size.capped) out.cappedAt = size.ringSize;
  return out;
}
