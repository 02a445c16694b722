import { frozenJson } from '../util/frozen-json';
import type { TetherConfig } from '../model/types';
import { CrossCheckIndex } from './cross-check-index';
import { newNormalizeMemo, normalizeSteps, type NormalizeMemo } from './normalize-config';
import { withoutNulls } from './plain-data';
import { configSchema, entrySchemas, type RawConfig } from './schema';
import { runSchema } from './zod-issues';
import { runSteps, stepDue, type Steps } from '../util/steps';
import { listWindow, spliceWindow } from '../util/list-window';

interface CheckedEntry {
  /** The entry without its nulls (what the cross-checks read). */
  readonly stripped: unknown;
  /** The schema's output for it: the same object for as long as the entry is kept. */
  readonly parsed: unknown;
  /** Its length as JSON (for the config size limit). */
  readonly bytes: number;
}

/**
 * What validation carries over from one config to the next (one per config manager): the
 * schema's verdict and output per entry of `services` and `backends`, for entries that are
 * frozen (the manager deep-freezes the documents it keeps, and an edit shares the unchanged
 * entries with the previous document), and normalize()'s models of them.
 */
export class ValidationMemo {
  readonly entries = new WeakMap<object, CheckedEntry>();
  readonly normalize: NormalizeMemo = newNormalizeMemo();
  /** The cross-check facts of the last config that passed them (cross-check-index.ts). */
  crossCheck: CrossCheckIndex | undefined;
  /** Per list, the last valid config's entries and what they were checked to (the next edit's window is compared with it). */
  readonly lists = new Map<string, CheckedList>();
}

/** A list of frozen entries and, one per entry, what checkEntry made of it. */
interface CheckedList {
  readonly items: readonly unknown[];
  readonly stripped: readonly unknown[];
  readonly parsed: readonly unknown[];
  readonly bytes: readonly number[];
  /** The sum of `bytes`. */
  readonly totalBytes: number;
}

const LISTS = ['services', 'backends'] as const;

/**
 * validateConfig for a config that is valid, checking per entry only what is new: the schema
 * runs on new entries and on the rest of the document without the lists, the cross-checks
 * (names, references: they relate entries) on the whole. Returns undefined whenever anything
 * is wrong or unusual (nulls in a list, a cycle, an invalid entry, too big), and the caller
 * runs the full validation, which finds and words every error; so both give the same result.
 */
export function validateIncrementally(raw: unknown, memo: ValidationMemo, maxBytes: number): { ok: true; config: TetherConfig } | undefined {
  return runSteps(validateIncrementallySteps(raw, memo, maxBytes));
}

/** validateIncrementally as steps, one per few new entries (the server's whole configs in turns). */
export function* validateIncrementallySteps(raw: unknown, memo: ValidationMemo, maxBytes: number): Steps<{ ok: true; config: TetherConfig } | undefined> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const doc = raw as Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) rest[k] = (LISTS as readonly string[]).includes(k) ? [] : v;
  const cleaned = withoutNulls(rest);
  if ('cycle' in cleaned) return undefined;
  const base = cleaned.value as Record<string, unknown>;
  const restSchema = runSchema(configSchema, base);
  if (!restSchema.ok) return undefined;
  const restKey = JSON.stringify(base);
  let bytes = Buffer.byteLength(restKey, 'utf8');

  const checkedLists: Array<[string, CheckedList | undefined]> = [];
  const stripped: Record<string, unknown> = { ...base };
  const parsed: Record<string, unknown> = { ...restSchema.data };
  for (const list of LISTS) {
    if (!(list in doc)) continue;
    const items = doc[list];
    if (!Array.isArray(items)) return undefined;
    const result = yield* checkList(items, list, memo);
    if (!result) return undefined;
    const { checked } = result;
    bytes += checked.totalBytes;
    if (items.length > 1) bytes += items.length - 1; // the commas
    stripped[list] = checked.stripped;
    parsed[list] = checked.parsed;
    checkedLists.push([list, result.keep ? checked : undefined]);
  }
  if (bytes > maxBytes) return undefined;
  if (!(yield* crossChecked(stripped, restKey, memo))) return undefined;
  const config = yield* normalizeSteps(parsed as RawConfig, memo.normalize);
  memo.lists.clear();
  for (const [list, checked] of checkedLists) if (checked) memo.lists.set(list, checked);
  return { ok: true, config };
}

