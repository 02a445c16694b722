/**
 * Where a list differs from the one it was derived from. An edit of a big config copies the
 * entry lists and replaces, inserts or removes a few entries; every other entry is the same
 * (frozen) object as before. Comparing by identity from both ends finds the one window that
 * changed with pointer compares only, so a per-entry pass (validation, normalisation, hashing,
 * serialisation, the store's patch) can take the entries outside it from its result for the
 * previous list, and work on what the edit changed.
 *
 * V8 reads the elements of a frozen array in a loop several times slower than a plain one,
 * and copies it with `slice` slowly, but spreads it fast: frozen lists are spread before
 * they are compared, and a derived list's window is remembered with it (both frozen), so
 * the passes of one edit compare each pair of lists once.
 */
export interface ListWindow {
  /** after[start, end) replaces before[start, beforeEnd); the rest is the same, in the same order. */
  readonly start: number;
  readonly end: number;
  readonly beforeEnd: number;
}

/** Frozen list → the frozen list it was derived from and where they differ. */
const derived = new WeakMap<readonly unknown[], { before: readonly unknown[]; w: ListWindow }>();

const plain = <T>(list: readonly T[]): readonly T[] => (Object.isFrozen(list) ? [...list] : list);

export function listWindow(before: readonly unknown[], after: readonly unknown[]): ListWindow {
  const known = derived.get(after);
  if (known && known.before === before) return known.w;
  const a = plain(before);
  const b = plain(after);
  const common = Math.min(a.length, b.length);
  let start = 0;
  while (start < common && a[start] === b[start]) start++;
  let tail = 0;
  while (tail < common - start && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const w = { start, end: b.length - tail, beforeEnd: a.length - tail };
  // Only lists that cannot change are remembered.
  if (Object.isFrozen(before) && Object.isFrozen(after)) derived.set(after, { before, w });
  return w;
}

/**
 * The window of `list`, a document's list under `key`, against the same list of `previous`
 * (the document it was edited from), when `trusted` holds for both (a pass trusts only what it
 * made: frozen, or checked and frozen); otherwise the whole list, with no `before`.
 */
export function documentListWindow(
  previous: Record<string, unknown> | undefined,
  key: string,
  list: readonly unknown[],
  trusted: (value: unknown) => boolean = Object.isFrozen,
): { before?: readonly unknown[]; w: ListWindow } {
  const before = previous !== undefined && trusted(previous) && Object.prototype.hasOwnProperty.call(previous, key) ? previous[key] : undefined;
  if (Array.isArray(before) && trusted(before)) return { before, w: listWindow(before, list) };
  return { w: { start: 0, end: list.length, beforeEnd: 0 } };
}

/** Records that frozen `after` is frozen `before` but for the window `w` (a pass that made `after` knows). */
export function rememberWindow(before: readonly unknown[], after: readonly unknown[], w: ListWindow): void {
  if (Object.isFrozen(before) && Object.isFrozen(after)) derived.set(after, { before, w });
}

/**
 * The list for `after` from the results of `before` (`previous`, one per entry of `before`):
 * the entries outside the window are taken from `previous`, the window's are `fresh` (one per
 * entry of after[start, end), in order). Frozen, and remembered as derived from `previous`.
 */
export function spliceWindow<T>(previous: readonly T[], w: ListWindow, fresh: readonly T[]): readonly T[] {
  const out = [...previous];
  if (fresh.length <= 4096) out.splice(w.start, w.beforeEnd - w.start, ...fresh);
  else {
    const tail = out.slice(w.beforeEnd);
    out.length = w.start;
    for (const item of fresh) out.push(item);
    for (const item of tail) out.push(item);
  }
  Object.freeze(out);
  if (Object.isFrozen(previous)) derived.set(out, { before: previous, w: { start: w.start, end: w.start + fresh.length, beforeEnd: w.beforeEnd } });
  return out;
}
