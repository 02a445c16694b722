import { DEFAULTS } from './defaults';
import { checkService, checkSessionKey, crossCheck } from './cross-check';
import type { FieldError } from './field-errors';
import { NON_HASHING_BALANCERS } from './schema';
import { listWindow } from '../util/list-window';
import { runSteps, stepDue, type Steps } from '../util/steps';

/**
 * The cross-checks (cross-check.ts) of a config that differs from an earlier valid one in a few
 * entries of `services`/`backends`, at the cost of those entries: what the checks relate
 * across entries (names, references, domains per listener, sticky services' backends, ext_proc
 * users) is kept as counts updated per added or removed entry. It only answers whether the
 * whole config passes; whether an entry moved does not matter to that (every check's verdict is
 * independent of order). When the answer is no, or the rest of the document changed, the
 * caller runs the full cross-check, which words every error: the same result either way
 * (test/config/cross-check-index.test.ts compares them on random edits).
 */

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, key: string): unknown => (isRec(v) ? v[key] : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface ServiceFacts {
  name: string | undefined;
  /** Backend names its routes and mirrors refer to. */
  refs: string[];
  /** Backend names its routes split to, when it has affinity. */
  stickyRefs: string[];
  /** `listener\0domain` it serves. */
  domainKeys: string[];
  sessionKey: boolean;
}

interface BackendFacts {
  name: string | undefined;
  protocol: unknown;
  nonHashing: boolean;
}

function serviceFacts(svc: unknown, listenerNames: readonly string[]): ServiceFacts {
  const refs: string[] = [];
  const stickyRefs: string[] = [];
  const sticky = field(svc, 'affinity') !== undefined;
  for (const route of list(field(svc, 'routes'))) {
    for (const ref of list(field(route, 'backends'))) {
      const name = str(field(ref, 'name'));
      if (name === undefined) continue;
      refs.push(name);
      if (sticky) stickyRefs.push(name);
    }
    for (const m of list(field(route, 'mirror'))) {
      const name = str(field(m, 'backend'));
      if (name !== undefined) refs.push(name);
    }
  }
  const rawListeners = field(svc, 'listeners');
  const listeners = Array.isArray(rawListeners) ? rawListeners.filter((l): l is string => typeof l === 'string') : listenerNames;
  const rawDomains = field(svc, 'domains');
  const domains = Array.isArray(rawDomains) ? rawDomains : [...DEFAULTS.domains];
  const domainKeys: string[] = [];
  for (const domain of domains) {
    if (typeof domain !== 'string') continue;
    for (const listener of new Set(listeners)) if (listenerNames.includes(listener)) domainKeys.push(`${listener}\u0000${domain.toLowerCase()}`);
  }
  return { name: str(field(svc, 'name')), refs, stickyRefs, domainKeys, sessionKey: field(field(svc, 'affinity'), 'sessionKey') !== undefined };
}

function backendFacts(b: unknown): BackendFacts {
  const type = str(field(field(b, 'balancer'), 'type'));
  return { name: str(field(b, 'name')), protocol: field(b, 'protocol') ?? DEFAULTS.protocol, nonHashing: type !== undefined && NON_HASHING_BALANCERS.includes(type) };
}

/**
 * The entries of `before` not kept in `after` and the new ones, outside their common start and
 * end (compared by identity): an edit replaces, inserts or removes a few entries in place. An
 * entry moved is removed and added again, the same entry twice is added twice (its name then
 * counts twice): the counts stay exact either way.
 */
function changed(before: readonly unknown[], after: readonly unknown[]): [unknown[], unknown[]] {
  const w = listWindow(before, after);
  const gone: unknown[] = [];
  const added: unknown[] = [];
  for (let i = w.start; i < w.beforeEnd; i++) gone.push(before[i]);
  for (let i = w.start; i < w.end; i++) added.push(after[i]);
  return [gone, added];
}

const bump = (m: Map<string, number>, key: string, by: number) => {
  const n = (m.get(key) ?? 0) + by;
  if (n === 0) m.delete(key);
  else m.set(key, n);
};

/** The cross-check facts of one valid config; `update` moves them to the next one. */
export class CrossCheckIndex {
  private services: readonly unknown[] = [];
  private backends: readonly unknown[] = [];
  private readonly serviceFacts = new WeakMap<object, ServiceFacts>();
  private readonly backendFacts = new WeakMap<object, BackendFacts>();
  private readonly serviceNames = new Map<string, number>();
  private readonly backendNames = new Map<string, number>();
  private readonly protocols = new Map<string, unknown>();
  private readonly nonHashing = new Map<string, number>();
  private readonly refs = new Map<string, number>();
  private readonly stickyRefs = new Map<string, number>();
  /** `listener\0domain` → the service serving it, and how many times. */
  private readonly domains = new Map<string, { name: string | undefined; n: number }>();
  private sessionKeys = 0;

  private constructor(
    /** The document without its lists, as JSON: any change there goes through the full check. */
    readonly restKey: string,
    private readonly listenerNames: readonly string[],
    private readonly extProcCluster: string,
    private readonly extProcSet: boolean,
  ) {}

  /**
   * The index of `stripped` (a null-stripped document whose lists are `services` and
   * `backends`) when it passes the full cross-check, else undefined with its errors.
   */
  static build(stripped: Rec, restKey: string): { index?: CrossCheckIndex; errors: FieldError[] } {
    const errors = crossCheck(stripped);
    if (errors.length > 0) return { errors };
    const listenerNames = list(stripped.listeners).map((l) => str(field(l, 'name'))).filter((n): n is string => n !== undefined);
    const extProc = field(stripped, 'extProc');
    const index = new CrossCheckIndex(restKey, listenerNames, str(field(extProc, 'cluster')) ?? DEFAULTS.extProcCluster, extProc !== undefined);
    for (const b of list(stripped.backends)) index.addBackend(b);
    for (const s of list(stripped.services)) index.addService(s);
    index.services = list(stripped.services);
    index.backends = list(stripped.backends);
    return { index, errors };
  }

  /**
   * The index of `stripped` when it passes every cross-check, else undefined, as steps per few
   * entries (a whole config of 10,000 services in event-loop turns): the rest of the document
   * (listeners, extProc) checked whole with empty lists, then every entry added as an edit of
   * that config adds them. The errors of a config that fails are the full check's to word.
   */
  static *buildSteps(stripped: Rec, restKey: string): Steps<CrossCheckIndex | undefined> {
    if (crossCheck({ ...stripped, services: [], backends: [] }).length > 0) return undefined;
    const index = CrossCheckIndex.empty(stripped, restKey);
    return (yield* index.updateSteps(list(stripped.services), list(stripped.backends))) ? index : undefined;
  }

  private static empty(stripped: Rec, restKey: string): CrossCheckIndex {
    const listenerNames = list(stripped.listeners).map((l) => str(field(l, 'name'))).filter((n): n is string => n !== undefined);
    const extProc = field(stripped, 'extProc');
    return new CrossCheckIndex(restKey, listenerNames, str(field(extProc, 'cluster')) ?? DEFAULTS.extProcCluster, extProc !== undefined);
  }

  /**
   * Whether the config with these lists (and the same rest) passes every cross-check; the
   * index then describes it. When it does not, the index is left unusable (`false`): build a
   * new one from the full check.
   */
  update(services: readonly unknown[], backends: readonly unknown[]): boolean {
    return runSteps(this.updateSteps(services, backends));
  }

  /** update as steps, one per few entries added, removed or checked. */
  *updateSteps(services: readonly unknown[], backends: readonly unknown[]): Steps<boolean> {
    const [goneB, newB] = changed(this.backends, backends);
    const [goneS, newS] = changed(this.services, services);
    for (const s of goneS) {
      this.removeService(s);
      if (stepDue()) yield;
    }
    for (const b of goneB) this.removeBackend(b);
    for (const b of newB) {
      this.addBackend(b);
      if (stepDue()) yield;
    }
    this.services = services;
    this.backends = backends;
    // A backend that changed is removed and added: what still refers to it must still hold.
    for (const b of [...goneB, ...newB]) {
      const name = this.backendFactsOf(b).name;
      if (name === undefined) continue;
      if ((this.backendNames.get(name) ?? 0) > 1) return false;
      if ((this.refs.get(name) ?? 0) > 0 && !this.backendNames.has(name)) return false;
      if ((this.stickyRefs.get(name) ?? 0) > 0 && (this.nonHashing.get(name) ?? 0) > 0) return false;
    }
    // A protocol change matters to sticky-split routes (one protocol per ring): those services are checked again.
    const changedProtocols = new Set(goneB.map((b) => this.backendFactsOf(b)).filter((f) => f.name !== undefined && this.protocols.get(f.name) !== f.protocol).map((f) => f.name!));
    const added = new Set(newS);
    const recheck = changedProtocols.size === 0 ? [] : services.filter((s) => !added.has(s) && this.serviceFactsOf(s).refs.some((r) => changedProtocols.has(r)));
    // Read only with has() and get(); no copies of 10,000 names per edit. The list feeds
    // suggestions in error messages, which the full check words.
    const backendNames = { list: [] as string[], set: this.backendNames as unknown as ReadonlySet<string> };
    const protocols = this.protocols as Map<string, string>;
    const listenerNames = [...this.listenerNames];
    for (const s of [...newS, ...recheck]) {
      const errors: FieldError[] = [];
      checkService(s, 0, listenerNames, backendNames, protocols, errors);
      checkSessionKey(s, 0, errors);
      if (errors.length > 0) return false;
      if (stepDue()) yield;
    }
    for (const s of newS) {
      if (!this.addService(s)) return false;
      if (stepDue()) yield;
    }
    if (this.sessionKeys > 0 || this.extProcSet) {
      if (this.backendNames.has(this.extProcCluster)) return false;
    }
    return true;
  }

  private serviceFactsOf(s: unknown): ServiceFacts {
    if (!isRec(s)) return serviceFacts(s, this.listenerNames);
    let facts = this.serviceFacts.get(s);
    if (!facts) this.serviceFacts.set(s, (facts = serviceFacts(s, this.listenerNames)));
    return facts;
  }

  private backendFactsOf(b: unknown): BackendFacts {
    if (!isRec(b)) return backendFacts(b);
    let facts = this.backendFacts.get(b);
    if (!facts) this.backendFacts.set(b, (facts = backendFacts(b)));
    return facts;
  }

  /** False when the service clashes with another by name, domain, or a sticky backend's balancer. */
  private addService(s: unknown): boolean {
    const f = this.serviceFactsOf(s);
    let ok = true;
    if (f.name !== undefined) {
      bump(this.serviceNames, f.name, 1);
      if (this.serviceNames.get(f.name)! > 1) ok = false;
    }
    for (const r of f.refs) bump(this.refs, r, 1);
    for (const r of f.stickyRefs) {
      bump(this.stickyRefs, r, 1);
      if ((this.nonHashing.get(r) ?? 0) > 0) ok = false;
    }
    for (const key of f.domainKeys) {
      const owner = this.domains.get(key);
      if (!owner) this.domains.set(key, { name: f.name, n: 1 });
      else {
        owner.n++;
        if (owner.name !== f.name || f.name === undefined) ok = false;
      }
    }
    if (f.sessionKey) this.sessionKeys++;
    return ok;
  }

  private removeService(s: unknown): void {
    const f = this.serviceFactsOf(s);
    if (f.name !== undefined) bump(this.serviceNames, f.name, -1);
    for (const r of f.refs) bump(this.refs, r, -1);
    for (const r of f.stickyRefs) bump(this.stickyRefs, r, -1);
    for (const key of f.domainKeys) {
      const owner = this.domains.get(key)!;
      if (--owner.n === 0) this.domains.delete(key);
    }
    if (f.sessionKey) this.sessionKeys--;
  }

  private addBackend(b: unknown): void {
    const f = this.backendFactsOf(b);
    if (f.name === undefined) return;
    bump(this.backendNames, f.name, 1);
    this.protocols.set(f.name, f.protocol);
    if (f.nonHashing) bump(this.nonHashing, f.name, 1);
  }

  private removeBackend(b: unknown): void {
    const f = this.backendFactsOf(b);
    if (f.name === undefined) return;
    bump(this.backendNames, f.name, -1);
    if (!this.backendNames.has(f.name)) this.protocols.delete(f.name);
    if (f.nonHashing) bump(this.nonHashing, f.name, -1);
  }
}
