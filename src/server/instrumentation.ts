/**
 * Counting what fails around the config manager and the resolver, without changing them: a
 * DNS lookup that reports its failures, and a ConfigManagerApi whose refused edits are counted
 * by reason. Both pass every call and every error through unchanged.
 */
import * as net from 'node:net';
import type { ConfigManagerApi, MutationOptions } from '../control/types';
import { toTetherError, type TetherErrorCode } from '../control/errors';
import type { DnsFailure, EditSource } from '../metrics/config-state';
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

/**
 * The manager as the admin API sees it, with refused edits (not dry runs) counted as `source`.
 * A Proxy, so methods added to the manager later pass through untouched.
 */
export function countingRejections<M extends ConfigManagerApi>(manager: M, rejected: (code: TetherErrorCode, source: EditSource) => void, source: EditSource): M {
  const counted = async <T>(options: MutationOptions | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (!options?.dryRun) rejected(toTetherError(err).code, source);
      throw err;
    }
  };
  const wrapped: Partial<ConfigManagerApi> = {
    apply: (document, options) => counted(options, () => manager.apply(document, options)),
    mutate: (from, edit, options) => counted(options, () => manager.mutate(from, edit, options)),
    rollback: (to, options) => counted(options, () => manager.rollback(to, options)),
  };
  return new Proxy(manager, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in wrapped) return wrapped[prop as keyof ConfigManagerApi];
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
