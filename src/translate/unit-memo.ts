import type { TetherConfig } from '../model/types';
import type { TranslateWarning } from './types';
import { Warnings } from './warnings';
import { stepDue, type Steps } from '../util/steps';

interface PassEntry {
  readonly items: readonly object[];
  /** What `itemDep` read (passOf's `source`), when given. */
  readonly source?: object | undefined;
  readonly itemDeps: readonly unknown[];
  readonly deps: readonly unknown[];
  readonly value: unknown;
  readonly warnings: readonly TranslateWarning[];
}

interface Entry {
  readonly deps: readonly unknown[];
  readonly value: unknown;
  readonly warnings: readonly TranslateWarning[];
}

/**
 * The translation of one target, remembered unit by unit (a service's virtual host or route
 * configuration, a backend's cluster, endpoints and assignment) so that the next translation
 * redoes only the units whose inputs changed. A unit is keyed by its model object and the
 * other inputs it reads (`deps`, compared with ===): the model of an unchanged service or
 * backend is the same object from version to version (config/incremental.ts), so any field,
 * old or new, that changes the unit also changes its key. Entries live as long as their model
 * objects (WeakMap), so the memo holds about one config's worth.
 *
 * A memo belongs to one target (node kind or Envoy API level) of one publisher; translating
 * without one is the full rebuild the incremental one must equal (test/control/rendition-property).
 */
export class UnitMemo {
  private readonly families = new Map<string, WeakMap<object, Entry>>();
  private globalsKey: readonly unknown[] = [];
  private readonly sorts = new Map<string, { input: readonly object[]; output: readonly object[] }>();
  private readonly passes = new Map<string, PassEntry>();
  private readonly slots = new Map<string, unknown>();
  private readonly mapPasses = new Map<string, MapPassEntry>();

  private readonly joins = new Map<string, { parts: readonly (readonly object[])[]; joined: readonly object[] }>();

  /**
   * The concatenation of `parts`, the same array as last time when every part is the same
   * array as last time (then sorting it again through `sorted` is free).
   */
  joined<T extends object>(family: string, parts: readonly (readonly T[])[]): readonly T[] {
    const before = this.joins.get(family);
    if (before && sameDeps(before.parts, parts)) return before.joined as readonly T[];
    const joined = parts.flat() as readonly T[];
    this.joins.set(family, { parts, joined });
    return joined;
  }

  /** What a pass of its own kind (route.ts's virtual hosts) kept from last time under `family`. */
  slot<T>(family: string): T | undefined {
    return this.slots.get(family) as T | undefined;
  }

  setSlot(family: string, value: unknown): void {
    this.slots.set(family, value);
  }

  /**
   * `items.map(each)`, remembered position by position: when `items` has the length it had
   * last time and `deps` are the same, only the positions holding another object than last
   * time (at most MAX_CHANGED) are computed, the rest taken from the last output (a one-route
   * edit of 10,000 services computes one). `each` must read nothing but its item and `deps`.
   * Warnings come out in position order, as a plain loop gives them. When no position changed
   * the last output array itself is returned (callers only read it).
   */
  *map<I extends object, T>(family: string, items: readonly I[], deps: readonly unknown[], warnings: Warnings, each: (item: I, w: Warnings) => T): Steps<readonly T[]> {
    const before = this.mapPasses.get(family);
    const changed = before && sameDeps(before.deps, deps) ? changedPositions(before.items, items) : undefined;
    if (before && changed) {
      if (changed.length === 0) {
        this.mapPasses.set(family, { ...before, items });
        warnings.list.push(...before.warnings);
        return before.out as readonly T[];
      }
      const out = [...before.out] as T[];
      let warned = before.warned;
      let warnedChanged = false;
      for (const i of changed) {
        const w = new Warnings();
        out[i] = each(items[i]!, w);
        if (w.list.length > 0 || warned.has(i)) {
          if (!warnedChanged) warned = new Map(warned);
          warnedChanged = true;
          if (w.list.length > 0) (warned as Map<number, readonly TranslateWarning[]>).set(i, w.list);
          else (warned as Map<number, readonly TranslateWarning[]>).delete(i);
        }
      }
      const flat = warnedChanged ? flatten(warned) : before.warnings;
      this.mapPasses.set(family, { items, deps, out, warned, warnings: flat });
      warnings.list.push(...flat);
      return out;
    }
    const out = new Array<T>(items.length);
    const warned = new Map<number, readonly TranslateWarning[]>();
    const own = new Warnings();
    for (let i = 0; i < items.length; i++) {
      const from = own.list.length;
      out[i] = each(items[i]!, own);
      if (own.list.length > from) warned.set(i, own.list.slice(from));
      if (stepDue()) yield;
    }
    this.mapPasses.set(family, { items, deps, out, warned, warnings: own.list });
    warnings.list.push(...own.list);
    return out;
  }

