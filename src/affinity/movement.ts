/**
 * Measuring how many sessions move between two balancer states.
 *
 * A session is represented by its request hash. For a header/cookie/query key that hash is
 * XXH64 of the value (hash-policy.ts), so XXH64 of distinct synthetic values is a faithful,
 * deterministic sample of real sessions' hashes.
 *
 * The ideal is the least share that must move for the nominal weights to change as they do:
 * 1 − Σ_address min(share before, share after) (the total variation distance). Going from n to
 * n + 1 equal hosts it is 1 / (n + 1).
 */
import { xxh64 } from './hash';
import type { BalancerHost } from './hosts';
import type { Picker } from './picker';

export const DEFAULT_SAMPLES = 100_000;

/** `count` deterministic session hashes: XXH64 of "<label>-0", "<label>-1", … */
export function syntheticHashes(count: number = DEFAULT_SAMPLES, label = 'session'): bigint[] {
  return Array.from({ length: count }, (_, i) => xxh64(`${label}-${i}`));
}

function sampleOf(samples: number | readonly bigint[]): readonly bigint[] {
  return typeof samples === 'number' ? syntheticHashes(samples) : samples;
}

/** The share (0..1) of sampled sessions whose host differs between `before` and `after`. */
export function movedShare(before: Picker, after: Picker, samples: number | readonly bigint[] = DEFAULT_SAMPLES): number {
  const hashes = sampleOf(samples);
  if (hashes.length === 0) return 0;
  let moved = 0;
  for (const h of hashes) if (before.pick(h) !== after.pick(h)) moved++;
  return moved / hashes.length;
}

/** The share of sampled sessions each address serves (every host listed, 0 included). */
export function sampledShares(picker: Picker, samples: number | readonly bigint[] = DEFAULT_SAMPLES): Map<string, number> {
  const hashes = sampleOf(samples);
  const counts = new Map<string, number>(picker.hosts.map((h) => [h.address, 0]));
  for (const h of hashes) {
    const address = picker.pick(h);
    if (address !== undefined) counts.set(address, (counts.get(address) ?? 0) + 1);
  }
  return new Map([...counts].map(([a, c]) => [a, hashes.length === 0 ? 0 : c / hashes.length]));
}

/** Each address's weight / total weight. */
export function nominalShares(hosts: readonly BalancerHost[]): Map<string, number> {
  let total = 0;
  for (const h of hosts) total += h.weight;
  const out = new Map<string, number>();
  for (const h of hosts) out.set(h.address, (out.get(h.address) ?? 0) + h.weight / total);
  return out;
}

/** The least share of sessions that must move to go from `before` to `after` shares. */
export function idealMovedShare(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  if (before.size === 0 || after.size === 0) return before.size === after.size ? 0 : 1;
  let kept = 0;
  for (const [address, share] of before) kept += Math.min(share, after.get(address) ?? 0);
  return Math.max(0, 1 - kept);
}