/**
 * Every entry of `items` checked (undefined when one fails). Against the last valid list, when
 * both are frozen (an edit shares the unchanged entries), only the window where the two differ
 * is looked at; the results outside it are the last list's. `keep` is what the next edit
 * compares with: only a frozen list of frozen entries can be compared by identity later.
 */
function* checkList(items: readonly unknown[], list: (typeof LISTS)[number], memo: ValidationMemo): Steps<{ checked: CheckedList; keep: boolean } | undefined> {
  const last = Object.isFrozen(items) ? memo.lists.get(list) : undefined;
  const w = last ? listWindow(last.items, items) : { start: 0, end: items.length, beforeEnd: 0 };
  const stripped: unknown[] = [];
  const parsed: unknown[] = [];
  const bytes: number[] = [];
  let totalBytes = 0;
  let frozen = Object.isFrozen(items);
  for (let i = w.start; i < w.end; i++) {
    const item = items[i];
    const known = typeof item === 'object' && item !== null && memo.entries.has(item);
    const entry = checkEntry(item, list, memo);
    if (!entry) return undefined;
    if (!known && stepDue()) yield;
    stripped.push(entry.stripped);
    parsed.push(entry.parsed);
    bytes.push(entry.bytes);
    totalBytes += entry.bytes;
    frozen &&= Object.isFrozen(item);
  }
  // Frozen, so that the next edit's lists are derived from these (util/list-window.ts).
  if (!last) return { checked: { items, stripped: Object.freeze(stripped), parsed: Object.freeze(parsed), bytes: Object.freeze(bytes), totalBytes }, keep: frozen };
  let removed = 0;
  for (let i = w.start; i < w.beforeEnd; i++) removed += last.bytes[i]!;
  const checked: CheckedList = {
    items,
    stripped: spliceWindow(last.stripped, w, stripped),
    parsed: spliceWindow(last.parsed, w, parsed),
    bytes: spliceWindow(last.bytes, w, bytes),
    totalBytes: last.totalBytes - removed + totalBytes,
  };
  return { checked, keep: frozen };
}

/** The cross-checks per changed entry against the last config that passed them, or whole when the rest of the document changed. */
function* crossChecked(stripped: Record<string, unknown>, restKey: string, memo: ValidationMemo): Steps<boolean> {
  const index = memo.crossCheck;
  const lists = (key: string) => (Array.isArray(stripped[key]) ? (stripped[key] as unknown[]) : []);
  // Unusable while it is being moved (across steps), and left inconsistent by a config that fails: the next one builds it again.
  memo.crossCheck = undefined;
  if (index && index.restKey === restKey) {
    if (!(yield* index.updateSteps(lists('services'), lists('backends')))) return false;
    memo.crossCheck = index;
    return true;
  }
  memo.crossCheck = yield* CrossCheckIndex.buildSteps(stripped, restKey);
  return memo.crossCheck !== undefined;
}

function checkEntry(item: unknown, list: (typeof LISTS)[number], memo: ValidationMemo): CheckedEntry | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const known = memo.entries.get(item);
  if (known) return known;
  const cleaned = withoutNulls(item);
  if ('cycle' in cleaned) return undefined;
  const result = runSchema(entrySchemas[list] as Parameters<typeof runSchema>[0], cleaned.value);
  if (!result.ok) return undefined;
  // An entry without nulls is the (frozen) document entry itself: its JSON, remembered here, is
  // the one the store's version file is composed of (one serialisation of a cold start, not two).
  const entry: CheckedEntry = { stripped: cleaned.value, parsed: result.data, bytes: Buffer.byteLength(frozenJson(cleaned.value, { depth: 0 }), 'utf8') };
  // Only a frozen entry cannot change behind the memo's back.
  if (Object.isFrozen(item)) memo.entries.set(item, entry);
  return entry;
}

