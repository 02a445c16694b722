/**
 * How many ring points each version of a sticky split gets, and the EDS weights that make a
 * client build exactly those counts (translate/sticky-split.ts explains the ring).
 *
 * Why the points are not simply shares of a fixed ring (gRPC nodes): on one ring, a version
 * can only gain share by gaining points or by the others losing theirs. A version that loses
 * points sends the users of each lost point to the next point on the ring, which is another
 * replica of the same version about as often as that version's share; a version that gains
 * points takes users from whatever lies before each new point, its own users included. Either
 * way users change replica without changing version. Which version moves is ours to choose: the
 * largest version keeps a fixed LARGEST_POINTS (half of grpc-js-xds's 4096 cap) and the others
 * get points in proportion to it, so the ring grows and shrinks (2048–4096 points) instead of
 * the largest version giving up points. As a canary grows to half the traffic, v1 keeps every
 * point (its users stay on their replica) and only v2 gains; past half, v2 keeps its points and
 * only v1 loses. Measured in test/translate/sticky-split-movement.test.ts.
 *
 * Envoy nodes keep a fixed ring of ENVOY_RING_POINTS shared by weight.
 */
import { apportion } from './apportion';
import { GRPC_RING_SIZE_CAP } from './names';
import type { NodeKind } from '../model/node-targets';

/** Envoy: ring points (= minimum_ring_size) of a sticky cluster, a power of two. */
export const ENVOY_RING_POINTS = 131_072;
/** gRPC: grpc-js-xds's ring size cap (grpc.lb.ring_hash.ring_size_cap default): the most points a ring may have. */
export const GRPC_RING_POINTS = GRPC_RING_SIZE_CAP;
/** gRPC: the points of the largest version, so that two versions always fit under the cap. */
export const LARGEST_POINTS = GRPC_RING_POINTS / 2;

/**
 * Points per version (the route's backends with weight > 0 and a live endpoint, in order), and
 * the ring size they add up to. gRPC: the largest version LARGEST_POINTS, every other one
 * round(LARGEST_POINTS × weight / largest weight) — each a monotone function of its weight
 * relative to the largest, so as weight shifts to later versions nobody's points move against
 * their share. With three or more versions none of which reaches half of the weight, that
 * would exceed the cap; then GRPC_RING_POINTS are shared by weight (Webster) instead.
 */
export function versionPoints(weights: readonly number[], kind: NodeKind): { points: number[]; ring: number } {
  if (kind === 'envoy') return { points: apportion(weights, ENVOY_RING_POINTS), ring: ENVOY_RING_POINTS };
  const largest = Math.max(0, ...weights);
  if (largest <= 0) return { points: weights.map(() => 0), ring: 0 };
  const points = weights.map((w) => (w === largest ? LARGEST_POINTS : Math.round((LARGEST_POINTS * w) / largest)));
  const ring = points.reduce((a, b) => a + b, 0);
  if (ring <= GRPC_RING_POINTS) return { points, ring };
  return { points: apportion(weights, GRPC_RING_POINTS), ring: GRPC_RING_POINTS };
}

/** What the weights of exactRingWeights add up to: a power of two, above any ring size used. */
const WEIGHT_TOTAL = 65_536;

/**
 * EDS weights (live hosts, in EDS order) under which a ring with minimum = maximum = the sum
 * of `counts` gives host i exactly counts[i] points, whatever that sum is.
 *
 * Envoy and grpc-js-xds compute in doubles: scale = min(ceil(minNorm × min) / minNorm, max)
 * with norm = weight / total, then push points while `current < target`, target += scale ×
 * norm. With weights adding up to a power of two every norm, product and running sum is exact,
 * and scale is exactly C (capped by max = C). Host i's running target is then C × P_i / 65536
 * for the prefix sum P_i of weights; choosing P_i = floor(S_i × 65536 / C) for the prefix sum
 * S_i of counts puts that target in (S_i − 1, S_i], so the client stops at exactly S_i.
 */
export function exactRingWeights(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0 || total > WEIGHT_TOTAL) throw new Error(`ring of ${total} points: must be 1..${WEIGHT_TOTAL}`);
  let sum = 0;
  let previous = 0;
  return counts.map((c) => {
    sum += c;
    const prefix = Math.floor((sum * WEIGHT_TOTAL) / total);
    const weight = prefix - previous;
    previous = prefix;
    return weight;
  });
}
