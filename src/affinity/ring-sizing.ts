/**
 * Ring sizes that keep sessions in place when replicas are added or removed.
 *
 * Why the default ring remaps too much: with a fixed minimum_ring_size (1024) the ring keeps
 * its size as hosts come and go, so every old host's entry count (ring / n) shrinks when one is
 * added. A host's entries are the first n of its own XXH64("<key>_<i>") sequence (ring-hash.ts),
 * so the entries it loses are gone from the ring, and the arcs they owned go to whichever entry
 * follows: often another old host. Measured (field notes §3): 33.5 % of sessions move going
 * 3 → 4 equal hosts, where 25 % is the least possible.
 *
 * The fix: keep the points per unit of weight constant. Envoy computes
 * `scale = min(ceil(minNorm × min) / minNorm, max)` (minNorm = wmin / W), so with
 * `minimum_ring_size = K × W / wmin` (W total weight, wmin the smallest) `ceil(minNorm × min) = K`
 * and the scale is K / minNorm: a host of weight w gets K × w / wmin entries whatever the other
 * hosts are. Adding a host then only adds entries; a session moves only if one of the new
 * entries now precedes it, i.e. exactly the new host's share: the ideal. With Envoy's double
 * arithmetic every host gets exactly that count in all cases tested (test/affinity/
 * ring-sizing.test.ts) as long as K × w / wmin is whole; fractional counts are spread by running
 * totals in host order, so they can shift between hosts when hosts come and go.
 *
 * The cost: minimum_ring_size must follow the endpoint set (a CDS change with each scale event).
 * A client must get the new size and the new endpoints as one change: a ring built from the new
 * size with the old hosts (or the old size with the new hosts) gives every host more or fewer
 * entries for a moment, and the sessions on them move twice. Clients receive CDS and EDS apart,
 * so Tether names the endpoints after the size (translate/assignment-names.ts).
 *
 * grpc-js-xds clamps min and max to its ring_size_cap (4096 by default; load-balancer-ring-hash.js).
 * As long as K × W / wmin ≤ cap, the above holds. Beyond it the ring is pinned at `cap` entries
 * and behaves like the fixed default ring: hosts lose entries as hosts are added, and movement
 * exceeds the ideal. Choose K for the largest scale expected: K = floor(cap × wmin / W_max)
 * ({@link pointsPerWeightForCap}), e.g. 4096 / 16 hosts = 256. Fewer entries per host make the
 * load less even. Measured over 3..16 equal hosts (relative standard deviation of a host's share;
 * busiest host over its fair share): K = 1024: 2.7 %, +4 % (worst +5 %); K = 256: 5.7 %, +10 %
 * (worst +14 %); K = 64: 11.8 %, +22 % (worst +29 %) — roughly 1/√K. The trade-off is evenness
 * against how far the ring can grow without extra remapping. The channel option can raise the
 * cap, but only where the gRPC application sets it.
 */
import { AffinityError } from './errors';
import { MAX_RING_SIZE } from './ring-hash';

export { DEFAULT_SAMPLES, idealMovedShare, movedShare, nominalShares, sampledShares, syntheticHashes } from './movement';

export interface StableRingSizeOptions {
  /** K: ring entries per unit of the smallest weight (per host, with equal weights). */
  pointsPerWeight: number;
  /** A client's ring_size_cap (grpc-js-xds: 4096). Absent: Envoy, no cap. */
  cap?: number;
}

export interface StableRingSize {
  /** minimum_ring_size to configure. */
  minRingSize: number;
  /** maximum_ring_size to configure (never the binding limit unless `capped`). */
  maxRingSize: number;
  /** Entries the client's ring will have (± float rounding). */
  ringSize: number;
  /** Entries per unit of the smallest weight the client actually gets: K, or less when capped. */
  pointsPerWeight: number;
  /** The ring would exceed the cap (or 8M): the client pins it at the limit and the sizing is not stable. */
  capped: boolean;
}

export function stableRingSize(weights: readonly number[], opts: StableRingSizeOptions): StableRingSize {
  const K = opts.pointsPerWeight;
  if (!Number.isInteger(K) || K < 1) throw new AffinityError('INVALID_ARGUMENT', `pointsPerWeight: must be an integer >= 1 (got ${K})`);
  if (weights.length === 0) throw new AffinityError('INVALID_ARGUMENT', 'weights: at least one host is needed');
  weights.forEach((w, i) => {
    if (!Number.isFinite(w) || w <= 0) throw new AffinityError('INVALID_ARGUMENT', `weights[${i}]: must be > 0 (got ${w})`);
  });
  const limit = Math.min(opts.cap ?? MAX_RING_SIZE, MAX_RING_SIZE);
  let total = 0;
  for (const w of weights) total += w;
  // Exactly the double Envoy and grpc-js-xds compute.
  let minNorm = 1;
  for (const w of weights) minNorm = Math.min(minNorm, w / total);

  const scale = K / minNorm;
  if (Math.ceil(scale) > limit) {
    return { minRingSize: limit, maxRingSize: limit, ringSize: limit, pointsPerWeight: limit * minNorm, capped: true };
  }
  // The largest min with ceil(minNorm × min) = K (the client computes exactly this product).
  let min = Math.floor(K / minNorm);
  while (min > 1 && Math.ceil(minNorm * min) > K) min--;
  return { minRingSize: min, maxRingSize: limit, ringSize: Math.ceil(scale), pointsPerWeight: K, capped: false };
}

/**
 * The largest K for which {@link stableRingSize} stays under `cap` at the largest scale
 * expected (`weights` as they will be then: e.g. 16 ones for up to 16 equal hosts). 0 when even
 * one point per unit of weight does not fit.
 */
export function pointsPerWeightForCap(weights: readonly number[], cap: number): number {
  let total = 0;
  let min = Infinity;
  for (const w of weights) {
    total += w;
    min = Math.min(min, w);
  }
  if (!(total > 0)) return 0;
  let K = Math.floor((cap * min) / total);
  while (K > 0 && stableRingSize(weights, { pointsPerWeight: K, cap }).capped) K--;
  return K;
}
