/**
 * Ketama-style ring hash, exactly as Envoy and grpc-js-xds build and search it.
 *
 * Facts relied on, Envoy (source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc):
 * - minimum_ring_size defaults to 1024, maximum_ring_size to 8M (8,388,608, also the largest
 *   value either may have); min > max rejects the cluster.
 * - `scale = min(ceil(minNorm × min) / minNorm, max)` with minNorm the smallest normalized
 *   weight; ring size = ceil(scale).
 * - Hosts are walked in order with running double totals shared across hosts: for each,
 *   `target += scale × norm`, then while `current < target` push XXH64("<key>_<i>", 0) for
 *   i = 0, 1, … (current counts every entry pushed so far). So a host's entries are always the
 *   first n of its own sequence: a host that keeps its count keeps its exact positions.
 * - Entries are sorted by hash (std::sort; ties do not occur in practice).
 * - chooseHost is ketama's binary search (lowp/highp/midp, signed): the entry i with
 *   ring[i-1] < h <= ring[i], wrapping to entry 0 past the last one (and for h = 0). That is
 *   the first entry whose hash is >= h. Retries (attempt > 0) step to later entries.
 * - Known vectors (test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc,
 *   tests Basic, BasicWithHostname, UnevenHosts, HostWeightedTinyRing) are checked in
 *   test/affinity/ring-hash.test.ts.
 *
 * grpc-js-xds 1.14.1 (build/src/load-balancer-ring-hash.js, xds-resource-type/
 * cluster-resource-type.js): the same construction and search, but min and max (CDS defaults
 * 1024 and 8M; either > 8M is NACKed) are each clamped to the channel option
 * `grpc.lb.ring_hash.ring_size_cap`, default 4096 — and min > max is not an error (max wins).
 * Envoy has no cap.
 */
import { AffinityError } from './errors';
import { xxh64 } from './hash';
import type { Flavour } from './hash-policy';
import { normalizedWeights, type BalancerHost } from './hosts';

export const DEFAULT_MIN_RING_SIZE = 1024;
/** Envoy's default and absolute maximum ring size (also grpc-js-xds's absolute maximum). */
export const MAX_RING_SIZE = 8_388_608;
/** grpc-js-xds's default `grpc.lb.ring_hash.ring_size_cap`. */
export const GRPC_DEFAULT_RING_SIZE_CAP = 4096;

export interface RingOptions {
  flavour: Flavour;
  /** Default 1024. */
  minRingSize?: number;
  /** Default 8M. */
  maxRingSize?: number;
  /** grpc only: the channel's ring_size_cap; default 4096. Ignored for Envoy. */
  ringSizeCap?: number;
}

export interface HashRing {
  flavour: Flavour;
  hosts: readonly BalancerHost[];
  /** Entry hashes, ascending. */
  hashes: BigUint64Array;
  /** Host index (into `hosts`) of each entry. */
  owners: Uint32Array;
  /** The (fractional) scale the ring was built with. */
  scale: number;
  /** The min and max actually applied (after grpc's cap). */
  minRingSize: number;
  maxRingSize: number;
  /** Entries per host, in host order. */
  pointsPerHost: number[];
}

/** The min/max ring sizes a client of `flavour` applies for the configured ones. */
export function effectiveRingSizes(opts: RingOptions): { minRingSize: number; maxRingSize: number } {
  const min = opts.minRingSize ?? DEFAULT_MIN_RING_SIZE;
  const max = opts.maxRingSize ?? MAX_RING_SIZE;
  for (const [name, v] of [
    ['minRingSize', min],
    ['maxRingSize', max],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_RING_SIZE) {
      throw new AffinityError('INVALID_ARGUMENT', `${name}: must be an integer in [1, ${MAX_RING_SIZE}] (got ${v})`);
    }
  }
  if (opts.flavour === 'envoy') {
    if (min > max) throw new AffinityError('INVALID_ARGUMENT', `ring hash: minimum_ring_size (${min}) > maximum_ring_size (${max})`);
    return { minRingSize: min, maxRingSize: max };
  }
  const cap = opts.ringSizeCap ?? GRPC_DEFAULT_RING_SIZE_CAP;
  return { minRingSize: Math.min(min, cap), maxRingSize: Math.min(max, cap) };
}

