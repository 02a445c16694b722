/**
 * An independent model of the ring hash load balancer, for tests only.
 *
 * Integration tests use it to predict which replica a session key lands on, and which keys
 * move when endpoints change, without trusting any of Tether's own code. It is written from
 * the published algorithm (Envoy's `ring_hash_lb.cc`, gRPC proposal A42) and checked against
 * the behaviour of @grpc/grpc-js-xds 1.14.1, the xDS client the integration tests run; where
 * grpc-js-xds and Envoy differ, this file follows grpc-js-xds and says so.
 *
 * XXH64 is implemented here with BigInt on purpose (slow, but obviously correct and not the
 * same code as the WebAssembly build grpc-js-xds uses); the tests cross-check the two.
 */

const MASK64 = (1n << 64n) - 1n;
const PRIME64_1 = 0x9e3779b185ebca87n;
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn;
const PRIME64_3 = 0x165667b19e3779f9n;
const PRIME64_4 = 0x85ebca77c2b2ae63n;
const PRIME64_5 = 0x27d4eb2f165667c5n;

const utf8 = new TextEncoder();

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function readU64(bytes: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
  return v;
}

function readU32(bytes: Uint8Array, at: number): bigint {
  return BigInt((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0);
}

function round(acc: bigint, lane: bigint): bigint {
  acc = (acc + lane * PRIME64_2) & MASK64;
  acc = rotl64(acc, 31n);
  return (acc * PRIME64_1) & MASK64;
}

function mergeRound(acc: bigint, v: bigint): bigint {
  acc ^= round(0n, v);
  return (acc * PRIME64_1 + PRIME64_4) & MASK64;
}

/**
 * XXH64 of `input` (strings are hashed as their UTF-8 bytes, as Envoy and xxhash-wasm do).
 * Follows the xxHash specification: four 8-byte lanes over 32-byte stripes, merge, then the
 * tail in 8-, 4- and 1-byte steps, then the avalanche.
 */
export function xxh64(input: string | Uint8Array, seed = 0n): bigint {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const len = bytes.length;
  seed &= MASK64;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + PRIME64_1 + PRIME64_2) & MASK64;
    let v2 = (seed + PRIME64_2) & MASK64;
    let v3 = seed;
    let v4 = (seed - PRIME64_1) & MASK64;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, readU64(bytes, p));
      v2 = round(v2, readU64(bytes, p + 8));
      v3 = round(v3, readU64(bytes, p + 16));
      v4 = round(v4, readU64(bytes, p + 24));
    }
    h = (rotl64(v1, 1n) + rotl64(v2, 7n) + rotl64(v3, 12n) + rotl64(v4, 18n)) & MASK64;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = (seed + PRIME64_5) & MASK64;
  }
  h = (h + BigInt(len)) & MASK64;
  for (; p + 8 <= len; p += 8) {
    h ^= round(0n, readU64(bytes, p));
    h = (rotl64(h, 27n) * PRIME64_1 + PRIME64_4) & MASK64;
  }
  if (p + 4 <= len) {
    h ^= (readU32(bytes, p) * PRIME64_1) & MASK64;
    h = (rotl64(h, 23n) * PRIME64_2 + PRIME64_3) & MASK64;
    p += 4;
  }
  for (; p < len; p++) {
    h ^= (BigInt(bytes[p]!) * PRIME64_5) & MASK64;
    h = (rotl64(h, 11n) * PRIME64_1) & MASK64;
  }
  h ^= h >> 33n;
  h = (h * PRIME64_2) & MASK64;
  h ^= h >> 29n;
  h = (h * PRIME64_3) & MASK64;
  h ^= h >> 32n;
  return h;
}

/** Envoy's default `minimum_ring_size`, also grpc-js-xds's when the cluster leaves it unset. */
export const DEFAULT_MIN_RING_SIZE = 1024;
/** Envoy's default (and absolute) `maximum_ring_size`: 8M entries. */
export const DEFAULT_MAX_RING_SIZE = 8_388_608;
/**
 * grpc-js-xds caps both sizes at the channel option `grpc.lb.ring_hash.ring_size_cap`,
 * default 4096. Envoy has no such cap: pass `ringSizeCap: Infinity` to model Envoy.
 */
export const GRPC_DEFAULT_RING_SIZE_CAP = 4096;

export interface RingHost {
  /** The hash key: `ip:port`, IPv6 in brackets (`[::1]:80`); see {@link hostKey}. */
  address: string;
  /**
   * The endpoint's weight. For grpc-js-xds this is locality weight × endpoint
   * `load_balancing_weight` (Envoy instead normalises per locality, and only when the cluster
   * sets locality_weighted_lb_config; with one locality of weight 1 the two agree).
   */
  weight: number;
}

export interface RingOptions {
  minRingSize: number;
  maxRingSize: number;
  /** Default {@link GRPC_DEFAULT_RING_SIZE_CAP}; `Infinity` for Envoy. */
  ringSizeCap?: number;
}

