/** Plain-data helpers shared by the document check and validation. */
import { runSteps, stepDue, type Steps } from '../util/steps';

/**
 * Objects configDocument produced. One that is also frozen (the config manager deep-freezes
 * what it keeps) cannot have changed since it was checked, so an edit that shares most of
 * the previous document with the new one (structural sharing) is checked and copied only
 * where it is new.
 */
export const checkedPlain = new WeakSet<object>();

/**
 * How deep into a document objects go into checkedPlain: the document, its top-level values
 * and their list entries (a service, a backend), the units edits share. Every object of a
 * 10,000-service config was ~200,000 entries per version, and a WeakSet that grows past a
 * power of two rehashes in one go: 40–120 ms of CPU at 175,000–350,000 entries. An edit's
 * unmarked parts (the routes of a changed service) are just checked and copied again.
 */
export const CHECKED_DEPTH = 2;

/**
 * `copy[key] = value`, except that a key named `__proto__` (which YAML and JSON.parse keep as
 * an ordinary key) stays an ordinary own field instead of replacing the copy's prototype: the
 * schema then reports it as an unknown field, like any other misspelling.
 */
export function setOwn(copy: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  else copy[key] = value;
}

/**
 * YAML's `key:` with nothing after it (and JSON's `"key": null`) means "not set", so nulls
 * are dropped from objects before validation; a copy is made so the caller's data is
 * untouched. Cycles (possible with YAML aliases) are reported instead of recursed into.
 */
export function withoutNulls(value: unknown): { value: unknown } | { cycle: string } {
  return runSteps(withoutNullsSteps(value, false));
}

/**
 * withoutNulls as steps: the entries of the top-level object's lists (a whole config's services
 * and backends) a step every few entries, everything else as one walk. Same result.
 */
export function* withoutNullsSteps(value: unknown, stepLists = true): Steps<{ value: unknown } | { cycle: string }> {
  const ancestors = new Set<object>();
  // The path is kept as segments and spelt only for a cycle: a 10,000-service document has
  // hundreds of thousands of nodes, and a string per node was a good part of a cold start's GC.
  const at: Array<string | number> = [];
  let cyclePath: string | undefined;
  const visit = (v: unknown): unknown => {
    if (v === null) return undefined;
    if (typeof v !== 'object') return v;
    if (ancestors.has(v)) {
      cyclePath ??= spell(at);
      return undefined;
    }
    ancestors.add(v);
    // A frozen part without nulls is its own copy (nobody can change it): an unchanged document
    // of 10,000 services (a restart, a first start) is then checked without being copied again.
    const share = Object.isFrozen(v);
    let out: unknown;
    if (Array.isArray(v)) {
      let list: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) list = listItem(v, i, share, list);
      out = list ?? (share ? v : []);
    } else {
      const keys = Object.keys(v);
      let copy: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const item = (v as Record<string, unknown>)[k];
        const next = item === null ? undefined : (at.push(k), visit(item));
        if (item !== null) at.pop();
        if (copy === undefined && (next !== item || !share)) {
          copy = {};
          for (let j = 0; j < i; j++) setOwn(copy, keys[j]!, (v as Record<string, unknown>)[keys[j]!]);
        }
        if (copy !== undefined && item !== null) setOwn(copy, k, next);
      }
      out = copy ?? (share ? v : {});
    }
    ancestors.delete(v);
    if (out !== v && at.length <= CHECKED_DEPTH) checkedPlain.add(out as object);
    return out;
  };
  /**
   * Item `i` of list `v`, visited, into the copy `list` (made at the first item that differs, or
   * at once when `v` is not frozen); returns the copy, still undefined while `v` itself will do.
   * List items stay in place (null included) so indexes in messages match the file.
   */
  const listItem = (v: unknown[], i: number, share: boolean, list: unknown[] | undefined): unknown[] | undefined => {
    const item: unknown = v[i];
    at.push(i);
    const next = item === null ? null : visit(item);
    at.pop();
    if (list === undefined && (next !== item || !share)) list = v.slice(0, i);
    if (list !== undefined) list.push(next);
    return list;
  };
  // The top level and its lists by hand, as visit does them, so that a list's entries are steps.
  function* visitList(v: unknown[]): Steps<unknown> {
    ancestors.add(v);
    const share = Object.isFrozen(v);
    let list: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      list = listItem(v, i, share, list);
      if (stepDue()) yield;
    }
    const out = list ?? (share ? v : []);
    ancestors.delete(v);
    if (out !== v) checkedPlain.add(out);
    return out;
  }
  function* visitTop(v: Record<string, unknown>): Steps<unknown> {
    ancestors.add(v);
    const share = Object.isFrozen(v);
    const keys = Object.keys(v);
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const item = v[k];
      let next: unknown;
      if (item !== null) {
        at.push(k);
        next = Array.isArray(item) && !ancestors.has(item) ? yield* visitList(item) : visit(item);
        at.pop();
      }
      if (copy === undefined && (next !== item || !share)) {
        copy = {};
        for (let j = 0; j < i; j++) setOwn(copy, keys[j]!, v[keys[j]!]);
      }
      if (copy !== undefined && item !== null) setOwn(copy, k, next);
    }
    const out = copy ?? (share ? v : {});
    ancestors.delete(v);
    if (out !== v) checkedPlain.add(out);
    return out;
  }
  const top = stepLists && typeof value === 'object' && value !== null && !Array.isArray(value);
  const result = top ? yield* visitTop(value as Record<string, unknown>) : visit(value);
  return cyclePath !== undefined ? { cycle: cyclePath } : { value: result };
}

/** `a.b[2].c`, as the cycle report has always spelt it. */
function spell(segments: ReadonlyArray<string | number>): string {
  let path = '';
  for (const s of segments) path = typeof s === 'number' ? `${path}[${s}]` : path === '' ? s : `${path}.${s}`;
  return path;
}
