/**
 * `JSON.stringify(value)` (or `JSON.stringify(value, null, 2)` with `pretty`), the same
 * string, with the JSON of frozen objects remembered: a config of 10,000 services that
 * changed in one is serialised for that one (the config manager deep-freezes the documents
 * and models it keeps, and an edit shares their unchanged parts with the previous version).
 * Only the top levels are composed here (`depth`); below them the native serialiser runs,
 * once per frozen object. Frozen objects must be plain JSON data (no toJSON).
 */
import { eachListEntry, stepDue, type Steps } from './steps';
import { documentListWindow } from './list-window';

const compact = new WeakMap<object, string>();
/** Pretty JSON depends on the indentation level it starts at: one table per level. */
const pretty = new Map<number, WeakMap<object, string>>();

export function frozenJson(value: unknown, options: { pretty?: boolean; depth?: number } = {}): string {
  return compose(value, options.depth ?? 3, options.pretty === true, 0);
}

function compose(value: unknown, depth: number, indent: boolean, level: number): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  let table = compact;
  if (indent) {
    table = pretty.get(level) ?? new WeakMap();
    pretty.set(level, table);
  }
  const known = table.get(value);
  if (known !== undefined) return known;
  const pad = indent ? `\n${'  '.repeat(level + 1)}` : '';
  const close = indent ? `\n${'  '.repeat(level)}` : '';
  let text: string;
  if (depth <= 0) {
    text = indent ? JSON.stringify(value, null, 2).replace(/\n/g, `\n${'  '.repeat(level)}`) : JSON.stringify(value);
  } else if (Array.isArray(value)) {
    const items = value.map((v) => (v === undefined ? 'null' : compose(v, depth - 1, indent, level + 1)));
    text = items.length === 0 ? '[]' : `[${pad}${items.join(`,${pad}`)}${close}]`;
  } else {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      parts.push(`${JSON.stringify(k)}:${indent ? ' ' : ''}${compose(v, depth - 1, indent, level + 1)}`);
    }
    text = parts.length === 0 ? '{}' : `{${pad}${parts.join(`,${pad}`)}${close}}`;
  }
  if (Object.isFrozen(value)) table.set(value, text);
  return text;
}

/**
 * Remembers the JSON of a document's list entries as steps, one per few entries, ahead of a
 * frozenJson of the whole document (the store's version file): a whole new config of 10,000
 * services is serialised in event-loop turns rather than in one.
 */
export function* frozenJsonSteps(document: object, previous?: Record<string, unknown>): Steps<void> {
  const remember = (entry: unknown) => {
    // The entry's own JSON is what a later document reuses: its parts need no memo of their own
    // (10,000 services have hundreds of thousands of them), so the native serialiser writes it.
    if (typeof entry === 'object' && entry !== null && Object.isFrozen(entry) && !compact.has(entry)) compose(entry, 0, false, 0);
  };
  if (previous === undefined) return yield* eachListEntry(document, remember);
  // Edited from `previous`, whose entries' JSON was remembered: only the window where a list differs is new.
  for (const [key, value] of Object.entries(document)) {
    if (!Array.isArray(value)) continue;
    const { w } = documentListWindow(previous, key, value);
    for (let i = w.start; i < w.end; i++) {
      remember(value[i]);
      if (stepDue()) yield;
    }
  }
}

/**
 * frozenJson(value) (compact, default depth) as pieces of about `pieceChars` characters, handed
 * to `emit` in order, a step every few list entries: a whole new config of 10,000 services is
 * joined, encoded and hashed in event-loop turns instead of as one 5 MB string (the store's new
 * checkpoint held the loop ~20–35 ms). The pieces joined are frozenJson(value).
 */
export function* frozenJsonPiecesSteps(value: unknown, emit: (piece: string) => void, pieceChars = 256 * 1024): Steps<void> {
  let pending: string[] = [];
  let chars = 0;
  const push = (text: string) => {
    pending.push(text);
    chars += text.length;
    if (chars >= pieceChars) {
      emit(pending.join(''));
      pending = [];
      chars = 0;
    }
  };
  function* piecesOf(v: unknown, depth: number): Steps<void> {
    const known = typeof v === 'object' && v !== null ? compact.get(v) : undefined;
    if (known !== undefined) return push(known);
    if (typeof v !== 'object' || v === null || depth <= 0) return push(compose(v, 0, false, 0));
    if (Array.isArray(v)) {
      push('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) push(',');
        if (v[i] === undefined) push('null');
        else yield* piecesOf(v[i], depth - 1);
        if (stepDue()) yield;
      }
      return push(']');
    }
    push('{');
    let first = true;
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      push(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      yield* piecesOf(item, depth - 1);
    }
    push('}');
  }
  yield* piecesOf(value, 3);
  if (pending.length > 0) emit(pending.join(''));
}
