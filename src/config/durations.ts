/**
 * Durations as people write them in Istio/Envoy Gateway files ("250ms", "1h30m") or as a
 * bare number of seconds (Envoy's JSON form), normalised to whole milliseconds because the
 * model and Envoy's Duration both stop at that precision for everything Tether sets.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds, or a short message saying what is wrong with the value. */
export function parseDuration(value: unknown): { ms: number } | { error: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { error: 'must be a finite number of seconds' };
    if (value < 0) return { error: 'must not be negative' };
    return wholeMs(value * 1000);
  }
  if (typeof value !== 'string') {
    return { error: 'must be a duration like "1s", "250ms" or "1h30m", or a number of seconds' };
  }
  const text = value.trim();
  if (text.startsWith('-')) return { error: 'must not be negative' };
  if (/^\d+(?:\.\d+)?$/.test(text)) return { error: `missing unit (e.g. "${text}s")` };
  if (!WHOLE.test(text)) {
    return { error: `invalid duration '${value}' (use e.g. "1s", "250ms", "1h30m")` };
  }
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return wholeMs(total);
}

/**
 * Envoy refuses a Duration of 9223372036 s or more ("Duration out-of-range": it must fit in
 * int64 milliseconds; bisected on Envoy 1.40), whatever the field.
 */
export const MAX_DURATION_MS = 9_223_372_035_000;

function wholeMs(ms: number): { ms: number } | { error: string } {
  // Float noise ("0.1s" → 100.00000000000001) must not count as a fraction.
  const rounded = Math.round(ms);
  if (Math.abs(rounded - ms) > 1e-6) return { error: 'must be a whole number of milliseconds' };
  if (!Number.isSafeInteger(rounded) || rounded > MAX_DURATION_MS) {
    return { error: 'is longer than 9223372035s (about 292 years), the longest duration Envoy takes' };
  }
  return { ms: rounded };
}