export interface RingEntry {
  hash: bigint;
  address: string;
}

export interface Ring {
  /** Sorted by hash, ascending. */
  entries: readonly RingEntry[];
  /** The fractional scale the ring was built with (ring size = ceil(scale), up to float error). */
  scale: number;
  /** How many entries each address received, in host order. */
  countByAddress: ReadonlyMap<string, number>;
}

/** The host key both Envoy and grpc-js-xds hash: `ip:port`, IPv6 bracketed. */
export function hostKey(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Builds the ring the way grpc-js-xds does:
 * - duplicate addresses are merged, their weights summed, at the first one's position
 *   (Envoy would keep them as separate hosts);
 * - min and max are each clamped to the cap (and to 8M); Envoy instead rejects a cluster
 *   whose minimum exceeds its maximum, grpc-js-xds lets the maximum win;
 * - `scale = min(ceil(minNorm × min) / minNorm, max)` with minNorm the smallest weight / total;
 * - walking hosts in order, with running (float) totals shared across hosts, a host pushes
 *   `xxh64("<address>_<i>", 0)` for i = 0, 1, … while `pushed < target`, after
 *   `target += scale × weight / total`;
 * - entries are sorted by hash (ties keep insertion order; Envoy's sort does not promise that,
 *   but 64-bit ties do not happen in practice).
 */
export function buildRing(hosts: readonly RingHost[], opts: RingOptions): Ring {
  const cap = opts.ringSizeCap ?? GRPC_DEFAULT_RING_SIZE_CAP;
  const minRingSize = Math.min(opts.minRingSize, DEFAULT_MAX_RING_SIZE, cap);
  const maxRingSize = Math.min(opts.maxRingSize, DEFAULT_MAX_RING_SIZE, cap);

  const merged = new Map<string, number>();
  for (const host of hosts) {
    if (!(host.weight > 0)) throw new Error(`ring: weight of ${host.address} must be > 0`);
    merged.set(host.address, (merged.get(host.address) ?? 0) + host.weight);
  }
  const countByAddress = new Map<string, number>();
  if (merged.size === 0) return { entries: [], scale: 0, countByAddress };

  let total = 0;
  for (const weight of merged.values()) total += weight;
  let minNormalized = 1;
  for (const weight of merged.values()) minNormalized = Math.min(minNormalized, weight / total);
  const scale = Math.min(Math.ceil(minNormalized * minRingSize) / minNormalized, maxRingSize);

  const entries: RingEntry[] = [];
  let pushed = 0;
  let target = 0;
  for (const [address, weight] of merged) {
    target += scale * (weight / total);
    let i = 0;
    while (pushed < target) {
      entries.push({ hash: xxh64(`${address}_${i}`, 0n), address });
      i++;
      pushed++;
    }
    countByAddress.set(address, i);
  }
  entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  return { entries, scale, countByAddress };
}

/**
 * The address serving `hash`: the first entry whose hash is >= `hash`, wrapping to the first
 * entry. Assumes every host is reachable (grpc-js-xds walks on to later entries only past
 * hosts in TRANSIENT_FAILURE; Envoy only on retries with a host predicate).
 */
export function pick(ring: Ring, hash: bigint): string {
  const entries = ring.entries;
  if (entries.length === 0) throw new Error('ring: empty ring has no host to pick');
  let low = 0;
  let high = entries.length; // first index with entries[i].hash >= hash lies in [low, high]
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (entries[mid]!.hash < hash) low = mid + 1;
    else high = mid;
  }
  return entries[low === entries.length ? 0 : low]!.address;
}

/** The request hash for one header value: XXH64 of its UTF-8 bytes, seed 0. */
export function hashHeader(value: string): bigint {
  return xxh64(value, 0n);
}

/**
 * The request hash for a header that arrived several times. grpc-js-xds joins the values
 * with "," in arrival order; Envoy sorts them and hashes their concatenation (no separator).
 * With one value both reduce to {@link hashHeader}.
 */
export function hashHeaderValues(values: readonly string[], flavour: 'grpc' | 'envoy' = 'grpc'): bigint {
  if (values.length === 0) throw new Error('hashHeaderValues: no values (the policy yields no hash)');
  return flavour === 'grpc' ? xxh64(values.join(','), 0n) : xxh64([...values].sort().join(''), 0n);
}

/**
 * Folds the hashes of several hash policies, in policy order: `h = rotl64(h, 1) ^ h_i`
 * (Envoy and grpc-js-xds alike). Policies that yielded nothing are left out by the caller.
 */
export function combineHashes(hashes: readonly bigint[]): bigint {
  if (hashes.length === 0) throw new Error('combineHashes: no hashes (the request hash is random)');
  let h = hashes[0]!;
  for (const next of hashes.slice(1)) h = rotl64(h, 1n) ^ next;
  return h;
}
