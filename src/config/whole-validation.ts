import type { TetherConfig } from '../model/types';
import { type Steps, stepDue } from '../util/steps';
import { crossCheckSteps } from './cross-check';
import { dedupeErrors, type FieldError } from './field-errors';
import { normalizeSteps } from './normalize-config';
import { setOwn, withoutNullsSteps } from './plain-data';
import { configSchema, entrySchemas, type RawConfig } from './schema';
import { runSchema } from './zod-issues';

/**
 * The full validation of a config (every error found and worded) as steps, one per few entries
 * of `services` and `backends`: a whole config of 10,000 services with mistakes in it is
 * seconds of schema checks, which the server runs in event-loop turns (util/steps.ts).
 *
 * Each list entry goes through its own schema (entrySchemas), the rest of the document through
 * the config's schema with those lists empty; the errors are put in the order the schema of
 * the whole document gives them (its fields in the order it declares them, then unknown
 * top-level fields), so the result is the one validating the document at once gives.
 */

export type ValidationResult = { ok: true; config: TetherConfig } | { ok: false; errors: FieldError[] };

const LISTS = ['services', 'backends'] as const;
type ListName = (typeof LISTS)[number];

/** Top-level fields in the order the config's schema checks them; errors at '' (unknown fields) come after. */
const FIELD_ORDER = Object.keys(configSchema.shape);

export function* validateWholeSteps(raw: unknown, maxBytes: number): Steps<ValidationResult> {
  const cleaned = yield* withoutNullsSteps(raw);
  if ('cycle' in cleaned) {
    return { ok: false, errors: [{ path: cleaned.cycle, message: 'refers to itself (recursive alias)' }] };
  }
  // null/undefined is rejected: from the admin API it means a missing body, and
  // treating that as "no services" would wipe the running config.
  const data = cleaned.value;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, errors: [{ path: '', message: 'the config must be an object with listeners, services and backends' }] };
  }
  const doc = data as Record<string, unknown>;
  const lists = new Map<ListName, unknown[]>();
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const isList = (LISTS as readonly string[]).includes(k) && Array.isArray(v);
    if (isList) lists.set(k as ListName, v as unknown[]);
    setOwn(rest, k, isList ? [] : v);
  }

  // The size as JSON, entry by entry: the rest with empty lists, each entry and the commas between them.
  let bytes = Buffer.byteLength(JSON.stringify(rest), 'utf8');
  for (const items of lists.values()) {
    if (items.length > 1) bytes += items.length - 1;
    for (const item of items) {
      bytes += Buffer.byteLength(JSON.stringify(item) ?? 'null', 'utf8');
      if (stepDue()) yield;
    }
  }
  if (bytes > maxBytes) {
    return { ok: false, errors: [{ path: '', message: `the config is ${bytes} bytes as JSON; Tether takes at most ${maxBytes} (16 MiB)` }] };
  }

  const restSchema = runSchema(configSchema, rest);
  const listErrors = new Map<ListName, FieldError[]>();
  const parsedLists = new Map<ListName, unknown[]>();
  for (const [list, items] of lists) {
    const errors: FieldError[] = [];
    const parsed: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      const result = runSchema(entrySchemas[list] as Parameters<typeof runSchema>[0], items[i], [list, i]);
      if (result.ok) parsed.push(result.data);
      else errors.push(...result.errors);
      if (stepDue()) yield;
    }
    listErrors.set(list, errors);
    parsedLists.set(list, parsed);
  }
  const schemaErrors = inSchemaOrder(restSchema.ok ? [] : restSchema.errors, listErrors);
  const errors = dedupeErrors([...schemaErrors, ...(yield* crossCheckSteps(doc))]);
  if (errors.length > 0 || !restSchema.ok) return { ok: false, errors };
  const whole: Record<string, unknown> = { ...restSchema.data };
  for (const [list, parsed] of parsedLists) whole[list] = parsed;
  return { ok: true, config: yield* normalizeSteps(whole as RawConfig) };
}

/** The top-level field a path is in ('' for the document itself: its unknown fields). */
function topField(path: string): string {
  const end = path.search(/[.[]/);
  return end < 0 ? path : path.slice(0, end);
}

/** The rest's errors and the lists' entries' errors, merged as the whole document's schema orders them. */
function inSchemaOrder(restErrors: FieldError[], listErrors: ReadonlyMap<ListName, FieldError[]>): FieldError[] {
  const out: FieldError[] = [];
  for (const field of FIELD_ORDER) {
    for (const e of restErrors) if (e.path !== '' && topField(e.path) === field) out.push(e);
    out.push(...(listErrors.get(field as ListName) ?? []));
  }
  for (const e of restErrors) if (e.path === '' || !FIELD_ORDER.includes(topField(e.path))) out.push(e);
  return out;
}
