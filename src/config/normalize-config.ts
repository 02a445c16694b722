import type { BackendSpec, ServiceSpec, TetherConfig } from '../model/types';
import { backend, extProc, listener, service } from './normalize';
import type { RawBackend, RawConfig, RawService } from './schema';
import { listWindow, spliceWindow } from '../util/list-window';
import { runSteps, stepDue, type Steps } from '../util/steps';

/**
 * What normalize() carries over from one config to the next (config/incremental.ts): the
 * model of an entry whose schema output is the same object, in the same context, is the same
 * object as before — translation memos (translate/unit-memo.ts) rely on that identity.
 */
export interface NormalizeMemo {
  readonly services: WeakMap<object, { context: string; value: ServiceSpec }>;
  readonly backends: WeakMap<object, { sticky: boolean; value: BackendSpec }>;
  /** Top-level sections other than the lists: kept while their JSON is the same. */
  readonly sections: Map<string, { json: string; value: unknown }>;
  /** The last config normalised with this memo, for the next one's windows (an edit changes a few entries). */
  last?: LastNormalized;
}

/** A normalised config and what its lists were made from, with the counts the whole-list facts come from. */
interface LastNormalized {
  readonly context: string;
  readonly rawServices: readonly RawService[];
  readonly services: readonly ServiceSpec[];
  readonly rawBackends: readonly RawBackend[];
  readonly backends: readonly BackendSpec[];
  /** Backend name → how many sticky services' routes split to it (the backend is sticky while > 0). */
  readonly sticky: Map<string, number>;
  /** Services with a session key (ext_proc settings are in the model while > 0). */
  readonly sessionKeys: number;
}

export function newNormalizeMemo(): NormalizeMemo {
  return { services: new WeakMap(), backends: new WeakMap(), sections: new Map() };
}

function same<T>(memo: NormalizeMemo | undefined, section: string, value: T): T {
  if (!memo) return value;
  const json = JSON.stringify(value);
  const before = memo.sections.get(section);
  if (before && before.json === json) return before.value as T;
  memo.sections.set(section, { json, value });
  return value;
}

/** Per service model (kept from version to version while unchanged): the backends its routes split to. */
const stickyOf = new WeakMap<object, readonly string[]>();
function stickyBackendsOf(s: TetherConfig['services'][number]): readonly string[] {
  let names = stickyOf.get(s);
  if (!names) stickyOf.set(s, (names = s.routes.flatMap((r) => r.backends.map((b) => b.backend))));
  return names;
}

export function normalize(raw: RawConfig, memo?: NormalizeMemo): TetherConfig {
  return runSteps(normalizeSteps(raw, memo));
}

function* serviceModels(raws: readonly RawService[], from: number, to: number, allListeners: string[], context: string, memo: NormalizeMemo | undefined): Steps<ServiceSpec[]> {
  const services: ServiceSpec[] = [];
  for (let i = from; i < to; i++) {
    const s = raws[i]!;
    const before = memo?.services.get(s);
    if (before && before.context === context) {
      services.push(before.value);
      continue;
    }
    const value = service(s, allListeners);
    memo?.services.set(s, { context, value });
    services.push(value);
    if (stepDue()) yield;
  }
  return services;
}

function* backendModels(raws: readonly RawBackend[], from: number, to: number, isSticky: (name: string) => boolean, memo: NormalizeMemo | undefined): Steps<BackendSpec[]> {
  const backends: BackendSpec[] = [];
  for (let i = from; i < to; i++) {
    const b = raws[i]!;
    const sticky = isSticky(b.name);
    const before = memo?.backends.get(b);
    if (before && before.sticky === sticky) {
      backends.push(before.value);
      continue;
    }
    const value = backend(b, sticky);
    memo?.backends.set(b, { sticky, value });
    backends.push(value);
    if (stepDue()) yield;
  }
  return backends;
}

/**
 * Adds (by +1) or removes (-1) what `services` contribute to the whole-list counts; a step every
 * few services (a whole new config counts 10,000 out and 10,000 in: ~40 ms at once).
 */
function* count(services: readonly ServiceSpec[], by: 1 | -1, sticky: Map<string, number>): Steps<number> {
  let sessionKeys = 0;
  for (const s of services) {
    if (stepDue()) yield;
    if (!s.affinity) continue;
    if (s.affinity.sessionKey !== undefined) sessionKeys += by;
    for (const b of stickyBackendsOf(s)) sticky.set(b, (sticky.get(b) ?? 0) + by);
  }
  return sessionKeys;
}

/**
 * normalize as steps, one per few services or backends (the server's whole configs in turns).
 * With a memo that normalised the config this one was edited from, only the window where each
 * list differs is normalised; the whole-list facts (which backends sticky services use, whether
 * any service has a session key) are counts moved by the entries that left and came.
 */
export function* normalizeSteps(raw: RawConfig, memo?: NormalizeMemo): Steps<TetherConfig> {
  const listeners = same(memo, 'listeners', (raw.listeners ?? []).map(listener));
  const allListeners = listeners.map((l) => l.name);
  const context = allListeners.join('\n');
  const rawServices = raw.services ?? [];
  const rawBackends = raw.backends ?? [];
  const last = memo?.last?.context === context ? memo.last : undefined;
  let services: readonly ServiceSpec[];
  let backends: readonly BackendSpec[];
  let sticky: Map<string, number>;
  let sessionKeys: number;
  if (!last) {
    services = yield* serviceModels(rawServices, 0, rawServices.length, allListeners, context, memo);
    // Hash-based balancing is what makes affinity work, so it is the default wherever a
    // sticky service can send traffic.
    sticky = new Map();
    sessionKeys = yield* count(services, 1, sticky);
    backends = yield* backendModels(rawBackends, 0, rawBackends.length, (name) => (sticky.get(name) ?? 0) > 0, memo);
  } else {
    const ws = listWindow(last.rawServices, rawServices);
    services = spliceWindow(last.services, ws, yield* serviceModels(rawServices, ws.start, ws.end, allListeners, context, memo));
    // The counts move by what left and what came: a delta here, applied to the last counts at the end.
    const delta = new Map<string, number>();
    sessionKeys = last.sessionKeys + (yield* count(last.services.slice(ws.start, ws.beforeEnd), -1, delta)) + (yield* count(services.slice(ws.start, ws.end), 1, delta));
    const isSticky = (name: string) => (last.sticky.get(name) ?? 0) + (delta.get(name) ?? 0) > 0;
    const flipped = [...delta.keys()].some((name) => isSticky(name) !== (last.sticky.get(name) ?? 0) > 0);
    if (flipped) backends = yield* backendModels(rawBackends, 0, rawBackends.length, isSticky, memo);
    else {
      const wb = listWindow(last.rawBackends, rawBackends);
      backends = spliceWindow(last.backends, wb, yield* backendModels(rawBackends, wb.start, wb.end, isSticky, memo));
    }
    // No step after this: the last counts become this config's.
    sticky = last.sticky;
    for (const [name, by] of delta) {
      const n = (sticky.get(name) ?? 0) + by;
      if (n === 0) sticky.delete(name);
      else sticky.set(name, n);
    }
  }
  if (memo) memo.last = { context, rawServices, services, rawBackends, backends, sticky, sessionKeys };
  const out: TetherConfig = { listeners, services: services as ServiceSpec[], backends: backends as BackendSpec[] };
  if (raw.extProc !== undefined || sessionKeys > 0) out.extProc = same(memo, 'extProc', extProc(raw.extProc));
  return out;
}
