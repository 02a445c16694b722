/**
 * XXH64, the one hash function behind every affinity decision Envoy and grpc-js-xds make.
 *
 * Facts relied on (checked against the sources named):
 * - Envoy hashes request values and ring/maglev host keys with `HashUtil::xxHash64(input, seed)`,
 *   i.e. `XXH64(data, size, seed)` over the raw bytes, seed 0 unless stated
 *   (source/common/common/hash.h).
 * - Several header values are chained: `HashUtil::xxHash64(absl::Span<absl::string_view>)`
 *   (source/common/common/hash.cc) hashes each value with the previous result as its seed,
 *   starting from 0 (older Envoys streamed them as one XXH64; 1.40 does not, measured).
 * - grpc-js-xds hashes with xxhash-wasm's `h64(string, 0n)` (build/src/xxhash.js,
 *   route-action.js, load-balancer-ring-hash.js); strings are hashed as UTF-8, like Envoy's
 *   byte strings. Using the same package here means Tether and the gRPC client agree bit for bit.
 * - Hash policies are folded as `h = rotl64(h, 1) ^ h_i` (source/common/http/hash_policy.cc,
 *   HashPolicyImpl::generateHash; grpc-js-xds route-action.js getHash).
 * - A generated cookie's value is `Hex::uint64ToHex(hash)`: 16 lowercase hex digits, big-endian,
 *   zero-padded (source/common/common/hex.cc).
 *
 * xxhash-wasm must be instantiated asynchronously once; afterwards every function here is
 * synchronous. Call `await initHashing()` (or `await ready()`) before anything in affinity/.
 */
import xxhashWasm from 'xxhash-wasm';

type XXHashAPI = Awaited<ReturnType<typeof xxhashWasm>>;

const MASK64 = (1n << 64n) - 1n;

let api: XXHashAPI | undefined;
let loading: Promise<void> | undefined;

/** Loads the WebAssembly XXH64. Idempotent; concurrent callers share one load. */
export function initHashing(): Promise<void> {
  if (api) return Promise.resolve();
  loading ??= xxhashWasm().then((loaded) => {
    api = loaded;
  });
  return loading;
}

/** Alias of {@link initHashing}, for `await ready()` at call sites that read better that way. */
export const ready = initHashing;

/** True once {@link initHashing} has resolved. */
export function hashingReady(): boolean {
  return api !== undefined;
}

function loaded(): XXHashAPI {
  if (!api) throw new Error('affinity: XXH64 is not loaded yet; await initHashing() first');
  return api;
}

/** XXH64 of a string (as UTF-8) or of bytes, as an unsigned 64-bit bigint. */
export function xxh64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  const x = loaded();
  return typeof input === 'string' ? x.h64(input, seed & MASK64) : x.h64Raw(input, seed & MASK64);
}

/** 64-bit rotate left. */
export function rotl64(x: bigint, r: number): bigint {
  const n = BigInt(r & 63);
  return ((x << n) | (x >> (64n - n))) & MASK64;
}

/**
 * Folds one policy's hash into the running one the way Envoy and grpc-js-xds do. The first
 * value is taken as is (Envoy rotates a zero, which is the same thing).
 */
export function foldHash(previous: bigint | undefined, next: bigint): bigint {
  return previous === undefined ? next : rotl64(previous, 1) ^ next;
}

/** Envoy's `Hex::uint64ToHex`: 16 lowercase hex digits, zero-padded. */
export function hex64(value: bigint): string {
  return (value & MASK64).toString(16).padStart(16, '0');
}

const utf8 = new TextEncoder();

/** Compares two strings by their UTF-8 bytes, as C++ `std::string_view` comparison does. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
