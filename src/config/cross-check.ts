import { DEFAULT_BUCKET_HEADER } from '../model/session-key-policy';
import { DEFAULTS } from './defaults';
import type { FieldError } from './field-errors';
import { NON_HASHING_BALANCERS } from './schema';
import { closest } from './suggestions';
import { runSteps, stepDue, type Steps } from '../util/steps';

/**
 * Checks that relate one part of the file to another: names, references, weights and
 * listener/domain clashes. They read the raw (null-stripped) input defensively instead of
 * the schema's output, so they still run when the schema found problems elsewhere and
 * every mistake is reported in one pass. A value of the wrong type is skipped here; the
 * schema reports it.
 */

type Rec = Record<string, unknown>;

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function field(v: unknown, key: string): unknown {
  return isRec(v) ? v[key] : undefined;
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

/** Names in definition order (for suggestions) and as a set (for lookups). */
export interface Names {
  readonly list: string[];
  readonly set: ReadonlySet<string>;
}

function unknownRef(kind: string, name: string, known: string[]): string {
  if (known.length === 0) return `unknown ${kind} '${name}' (no ${kind}s are defined)`;
  const near = closest(name, known);
  return near ? `unknown ${kind} '${name}'; did you mean '${near}'?` : `unknown ${kind} '${name}'`;
}

/** Names in list order; reports each repeat at its own `.name`. */
function* uniqueNames(items: unknown[], section: string, kind: string, errors: FieldError[]): Steps<string[]> {
  const first = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const name = str(field(items[i], 'name'));
    if (stepDue()) yield;
    if (name === undefined) continue;
    const at = first.get(name);
    if (at === undefined) first.set(name, i);
    else errors.push({ path: `${section}[${i}].name`, message: `duplicate ${kind} name '${name}' (also ${section}[${at}])` });
  }
  return [...first.keys()];
}

function checkListenerPorts(listeners: unknown[], errors: FieldError[]): void {
  const bound: Array<{ address: string; port: number; name: string }> = [];
  listeners.forEach((l, i) => {
    const port = field(l, 'port');
    if (typeof port !== 'number') return;
    const address = str(field(l, 'address')) ?? DEFAULTS.listenerAddress;
    const clash = bound.find(
      (b) => b.port === port && (b.address === address || WILDCARD_ADDRESSES.has(b.address) || WILDCARD_ADDRESSES.has(address)),
    );
    if (clash) {
      errors.push({ path: `listeners[${i}].port`, message: `port ${port} is already used by listener '${clash.name}'` });
    } else {
      bound.push({ address, port, name: str(field(l, 'name')) ?? `listeners[${i}]` });
    }
  });
}

function checkRouteBackends(routePath: string, route: unknown, backendNames: Names, errors: FieldError[]): void {
  const refs = list(field(route, 'backends'));
  let sum = 0;
  let summable = true;
  refs.forEach((ref, k) => {
    const at = `${routePath}.backends[${k}]`;
    const name = str(field(ref, 'name'));
    if (name !== undefined && !backendNames.set.has(name)) {
      errors.push({ path: `${at}.name`, message: unknownRef('backend', name, backendNames.list) });
    }
    const weight = field(ref, 'weight');
    if (weight === undefined) {
      // A split with a forgotten weight is more likely a mistake than a wish for equal shares.
      if (refs.length > 1) {
        errors.push({ path: `${at}.weight`, message: 'required when a route has more than one backend' });
        summable = false;
      } else {
        sum += DEFAULTS.singleBackendWeight;
      }
    } else if (typeof weight === 'number' && Number.isInteger(weight) && weight >= 0) {
      sum += weight;
    } else {
      summable = false;
    }
  });
  if (refs.length > 0 && summable) {
    if (sum === 0) errors.push({ path: `${routePath}.backends`, message: 'weights must add up to more than 0' });
    else if (sum > 0xffffffff) errors.push({ path: `${routePath}.backends`, message: 'weights must add up to at most 4294967295' });
  }
}

/** Ring-mode sticky split: checks that need the service or the backends. */
function checkStickySplit(routePath: string, route: unknown, sticky: boolean, protocols: Map<string, string>, errors: FieldError[]): void {
  const split = field(route, 'stickySplit');
  if (split === undefined || split === false) return;
  if (!sticky) {
    errors.push({
      path: `${routePath}.stickySplit`,
      message: "needs the service's affinity (its keys place each user on the ring that picks the version)",
    });
  }
  // Ring mode (true or mode: ring) puts every version in one cluster with one protocol.
  const ringMode = split === true || (isRec(split) && (split.mode === undefined || split.mode === 'ring'));
  if (!ringMode) return;
  let first: { name: string; protocol: string } | undefined;
  list(field(route, 'backends')).forEach((ref, k) => {
    const name = str(field(ref, 'name'));
    const protocol = name === undefined ? undefined : protocols.get(name);
    if (name === undefined || protocol === undefined) return;
    if (!first) first = { name, protocol };
    else if (protocol !== first.protocol) {
      errors.push({
        path: `${routePath}.backends[${k}].name`,
        message: `'${name}' uses protocol ${protocol} and '${first.name}' ${first.protocol}: a stickySplit route puts every version in one cluster, with one protocol`,
      });
    }
  });
}

