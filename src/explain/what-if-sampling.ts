/**
 * The heavy half of what-if: building each side's balancer and placing the synthetic (and
 * listed) sessions. Pure and made of plain data in and out, so the admin API can run it on a
 * worker thread (src/compute): a 2,000-endpoint stable ring alone takes seconds to build, and
 * a million samples about as long, which the event loop serving xDS and ext_proc cannot give.
 */
import { createPicker, requestHash, type AffinityEndpoint, type AffinityRequest, type Flavour, type Picker } from '../affinity';
import type { AffinityKey, BalancerSpec } from '../model/types';

/** A cluster's balancer, as built from its endpoints; `weight`: its share of a split. */
export interface SamplePart {
  weight: number;
  endpoints: AffinityEndpoint[];
  balancer: BalancerSpec;
  /**
   * Replicas ("ip:port") ejected while the ring keeps them: a gRPC client walks past them to
   * the next entry of another replica (what-if eject).
   */
  walkPast?: string[];
}

/**
 * One side of a route that places sessions by hash: one cluster, or the clusters of a split
 * the route's hash picks from (use_hash_policy).
 */
export interface SampleSide {
  keys: AffinityKey[];
  parts: SamplePart[];
}

export interface SampleJob {
  flavour: Flavour;
  samples: number;
  /** The key the synthetic sessions carry. */
  key: AffinityKey;
  /** Present when that side hashes `key` (sticky). */
  before?: SampleSide;
  after?: SampleSide;
  /** Both sides hash the same keys: one request hash serves both. */
  reuse: boolean;
  sessions: readonly string[];
}

export interface SampleResult {
  /** Sessions per address (every host of the side listed, 0 included); empty for a side not sampled. */
  countsBefore: Map<string, number>;
  countsAfter: Map<string, number>;
  /** Samples placed on different addresses (both sides sticky). */
  moved: number;
  /** Where each listed session lands; '' on a side that is not sampled. */
  sessions: Array<{ value: string; before: string; after: string; moved: boolean }>;
}

/** A session carrying only `key`, with the i-th synthetic value. */
export function syntheticRequest(key: AffinityKey, i: number): AffinityRequest {
  // Distinct IPv4 addresses in 10.0.0.0/8 (and on past it for more than 16M samples).
  if (key.kind === 'clientIp') return { clientIp: `${10 + Math.floor(i / 16_777_216)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  return sessionRequest(key, `session-${i}`);
}

/** A session carrying only `key`, with `value` (a client IP for a clientIp key). */
export function sessionRequest(key: AffinityKey, value: string): AffinityRequest {
  switch (key.kind) {
    case 'header':
      return { headers: { [key.name]: value } };
    case 'cookie':
      return { cookies: { [key.name]: value } };
    case 'queryParameter':
      return { query: { [key.name]: value } };
    case 'clientIp':
      return { clientIp: value };
  }
}

/**
 * Weighted clusters picked by the route's hash (use_hash_policy): Envoy takes `hash % total`
 * into the cumulative weights, then the chosen cluster's balancer picks with the same hash.
 */
export function weightedHashPicker(parts: ReadonlyArray<{ weight: number; picker: Picker }>): Picker {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const partOf = (hash: bigint): Picker => {
    const selected = hash % BigInt(total);
    let end = 0n;
    for (const p of parts) {
      end += BigInt(p.weight);
      if (selected < end) return p.picker;
    }
    return parts[parts.length - 1]!.picker;
  };
  return {
    kind: parts[0]!.picker.kind,
    hosts: parts.flatMap((p) => p.picker.hosts),
    pick: (hash) => partOf(hash).pick(hash),
    locate: (hash) => partOf(hash).locate(hash),
    shares: () => {
      const out = new Map<string, number>();
      for (const p of parts) for (const [a, s] of p.picker.shares()) out.set(a, (out.get(a) ?? 0) + (s * p.weight) / total);
      return out;
    },
  };
}

function sidePicker(side: SampleSide, flavour: Flavour): Picker | undefined {
  const built: Array<{ weight: number; picker: Picker }> = [];
  for (const part of side.parts) {
    const created = createPicker(part.endpoints, part.balancer, { flavour });
    if (!created) return undefined;
    const picker = part.walkPast?.length ? walkingPicker(created, new Set(part.walkPast)) : created;
    built.push({ weight: part.weight, picker });
  }
  if (built.length === 0) return undefined;
  return built.length === 1 ? built[0]!.picker : weightedHashPicker(built);
}

/** A gRPC client's ring with some replicas out: a session on one of them goes to the next entry of another. */
function walkingPicker(picker: Picker, ejected: ReadonlySet<string>): Picker {
  return {
    ...picker,
    pick: (hash) => {
      const address = picker.pick(hash);
      return address !== undefined && ejected.has(address) ? picker.walk?.(hash, ejected) : address;
    },
  };
}

/** Runs a job synchronously (XXH64 must be loaded). */
export function runSampleJob(job: SampleJob): SampleResult {
  const { flavour } = job;
  const pickerOf = (side: SampleSide | undefined): Picker | undefined => side && sidePicker(side, flavour);
  const pb = pickerOf(job.before);
  const pa = pickerOf(job.after);
  const countsBefore = new Map<string, number>((pb?.hosts ?? []).map((h) => [h.address, 0]));
  const countsAfter = new Map<string, number>((pa?.hosts ?? []).map((h) => [h.address, 0]));
  const place = (request: AffinityRequest): [string | undefined, string | undefined] => {
    const hb = pb ? requestHash(job.before!.keys, request, flavour).hash : undefined;
    const ha = pa ? (job.reuse ? hb : requestHash(job.after!.keys, request, flavour).hash) : undefined;
    return [hb === undefined ? undefined : pb!.pick(hb), ha === undefined ? undefined : pa!.pick(ha)];
  };
  let moved = 0;
  for (let i = 0; i < job.samples; i++) {
    const [x, y] = place(syntheticRequest(job.key, i));
    if (x !== undefined) countsBefore.set(x, (countsBefore.get(x) ?? 0) + 1);
    if (y !== undefined) countsAfter.set(y, (countsAfter.get(y) ?? 0) + 1);
    if (pb && pa && x !== y) moved++;
  }
  const sessions = job.sessions.map((value) => {
    const [x, y] = place(sessionRequest(job.key, value));
    return { value, before: x ?? '', after: y ?? '', moved: x !== undefined && y !== undefined && x !== y };
  });
  return { countsBefore, countsAfter, moved, sessions };
}
