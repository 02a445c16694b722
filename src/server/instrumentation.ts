/**
 * Counting DNS failures without changing the resolver: a lookup that reports each failure and
 * passes every answer and error through unchanged.
 */
import * as net from 'node:net';
import type { DnsFailure } from '../metrics/config-state';
import { DEFAULT_LOOKUP_TIMEOUT_MS, systemLookup, type LookupFn } from '../resolve/resolver';

/**
 * `lookup` (default getaddrinfo), telling `failed` once per lookup that errs, answers nothing
 * usable (what the resolver refuses) or takes longer than the resolver waits.
 */
export function countingLookup(failed: (reason: DnsFailure) => void, lookup: LookupFn = systemLookup, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS): LookupFn {
  return (host) => {
    let settled = false;
    const report = (reason: DnsFailure) => {
      if (settled) return;
      settled = true;
      failed(reason);
    };
    const timer = setTimeout(() => report('timeout'), timeoutMs);
    timer.unref();
    return lookup(host).then(
      (addresses) => {
        clearTimeout(timer);
        if (addresses.length === 0 || addresses.some((a) => net.isIP(a.replace(/^\[|\]$/g, '')) === 0)) report('no_address');
        settled = true;
        return addresses;
      },
      (err: unknown) => {
        clearTimeout(timer);
        report('error');
        throw err;
      },
    );
  };
}