export function buildRing(hosts: readonly BalancerHost[], opts: RingOptions): HashRing {
  const { minRingSize, maxRingSize } = effectiveRingSizes(opts);
  const empty: HashRing = {
    flavour: opts.flavour,
    hosts,
    hashes: new BigUint64Array(0),
    owners: new Uint32Array(0),
    scale: 0,
    minRingSize,
    maxRingSize,
    pointsPerHost: hosts.map(() => 0),
  };
  if (hosts.length === 0) return empty;

  const norms = normalizedWeights(hosts);
  const minNorm = Math.min(1, ...norms);
  const scale = Math.min(Math.ceil(minNorm * minRingSize) / minNorm, maxRingSize);

  // Entry counts first (cheap), so the hashes go straight into one typed array.
  const pointsPerHost: number[] = [];
  let current = 0;
  let target = 0;
  for (let h = 0; h < hosts.length; h++) {
    target += scale * norms[h]!;
    let i = 0;
    while (current < target) {
      i++;
      current++;
    }
    pointsPerHost.push(i);
  }
  const hashes = new BigUint64Array(current);
  const owners = new Uint32Array(current);
  let at = 0;
  hosts.forEach((host, h) => {
    for (let i = 0; i < pointsPerHost[h]!; i++) {
      hashes[at] = xxh64(`${host.key}_${i}`, 0n);
      owners[at++] = h;
    }
  });

  // A stable LSD radix sort (16-bit digits) of the entries by hash, read through 32-bit views:
  // equal hashes (never seen) keep host order, as Envoy's construction order. Sorting 2M
  // bigints with a comparator took seconds; this takes tens of milliseconds.
  const order = radixOrder(new Uint32Array(hashes.buffer), current);
  const sortedHashes = new BigUint64Array(current);
  const from32 = new Uint32Array(hashes.buffer);
  const to32 = new Uint32Array(sortedHashes.buffer);
  const sortedOwners = new Uint32Array(current);
  for (let to = 0; to < current; to++) {
    const from = order[to]!;
    to32[2 * to] = from32[2 * from]!;
    to32[2 * to + 1] = from32[2 * from + 1]!;
    sortedOwners[to] = owners[from]!;
  }
  return { ...empty, hashes: sortedHashes, owners: sortedOwners, scale, pointsPerHost };
}

/** Little-endian: the low word of a 64-bit lane comes first. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Indices 0..n-1 ordered by the 64-bit values whose 32-bit words `words` holds, stably. */
function radixOrder(words: Uint32Array, n: number): Uint32Array {
  const [loWord, hiWord] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  const counts = new Uint32Array(65537);
  for (const [word, shift] of [
    [loWord, 0],
    [loWord, 16],
    [hiWord, 0],
    [hiWord, 16],
  ] as const) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((words[2 * i + word]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 1; d <= 65536; d++) counts[d]! += counts[d - 1]!;
    for (let i = 0; i < n; i++) {
      const e = order[i]!;
      next[counts[(words[2 * e + word]! >>> shift) & 0xffff]!++] = e;
    }
    [order, next] = [next, order];
  }
  return order;
}

/**
 * The ring index serving `hash`: Envoy's (and grpc-js-xds's) port of ketama_get_server,
 * step for step. -1 for an empty ring.
 */
export function ringIndex(ring: HashRing, hash: bigint): number {
  const ringSize = ring.hashes.length;
  if (ringSize === 0) return -1;
  let low = 0;
  let high = ringSize;
  for (;;) {
    const mid = Math.floor((low + high) / 2);
    if (mid === ringSize) return 0;
    const midval = ring.hashes[mid]!;
    const midval1 = mid === 0 ? 0n : ring.hashes[mid - 1]!;
    if (hash <= midval && hash > midval1) return mid;
    if (midval < hash) low = mid + 1;
    else high = mid - 1;
    if (low > high) return 0;
  }
}

/** The address serving `hash` (all hosts reachable), or undefined for an empty ring. */
export function ringPick(ring: HashRing, hash: bigint): string | undefined {
  const i = ringIndex(ring, hash);
  return i < 0 ? undefined : ring.hosts[ring.owners[i]!]!.address;
}

const SPACE = 1n << 64n;

/**
 * The exact share of the 64-bit hash space each address serves: entry i owns
 * (ring[i-1], ring[i]], entry 0 also everything past the last entry (and 0).
 */
export function ringShares(ring: HashRing): Map<string, number> {
  const owned: bigint[] = ring.hosts.map(() => 0n);
  const n = ring.hashes.length;
  if (n > 0) owned[ring.owners[0]!]! += ring.hashes[0]! + 1n + (SPACE - 1n - ring.hashes[n - 1]!);
  let previous = n > 0 ? ring.hashes[0]! : 0n;
  for (let i = 1; i < n; i++) {
    const hash = ring.hashes[i]!;
    owned[ring.owners[i]!]! += hash - previous;
    previous = hash;
  }
  // Hosts share an address only when merged upstream (never in practice): sum them.
  const out = new Map<string, bigint>();
  ring.hosts.forEach((h, i) => out.set(h.address, (out.get(h.address) ?? 0n) + owned[i]!));
  return new Map([...out].map(([a, v]) => [a, Number(v) / Number(SPACE)]));
}
