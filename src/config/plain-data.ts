/** Plain-data helpers shared by the document check and validation. */

/**
 * Objects configDocument produced. One that is also frozen (the config manager deep-freezes
 * what it keeps) cannot have changed since it was checked, so an edit that shares most of
 * the previous document with the new one (structural sharing) is checked and copied only
 * where it is new.
 */
export const checkedPlain = new WeakSet<object>();

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
  const ancestors = new Set<object>();
  let cyclePath: string | undefined;
  const visit = (v: unknown, path: string): unknown => {
    if (v === null) return undefined;
    if (typeof v !== 'object') return v;
    if (ancestors.has(v)) {
      cyclePath ??= path;
      return undefined;
    }
    ancestors.add(v);
    let out: unknown;
    if (Array.isArray(v)) {
      // List items stay in place (null included) so indexes in messages match the file.
      out = v.map((item, i) => (item === null ? null : visit(item, `${path}[${i}]`)));
    } else {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        if (item !== null) setOwn(copy, k, visit(item, path === '' ? k : `${path}.${k}`));
      }
      out = copy;
    }
    ancestors.delete(v);
    checkedPlain.add(out as object);
    return out;
  };
  const result = visit(value, '');
  return cyclePath !== undefined ? { cycle: cyclePath } : { value: result };
}
