/**
 * "What if" and "explain" for a sticky service: the two questions the admin API and CLI ask of
 * this library.
 *
 * - whatIf: for a proposed change of a backend's endpoints or balancer, the share of sessions
 *   that would land on another replica, against the least possible, and each replica's share of
 *   sessions before and after. Sessions are deterministic synthetic request hashes
 *   (movement.ts); ring hash and maglev are modelled exactly (ring-hash.ts, maglev.ts), as the
 *   given kind of client builds them (picker.ts).
 * - explain: which replica one request goes to, with every step: which keys had values, what
 *   was hashed, the folded hash, and the ring entry or table slot it hit.
 *
 * Both assume every listed (non-drained) endpoint is reachable: Envoy and grpc-js-xds walk on
 * to later ring entries only past failed hosts (retries / TRANSIENT_FAILURE).
 */
import type { AffinityKey, BalancerSpec } from '../model/types';
import { AffinityError } from './errors';
import { requestHash, type AffinityRequest, type Flavour, type GeneratedCookie, type HashStep } from './hash-policy';
import type { AffinityEndpoint } from './hosts';
import { DEFAULT_SAMPLES, idealMovedShare, nominalShares, syntheticHashes } from './movement';
import { createPicker, isHashing, type Picker, type PickLocation } from './picker';

export interface BackendState {
  endpoints: readonly AffinityEndpoint[];
  balancer: BalancerSpec;
}

export interface WhatIfOptions {
  flavour: Flavour;
  /** Synthetic sessions to sample; default 100,000. */
  samples?: number;
  /** grpc only: the channel's ring_size_cap (default 4096). */
  ringSizeCap?: number;
}

export interface WhatIfResult {
  /** Share (0..1) of sessions whose replica changes. */
  moved: number;
  /** The least share that must move for the replicas' weights to change as proposed. */
  ideal: number;
  /** Address → share of sessions it serves (every replica listed). */
  perHostBefore: Record<string, number>;
  perHostAfter: Record<string, number>;
  samples: number;
}

export function whatIf(before: BackendState, after: BackendState, opts: WhatIfOptions): WhatIfResult {
  const samples = opts.samples ?? DEFAULT_SAMPLES;
  if (!Number.isInteger(samples) || samples < 1) throw new AffinityError('INVALID_ARGUMENT', `samples: must be an integer >= 1 (got ${samples})`);
  const b = hashingPicker(before, opts, 'before');
  const a = hashingPicker(after, opts, 'after');

  const countsBefore = new Map<string, number>(b.hosts.map((h) => [h.address, 0]));
  const countsAfter = new Map<string, number>(a.hosts.map((h) => [h.address, 0]));
  let moved = 0;
  for (const h of syntheticHashes(samples)) {
    const x = b.pick(h);
    const y = a.pick(h);
    if (x !== y) moved++;
    if (x !== undefined) countsBefore.set(x, countsBefore.get(x)! + 1);
    if (y !== undefined) countsAfter.set(y, countsAfter.get(y)! + 1);
  }
  const share = (counts: Map<string, number>): Record<string, number> =>
    Object.fromEntries([...counts].map(([address, c]) => [address, c / samples]));
  return {
    moved: moved / samples,
    ideal: idealMovedShare(nominalShares(b.hosts), nominalShares(a.hosts)),
    perHostBefore: share(countsBefore),
    perHostAfter: share(countsAfter),
    samples,
  };
}

function hashingPicker(state: BackendState, opts: WhatIfOptions, which: string): Picker {
  const picker = createPicker(state.endpoints, state.balancer, pickerOptions(opts));
  if (!picker) {
    throw new AffinityError(
      'FAILED_PRECONDITION',
      `${which}: balancer ${state.balancer.type} does not hash requests, so there is no session placement to compare`,
    );
  }
  return picker;
}

function pickerOptions(opts: { flavour: Flavour; ringSizeCap?: number }): { flavour: Flavour; ringSizeCap?: number } {
  return opts.ringSizeCap === undefined ? { flavour: opts.flavour } : { flavour: opts.flavour, ringSizeCap: opts.ringSizeCap };
}

export interface ExplainInput extends BackendState {
  /** The service's affinity keys (AffinitySpec.keys), in order. */
  keys: readonly AffinityKey[];
  request: AffinityRequest;
  flavour: Flavour;
  /** grpc only: the channel's ring_size_cap (default 4096). */
  ringSizeCap?: number;
  /** The picker for `endpoints` and `balancer`, when the caller keeps one (building a ring or table costs milliseconds). */
  picker?: Picker;
}

export interface ExplainResult {
  flavour: Flavour;
  /** The replica the request goes to, when that is determined. */
  host?: string;
  /** The request hash, when one was produced. */
  hash?: bigint;
  /** Where the hash landed. */
  location?: PickLocation;
  usedKeys: string[];
  steps: HashStep[];
  generatedCookie?: GeneratedCookie;
  /** Why there is no `host`: no consistent hashing, no key value (random pick), no replicas, or an unpredictable value. */
  reason?: string;
}

export function explain(input: ExplainInput): ExplainResult {
  const hashed = requestHash(input.keys, input.request, input.flavour);
  const result: ExplainResult = { flavour: input.flavour, usedKeys: hashed.usedKeys, steps: hashed.steps };
  if (hashed.generatedCookie) result.generatedCookie = hashed.generatedCookie;
  if (hashed.hash !== undefined) result.hash = hashed.hash;

  if (!isHashing(input.balancer)) {
    result.reason = `balancer ${input.balancer.type} does not hash requests: no affinity, any replica may serve`;
    return result;
  }
  if (hashed.unpredictable !== undefined) {
    result.reason = hashed.unpredictable;
    return result;
  }
  if (hashed.hash === undefined) {
    result.reason =
      input.keys.length === 0
        ? 'the service has no affinity keys: the balancer picks with a random hash'
        : 'no affinity key had a value: the balancer picks with a random hash';
    return result;
  }
  const picker = input.picker ?? createPicker(input.endpoints, input.balancer, pickerOptions(input))!;
  const location = picker.locate(hashed.hash);
  if (!location) {
    result.reason = 'no replica to pick (none listed, or all drained)';
    return result;
  }
  result.location = location;
  result.host = location.address;
  return result;
}
