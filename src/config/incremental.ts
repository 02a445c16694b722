import { frozenJson } from '../util/frozen-json';
import type { TetherConfig } from '../model/types';
import { CrossCheckIndex } from './cross-check-index';
import { newNormalizeMemo, normalizeSteps, type NormalizeMemo } from './normalize';
import { withoutNulls } from './plain-data';
import { configSchema, entrySchemas, type RawConfig } from './schema';
import { runSchema } from './zod-issues';
import { runSteps, stepDue, type Steps } from '../util/steps';

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

  const stripped: Record<string, unknown> = { ...base };
  const parsed: Record<string, unknown> = { ...restSchema.data };
  for (const list of LISTS) {
    if (!(list in doc)) continue;
    const items = doc[list];
    if (!Array.isArray(items)) return undefined;
    const strippedItems: unknown[] = [];
    const parsedItems: unknown[] = [];
    for (const item of items) {
      const known = typeof item === 'object' && item !== null && memo.entries.has(item);
      const entry = checkEntry(item, list, memo);
      if (!entry) return undefined;
      if (!known && stepDue()) yield;
      strippedItems.push(entry.stripped);
      parsedItems.push(entry.parsed);
      bytes += entry.bytes;
    }
    if (items.length > 1) bytes += items.length - 1; // the commas
    stripped[list] = strippedItems;
    parsed[list] = parsedItems;
  }
  if (bytes > maxBytes) return undefined;
  if (!crossChecked(stripped, restKey, memo)) return undefined;
  return { ok: true, config: yield* normalizeSteps(parsed as RawConfig, memo.normalize) };
}

/** The cross-checks per changed entry against the last config that passed them, or whole when the rest of the document changed. */
function crossChecked(stripped: Record<string, unknown>, restKey: string, memo: ValidationMemo): boolean {
  const index = memo.crossCheck;
  const lists = (key: string) => (Array.isArray(stripped[key]) ? (stripped[key] as unknown[]) : []);
  if (index && index.restKey === restKey) {
    if (index.update(lists('services'), lists('backends'))) return true;
    // Left inconsistent by a config that fails: the next one builds it again.
    memo.crossCheck = undefined;
    return false;
  }
  memo.crossCheck = CrossCheckIndex.build(stripped, restKey).index;
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

