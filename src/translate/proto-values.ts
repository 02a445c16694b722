import type { Duration } from '../generated/google/protobuf/Duration';

/**
 * Milliseconds → google.protobuf.Duration. Zero fields are left out (they are not on the
 * wire anyway), so 0 ms is `{}`: for a cookie hash policy that still means "ttl set to 0",
 * i.e. a session cookie, which is different from no ttl at all.
 */
export function durationFromMs(ms: number): Duration {
  const whole = Math.trunc(ms);
  const seconds = Math.floor(whole / 1000);
  const nanos = (whole % 1000) * 1_000_000;
  const duration: Duration = {};
  if (seconds !== 0) duration.seconds = String(seconds);
  if (nanos !== 0) duration.nanos = nanos;
  return duration;
}

/** Compares strings by UTF-16 code units: a total order that does not depend on the locale. */
export function byName<T extends { name?: string | undefined }>(a: T, b: T): number {
  const x = a.name ?? '';
  const y = b.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