function checkMirrors(routePath: string, route: unknown, backendNames: Names, errors: FieldError[]): void {
  list(field(route, 'mirror')).forEach((m, k) => {
    const name = str(field(m, 'backend'));
    if (name !== undefined && !backendNames.set.has(name)) {
      errors.push({ path: `${routePath}.mirror[${k}].backend`, message: unknownRef('backend', name, backendNames.list) });
    }
  });
}

export function checkService(
  svc: unknown,
  i: number,
  listenerNames: string[],
  backendNames: Names,
  protocols: Map<string, string>,
  errors: FieldError[],
): void {
  const at = `services[${i}]`;
  const seenListeners = new Set<string>();
  list(field(svc, 'listeners')).forEach((ref, k) => {
    if (typeof ref !== 'string') return;
    if (!listenerNames.includes(ref)) {
      errors.push({ path: `${at}.listeners[${k}]`, message: unknownRef('listener', ref, listenerNames) });
    } else if (seenListeners.has(ref)) {
      errors.push({ path: `${at}.listeners[${k}]`, message: `listener '${ref}' is listed twice` });
    }
    seenListeners.add(ref);
  });

  const svcName = str(field(svc, 'name'));
  const routeNames = new Map<string, number>();
  list(field(svc, 'routes')).forEach((route, j) => {
    const routePath = `${at}.routes[${j}]`;
    const explicit = str(field(route, 'name'));
    const name = explicit ?? (svcName !== undefined ? `${svcName}-${j}` : undefined);
    if (name !== undefined) {
      const earlier = routeNames.get(name);
      if (earlier === undefined) routeNames.set(name, j);
      else {
        const what = explicit === undefined ? `default route name '${name}'` : `duplicate route name '${name}'`;
        errors.push({ path: explicit === undefined ? routePath : `${routePath}.name`, message: `${what} (also ${at}.routes[${earlier}])` });
      }
    }
    checkRouteBackends(routePath, route, backendNames, errors);
    checkStickySplit(routePath, route, field(svc, 'affinity') !== undefined, protocols, errors);
    checkMirrors(routePath, route, backendNames, errors);
  });
}

/** Services on one Envoy listener share a route table, where Envoy requires unique domains. */
function* checkDomains(services: unknown[], listenerNames: string[], errors: FieldError[]): Steps<void> {
  const owners = new Map<string, string>(); // "listener\0domain" → service name
  for (let i = 0; i < services.length; i++) {
    const svc = services[i];
    const name = str(field(svc, 'name')) ?? `services[${i}]`;
    const rawListeners = field(svc, 'listeners');
    const listeners = Array.isArray(rawListeners) ? rawListeners.filter((l): l is string => typeof l === 'string') : listenerNames;
    const rawDomains = field(svc, 'domains');
    const domains = Array.isArray(rawDomains) ? rawDomains : [...DEFAULTS.domains];
    domains.forEach((domain, d) => {
      if (typeof domain !== 'string') return;
      const path = Array.isArray(rawDomains) ? `services[${i}].domains[${d}]` : `services[${i}].domains`;
      for (const listener of new Set(listeners)) {
        if (!listenerNames.includes(listener)) continue;
        const key = `${listener}\u0000${domain.toLowerCase()}`;
        const owner = owners.get(key);
        if (owner === undefined) owners.set(key, name);
        else if (owner !== name) {
          const which = Array.isArray(rawDomains) ? `domain '${domain}'` : `default domain '${domain}'`;
          errors.push({ path, message: `${which} is also served by service '${owner}' on listener '${listener}'` });
          break;
        }
      }
    });
    if (stepDue()) yield;
  }
}

/** Backends with an explicit non-hashing balancer that a sticky service routes to. */
function* checkStickyBalancers(services: unknown[], backends: unknown[], errors: FieldError[]): Steps<void> {
  const stickyUser = new Map<string, string>(); // backend → first sticky service using it
  for (const svc of services) {
    if (stepDue()) yield;
    const svcName = str(field(svc, 'name'));
    if (svcName === undefined || field(svc, 'affinity') === undefined) continue;
    for (const route of list(field(svc, 'routes'))) {
      for (const ref of list(field(route, 'backends'))) {
        const name = str(field(ref, 'name'));
        if (name !== undefined && !stickyUser.has(name)) stickyUser.set(name, svcName);
      }
    }
  }
  for (let i = 0; i < backends.length; i++) {
    if (stepDue()) yield;
    const b = backends[i];
    const type = str(field(field(b, 'balancer'), 'type'));
    const name = str(field(b, 'name'));
    if (type === undefined || name === undefined || !NON_HASHING_BALANCERS.includes(type)) continue;
    const svc = stickyUser.get(name);
    if (svc !== undefined) {
      errors.push({ path: `backends[${i}].balancer.type`, message: `service '${svc}' has affinity; use ring_hash or maglev` });
    }
  }
}