  /**
   * A whole pass over `items` (the backends, say), taken from last time when the items are the
   * same objects in the same order, `itemDep(item)` is the same for each (its resolved
   * endpoints...) and `deps` are the same: then every unit of the pass would hit its own memo
   * entry, so the pass's output is the last one (the same object, which keeps the next passes'
   * deps the same too). Its warnings are replayed. A one-route edit thus costs the backends'
   * passes a comparison per backend instead of a memo lookup per unit.
   */
  *pass<I extends object, T>(
    family: string,
    items: readonly I[],
    itemDep: (item: I) => unknown,
    deps: readonly unknown[],
    warnings: Warnings,
    make: (w: Warnings) => Steps<T>,
    source?: object,
  ): Steps<T> {
    const hit = this.passes.get(family);
    let itemDeps: unknown[] | undefined;
    if (hit && hit.items.length === items.length && sameDeps(hit.deps, deps)) {
      let same = hit.items === items || sameDeps(hit.items, items);
      // `itemDep` reads `source` only (the resolved endpoints): the same source, the same item deps.
      if (same && itemDep !== noItemDep && !(source !== undefined && hit.source === source)) {
        itemDeps = new Array<unknown>(items.length);
        for (let i = 0; i < items.length; i++) {
          const dep = itemDep(items[i]!);
          itemDeps[i] = dep;
          if (hit.itemDeps[i] !== dep) same = false;
        }
      }
      if (same) {
        if (source !== hit.source) this.passes.set(family, { ...hit, source });
        warnings.list.push(...hit.warnings);
        return hit.value as T;
      }
    }
    itemDeps ??= itemDep === noItemDep ? [] : items.map(itemDep);
    const own = new Warnings();
    const value = yield* make(own);
    this.passes.set(family, { items, itemDeps, deps, value, warnings: own.list, source });
    warnings.list.push(...own.list);
    return value;
  }

  /**
   * `items` sorted by `key`, as `[...items].sort(...)` would (stable; keys compared as
   * strings). When the list holds the same keys at the same positions as last time, the last
   * order is reused, with the changed items put in place (10,000 services changed in one
   * sort in one pass instead of 140,000 comparisons). When no item changed, the last output
   * array itself is returned (callers only read it): the resource lists built from it stay the
   * same object, which lets cache/snapshot.ts know their set unchanged without a lookup per item.
   */
  sorted<T extends object>(family: string, items: readonly T[], key: (item: T) => string): readonly T[] {
    const before = this.sorts.get(family) as { input: readonly T[]; output: readonly T[] } | undefined;
    if (before && before.input === items) return before.output;
    let output: readonly T[] | undefined;
    if (before && before.input.length === items.length) {
      let replaced: Map<T, T> | undefined;
      let usable = true;
      for (let i = 0; i < items.length; i++) {
        const was = before.input[i]!;
        const is = items[i]!;
        if (was === is) continue;
        if (key(was) !== key(is)) {
          usable = false;
          break;
        }
        (replaced ??= new Map()).set(was, is);
      }
      if (usable) output = replaced ? before.output.map((x) => replaced.get(x) ?? x) : before.output;
    }
    output ??= sortByKey(items, key);
    this.sorts.set(family, { input: items, output });
    return output;
  }

  /**
   * The unit's value: remembered when `owner` and every dep are the same as last time (its
   * warnings are replayed into `warnings` in the order they were first met), else `make`.
   */
  unit<T>(family: string, owner: object, deps: readonly unknown[], warnings: Warnings, make: (w: Warnings) => T): T {
    let table = this.families.get(family);
    if (!table) this.families.set(family, (table = new WeakMap()));
    const hit = table.get(owner);
    if (hit && sameDeps(hit.deps, deps)) {
      warnings.list.push(...hit.warnings);
      return hit.value as T;
    }
    const own = new Warnings();
    const value = make(own);
    table.set(owner, { deps, value, warnings: own.list });
    warnings.list.push(...own.list);
    return value;
  }

