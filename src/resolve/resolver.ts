import * as dns from 'node:dns';
import * as net from 'node:net';
import type { Logger } from 'pino';
import pino from 'pino';
import type { TetherConfig } from '../model/types';
import { sliceTurns } from '../util/yield-loop';
import type { ResolvedEndpoint, ResolvedEndpoints } from '../model/resolved';

/** Resolves a DNS name to IP addresses. Rejects (or returns []) when it cannot. */
export type LookupFn = (host: string) => Promise<string[]>;

export interface EndpointResolverOptions {
  /** Default: {@link systemLookup} (getaddrinfo, like every other process on the host). */
  lookup?: LookupFn;
  /** How often DNS names are re-resolved. Default 30 s. */
  intervalMs?: number;
  /** A lookup slower than this counts as failed (getaddrinfo has no timeout of its own). Default 5 s. */
  lookupTimeoutMs?: number;
  logger?: Logger;
  /**
   * Called after a periodic re-resolution whose result differs from {@link EndpointResolver.current}.
   * Not called for {@link EndpointResolver.setConfig}: its caller gets the result directly.
   */
  onChange: (endpoints: ResolvedEndpoints) => void;
}

export interface EndpointResolver {
  /**
   * Makes `config` the one to resolve, resolves every DNS name in it now, and returns the
   * endpoints of every backend (which also become {@link current}). Never rejects because of
   * DNS: a name that fails keeps its last known addresses, or contributes none.
   */
  setConfig(config: TetherConfig): Promise<ResolvedEndpoints>;
  /**
   * The endpoints `config` would have, without making it the config to resolve (dry runs):
   * names already known keep their last addresses, new names are looked up once.
   */
  resolveOnce(config: TetherConfig): Promise<ResolvedEndpoints>;
  /** The endpoints from the latest completed resolution (empty before the first setConfig). */
  current(): ResolvedEndpoints;
  /** Stops re-resolution; results still in flight are dropped. */
  close(): void;
}

const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;

/** All addresses getaddrinfo returns for `host`, deduplicated and sorted (IPv4 first). */
export const systemLookup: LookupFn = async (host) => {
  const results = await dns.promises.lookup(host, { all: true });
  return normalizeAddresses(results.map((r) => r.address));
};

/** `[::1]` → `::1`; anything else unchanged. */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** True for IPv4 and IPv6 literals (bracketed or not): they need no lookup. */
export function isIpLiteral(host: string): boolean {
  return net.isIP(stripBrackets(host)) !== 0;
}

/**
 * Deduplicates and sorts addresses so a DNS server that rotates its answers does not look
 * like a change: IPv4 before IPv6, IPv4 numerically, IPv6 as text.
 */
export function normalizeAddresses(addresses: readonly string[]): string[] {
  const unique = [...new Set(addresses.map(stripBrackets))];
  return unique.sort(compareIps);
}