/**
 * A sessionKey's bucket header reaches route matching only when the ext_proc server clears
 * Envoy's route cache (the route was chosen before ext_proc ran), so a route that picks a
 * version or matches on that header needs clearRouteCache (its default with a bucket header).
 */
export function checkSessionKey(svc: unknown, i: number, errors: FieldError[]): void {
  const key = field(field(svc, 'affinity'), 'sessionKey');
  if (!isRec(key)) return;
  const at = `services[${i}]`;
  const bucketHeader = key.bucketHeader === false ? undefined : (str(key.bucketHeader) ?? DEFAULT_BUCKET_HEADER).toLowerCase();
  const clears = key.clearRouteCache === undefined ? bucketHeader !== undefined : key.clearRouteCache === true;
  list(field(svc, 'routes')).forEach((route, j) => {
    const split = field(route, 'stickySplit');
    if (isRec(split) && split.mode === 'header') {
      const header = str(split.header)?.toLowerCase() ?? bucketHeader;
      if (header === undefined) {
        errors.push({
          path: `${at}.routes[${j}].stickySplit`,
          message: 'needs a header: the service\'s sessionKey sets no bucket header (bucketHeader: false)',
        });
      } else if (header === bucketHeader && !clears) {
        errors.push({
          path: `${at}.affinity.sessionKey.clearRouteCache`,
          message: `must be true: routes[${j}].stickySplit picks the version from ${header}, which Envoy sees only after a route re-match`,
        });
      }
    }
    const headers = field(field(route, 'match'), 'headers');
    if (bucketHeader !== undefined && !clears && isRec(headers) && Object.keys(headers).some((h) => h.toLowerCase() === bucketHeader)) {
      errors.push({
        path: `${at}.affinity.sessionKey.clearRouteCache`,
        message: `must be true: routes[${j}] matches on ${bucketHeader}, which Envoy sees only after a route re-match`,
      });
    }
  });
}

/** The ext_proc cluster shares Envoy's cluster namespace with the backends. */
function checkExtProc(raw: unknown, backendNames: Names, errors: FieldError[]): void {
  const cluster = str(field(field(raw, 'extProc'), 'cluster')) ?? DEFAULTS.extProcCluster;
  const usesExtProc = field(raw, 'extProc') !== undefined || list(field(raw, 'services')).some((s) => field(field(s, 'affinity'), 'sessionKey') !== undefined);
  if (!usesExtProc || !backendNames.set.has(cluster)) return;
  const path = field(field(raw, 'extProc'), 'cluster') === undefined ? 'extProc' : 'extProc.cluster';
  errors.push({ path, message: `cluster '${cluster}' is also a backend's name; name the ext_proc cluster or the backend differently` });
}

export function crossCheck(raw: unknown): FieldError[] {
  return runSteps(crossCheckSteps(raw));
}

/**
 * crossCheck as steps, one per few entries: a whole config of 10,000 services with errors is
 * checked in event-loop turns (config/whole-validation.ts). An entry that adds errors ends its
 * step (an unknown name's suggestion compares it with every name defined).
 */
export function* crossCheckSteps(raw: unknown): Steps<FieldError[]> {
  const errors: FieldError[] = [];
  const listeners = list(field(raw, 'listeners'));
  const services = list(field(raw, 'services'));
  const backends = list(field(raw, 'backends'));

  const listenerNames = yield* uniqueNames(listeners, 'listeners', 'listener', errors);
  checkListenerPorts(listeners, errors);
  yield* uniqueNames(services, 'services', 'service', errors);
  const backendList = yield* uniqueNames(backends, 'backends', 'backend', errors);
  // Thousands of routes look names up here: a set, not Array.includes (quadratic at 10,000 services).
  const backendNames: Names = { list: backendList, set: new Set(backendList) };

  const protocols = new Map<string, string>();
  for (const b of backends) {
    const name = str(field(b, 'name'));
    const protocol = field(b, 'protocol') ?? DEFAULTS.protocol;
    if (name !== undefined && typeof protocol === 'string' && !protocols.has(name)) protocols.set(name, protocol);
    if (stepDue()) yield;
  }
  for (let i = 0; i < services.length; i++) {
    const before = errors.length;
    checkService(services[i], i, listenerNames, backendNames, protocols, errors);
    if (errors.length > before || stepDue()) yield;
  }
  for (let i = 0; i < services.length; i++) {
    checkSessionKey(services[i], i, errors);
    if (stepDue()) yield;
  }
  checkExtProc(raw, backendNames, errors);
  yield* checkDomains(services, listenerNames, errors);
  yield* checkStickyBalancers(services, backends, errors);
  return errors;
}