  /**
   * The config's own fields other than services and backends (listeners, extProc and whatever
   * is added there), as one array that stays the same object while they stay the same objects:
   * a dep for units that may read them (filters of a gRPC listener...).
   */
  globals(config: TetherConfig): readonly unknown[] {
    const next = configGlobals(config);
    if (!sameDeps(next, this.globalsKey)) this.globalsKey = next;
    return this.globalsKey;
  }
}

interface MapPassEntry {
  readonly items: readonly object[];
  readonly deps: readonly unknown[];
  readonly out: readonly unknown[];
  /** The warnings of each position that had any. */
  readonly warned: ReadonlyMap<number, readonly TranslateWarning[]>;
  /** The same in position order. */
  readonly warnings: readonly TranslateWarning[];
}

/** At most this many positions changed make a positional pass patch its last output. */
export const MAX_CHANGED = 64;

/**
 * Positions where `items` holds another object than `before` (none: []), or undefined when
 * the lengths differ or more than MAX_CHANGED changed. A pointer comparison per item.
 */
export function changedPositions(before: readonly object[], items: readonly object[]): number[] | undefined {
  if (before.length !== items.length) return undefined;
  const changed: number[] = [];
  if (before === items) return changed;
  for (let i = 0; i < items.length; i++) {
    if (before[i] !== items[i] && changed.push(i) > MAX_CHANGED) return undefined;
  }
  return changed;
}

function flatten(warned: ReadonlyMap<number, readonly TranslateWarning[]>): TranslateWarning[] {
  const out: TranslateWarning[] = [];
  for (const i of [...warned.keys()].sort((a, b) => a - b)) out.push(...warned.get(i)!);
  return out;
}

/** `items.map(each)` as steps, through the memo's positions when there is one (UnitMemo.map). */
export function* mapOf<I extends object, T>(
  memo: UnitMemo | undefined,
  family: string,
  items: readonly I[],
  deps: readonly unknown[],
  warnings: Warnings,
  each: (item: I, w: Warnings) => T,
): Steps<readonly T[]> {
  if (memo) return yield* memo.map(family, items, deps, warnings, each);
  const out = new Array<T>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = each(items[i]!, warnings);
    if (stepDue()) yield;
  }
  return out;
}

/** `parts` concatenated, through the memo's last concatenation when there is one (UnitMemo.joined). */
export function joinedOf<T extends object>(memo: UnitMemo | undefined, family: string, parts: readonly (readonly T[])[]): readonly T[] {
  return memo ? memo.joined(family, parts) : parts.flat();
}

/** UnitMemo.pass's itemDep for a pass whose items depend on nothing outside `deps`. */
export const noItemDep = (): undefined => undefined;

function sortByKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** `[...items].sort(by key)`, through the memo's last order when there is one. */
export function sortedBy<T extends object>(memo: UnitMemo | undefined, family: string, items: readonly T[], key: (item: T) => string): readonly T[] {
  return memo ? memo.sorted(family, items, key) : sortByKey(items, key);
}

export const nameOf = (item: { name?: string | undefined }): string => item.name ?? '';
export const clusterNameOf = (item: { cluster_name?: string | undefined }): string => item.cluster_name ?? '';

export function configGlobals(config: TetherConfig): unknown[] {
  const out: unknown[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === 'services' || key === 'backends') continue;
    out.push(key, value);
  }
  return out;
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `make(warnings)` as a pass through the memo when there is one (UnitMemo.pass); the full rebuild has none. */
export function* passOf<I extends object, T>(
  memo: UnitMemo | undefined,
  family: string,
  items: readonly I[],
  itemDep: (item: I) => unknown,
  deps: readonly unknown[],
  warnings: Warnings,
  make: (w: Warnings) => Steps<T>,
  source?: object,
): Steps<T> {
  return memo ? yield* memo.pass(family, items, itemDep, deps, warnings, make, source) : yield* make(warnings);
}

/** Runs `make` through the memo when there is one; the full rebuild has none. */
export function unitOf<T>(
  memo: UnitMemo | undefined,
  family: string,
  owner: object,
  deps: readonly unknown[],
  warnings: Warnings,
  make: (w: Warnings) => T,
): T {
  return memo ? memo.unit(family, owner, deps, warnings, make) : make(warnings);
}
