/** Dot paths into decoded JSON (JWT payloads, request bodies): `a.b`, `a[0].b`, `a.0.b`. */
export type PathSegment = string | number;

const SEGMENT = /^([^.[\]]+)((?:\[\d+\])*)$/;

/** Parses a dot path; undefined when it is empty or malformed. */
export function parseDotPath(path: string): PathSegment[] | undefined {
  if (path === '' || path.length > 512) return undefined;
  const out: PathSegment[] = [];
  for (const part of path.split('.')) {
    const m = SEGMENT.exec(part);
    if (!m) return undefined;
    out.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    for (const index of m[2]!.match(/\d+/g) ?? []) out.push(Number(index));
  }
  return out;
}

/**
 * The key at `path`: a non-empty string, or a finite number in its decimal form. Anything
 * else (missing, object, boolean, null) is no key. Only own properties count, so
 * `__proto__`-style paths find nothing.
 */
export function keyAtPath(root: unknown, path: readonly PathSegment[]): string | undefined {
  let node: unknown = root;
  for (const segment of path) {
    if (Array.isArray(node)) {
      const index = typeof segment === 'number' ? segment : undefined;
      if (index === undefined || index >= node.length) return undefined;
      node = node[index];
    } else if (typeof node === 'object' && node !== null) {
      const name = String(segment);
      if (!Object.prototype.hasOwnProperty.call(node, name)) return undefined;
      node = (node as Record<string, unknown>)[name];
    } else {
      return undefined;
    }
  }
  if (typeof node === 'string') return node === '' ? undefined : node;
  if (typeof node === 'number' && Number.isFinite(node)) return String(node);
  return undefined;
}