function compareIps(a: string, b: string): number {
  const fa = net.isIP(a);
  const fb = net.isIP(b);
  if (fa !== fb) return fa === 4 ? -1 : fb === 4 ? 1 : fa - fb;
  if (fa === 4) {
    const pa = a.split('.').map(Number);
    const pb = b.split('.').map(Number);
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Structural equality: same backends, and per backend the same endpoints in the same order. */
export function sameResolvedEndpoints(a: ResolvedEndpoints, b: ResolvedEndpoints): boolean {
  if (a.size !== b.size) return false;
  for (const [name, list] of a) {
    const other = b.get(name);
    if (!other || !sameEndpointList(list, other)) return false;
  }
  return true;
}

function sameEndpointList(list: readonly ResolvedEndpoint[], other: readonly ResolvedEndpoint[]): boolean {
  if (list === other) return true;
  if (other.length !== list.length) return false;
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    const y = other[i]!;
    if (x.ip !== y.ip || x.port !== y.port || x.weight !== y.weight || x.hostname !== y.hostname || !!x.drain !== !!y.drain) return false;
  }
  return true;
}

/** What one lookup gave: addresses, or why not. */
interface Looked {
  host: string;
  addresses?: string[];
  error?: Error;
}

/**
 * Turns the DNS names in a config's endpoints into IPs (EDS carries IPs only) and keeps them
 * fresh. Resolution passes run one at a time, in call order, so a slow periodic pass can never
 * publish addresses for a config that has since been replaced.
 */
export function createEndpointResolver(options: EndpointResolverOptions): EndpointResolver {
  const lookup = options.lookup ?? systemLookup;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const logger = options.logger ?? pino({ level: 'silent' });
  if (!(intervalMs > 0)) throw new Error(`resolver: intervalMs must be > 0, got ${intervalMs}`);

  let config: TetherConfig | undefined;
  let current: ResolvedEndpoints = new Map();
  /** Last addresses each name resolved to; only names in the current config are kept. */
  const known = new Map<string, string[]>();
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const serially = <T>(pass: () => Promise<T>): Promise<T> => {
    const run = queue.then(pass, pass);
    queue = run.catch(() => undefined);
    return run;
  };

  /**
   * Looks every name up at once, each bounded by the timeout (one deadline for the batch, which
   * all start together: 10,000 names are not 10,000 timers and races); what they found is
   * applied by `record` (kept apart so results can be applied in turns).
   */
  const lookupNames = (hosts: readonly string[]): Promise<Looked[]> =>
    new Promise((resolve) => {
      const results = new Array<Looked | undefined>(hosts.length);
      let left = hosts.length;
      if (left === 0) return resolve([]);
      const deadline = setTimeout(() => {
        hosts.forEach((host, i) => (results[i] ??= { host, error: new Error(`lookup ${host} timed out after ${lookupTimeoutMs} ms`) }));
        left = 0;
        resolve(results as Looked[]);
      }, lookupTimeoutMs);
      deadline.unref();
      const settle = (i: number, result: Looked) => {
        if (left === 0 || results[i]) return;
        results[i] = result;
        if (--left === 0) {
          clearTimeout(deadline);
          resolve(results as Looked[]);
        }
      };
      hosts.forEach((host, i) => {
        let found: Promise<string[]>;
        try {
          found = Promise.resolve(lookup(host));
        } catch (error) {
          found = Promise.reject(error);
        }
        found.then(
          (addresses) => settle(i, { host, addresses }),
          (error: unknown) => settle(i, { host, error: error instanceof Error ? error : new Error(String(error)) }),
        );
      });
    });

  const record = ({ host, addresses: found, error }: Looked): void => {
    try {
      if (error) throw error;
      const addresses = normalizeAddresses(found ?? []);
      const bad = addresses.filter((a) => net.isIP(a) === 0);
      if (bad.length > 0) throw new Error(`lookup returned non-IP addresses: ${bad.join(', ')}`);
      if (addresses.length === 0) throw new Error('lookup returned no addresses');
      const previous = known.get(host);
      if (previous && previous.join(',') !== addresses.join(',')) {
        logger.info({ host, from: previous, to: addresses }, 'DNS name now resolves to other addresses');
      }
      known.set(host, addresses);
    } catch (err) {
      const previous = known.get(host);
      const message = (err as Error).message;
      if (previous) logger.warn({ host, err: message, keeping: previous }, 'DNS lookup failed; keeping last known addresses');
      else logger.warn({ host, err: message }, 'DNS lookup failed and the name was never resolved; it has no endpoints');
    }
  };

  /**
   * The lists handed out last, per backend: an unchanged list is handed out again as the same
   * array, so the translation of a backend whose endpoints did not change is reused
   * (translate/unit-memo.ts). Backends of IP literals only are remembered by their model object.
   */
  let handedOut = new Map<string, readonly ResolvedEndpoint[]>();
  const literalOnly = new WeakMap<object, readonly ResolvedEndpoint[]>();

  /** The last full resolution, when its backends had no DNS name: the same backends again resolve to the same map. */
  let literalResult: { backends: readonly object[]; result: ResolvedEndpoints } | undefined;

  const resolveAll = async (cfg: TetherConfig, prune = true): Promise<ResolvedEndpoints> => {
    // An edit of services only, in a config of IP literals: nothing to look up or rebuild, and
    // the same map lets the translation skip its per-backend comparison (translate/unit-memo.ts).
    if (prune && literalResult && sameItems(literalResult.backends, cfg.backends)) return literalResult.result;
    const names = new Set<string>();
    for (const backend of cfg.backends) {
      // A backend of IP literals only, seen before, has no names (and 10,000 of them are 30,000 checks per edit).
      if (literalOnly.has(backend)) continue;
      for (const ep of backend.endpoints) if (!isIpLiteral(ep.host)) names.add(ep.host);
    }
    if (prune) for (const name of known.keys()) if (!names.has(name)) known.delete(name);
    // Every lookup at once (each with its own timeout), their results applied in turns:
    // 10,000 names settling together would otherwise be one long run of continuations.
    const turn = sliceTurns();
    const found = await lookupNames([...names].filter((n) => prune || !known.has(n)));
    for (let i = 0; i < found.length; i++) {
      record(found[i]!);
      if (i % 64 === 63) await turn();
    }

    const result = new Map<string, readonly ResolvedEndpoint[]>();
    let step = 0;
    for (const backend of cfg.backends) {
      if (++step % 256 === 0) await turn();
      const fixed = literalOnly.get(backend);
      if (fixed) {
        result.set(backend.name, fixed);
        continue;
      }
      const list: ResolvedEndpoint[] = [];
      for (const ep of backend.endpoints) {
        const drain = ep.drain ? { drain: true } : {};
        if (isIpLiteral(ep.host)) {
          list.push({ ip: stripBrackets(ep.host), port: ep.port, weight: ep.weight, ...drain });
          continue;
        }
        for (const ip of known.get(ep.host) ?? []) list.push({ ip, port: ep.port, weight: ep.weight, hostname: ep.host, ...drain });
      }
      if (list.length === 0 && backend.endpoints.length > 0) {
        logger.warn({ backend: backend.name }, 'backend has no resolvable endpoints');
      }
      const before = handedOut.get(backend.name);
      const same = before && sameEndpointList(before, list) ? before : Object.freeze(list);
      if (backend.endpoints.every((ep) => isIpLiteral(ep.host))) literalOnly.set(backend, same);
      result.set(backend.name, same);
    }
    if (prune) {
      handedOut = result;
      literalResult = names.size === 0 ? { backends: cfg.backends, result } : undefined;
    }
    return result;
  };

  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void serially(refresh).finally(schedule);
    }, intervalMs);
    timer.unref();
  };

  const refresh = async (): Promise<void> => {
    const cfg = config;
    if (closed || !cfg) return;
    const next = await resolveAll(cfg);
    if (closed || cfg !== config) return;
    if (sameResolvedEndpoints(current, next)) return;
    current = next;
    try {
      options.onChange(next);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'onChange failed after re-resolution');
    }
  };

  return {
    setConfig(cfg) {
      if (closed) return Promise.reject(new Error('resolver is closed'));
      config = cfg;
      return serially(async () => {
        const next = await resolveAll(cfg);
        // A later setConfig, queued behind this one, will publish its own result.
        if (!closed && cfg === config) current = next;
        schedule();
        return next;
      });
    },
    resolveOnce(cfg) {
      if (closed) return Promise.reject(new Error('resolver is closed'));
      return serially(() => resolveAll(cfg, false));
    },
    current: () => current,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
