import type { TetherConfig } from '../model/types';
import { DEFAULT_CONFIG_YAML } from './default-config';
import { formatErrors, formatPath, type FieldError } from './field-errors';
import { parseYaml, readPlainYaml } from './yaml-source';
import { CHECKED_DEPTH, checkedPlain, setOwn } from './plain-data';
import { runSteps, stepDue, type Steps } from '../util/steps';
import { documentListWindow } from '../util/list-window';
import { validateIncrementallySteps, type ValidationMemo } from './incremental';
import { validateWholeSteps } from './whole-validation';

/**
 * The config API: text or already-parsed data in, a normalised TetherConfig or every
 * error found out. Nothing here throws for bad input.
 */

export type { FieldError };
export { formatErrors, DEFAULT_CONFIG_YAML };

export type ParseResult = { ok: true; config: TetherConfig } | { ok: false; errors: FieldError[] };

/** YAML or JSON text (JSON is YAML). `sourceName` prefixes syntax error locations. */
export function parseConfigText(text: string, sourceName?: string): ParseResult {
  const parsed = parseYaml(text, sourceName);
  if (!parsed.ok) return parsed;
  // An empty file (or one with only comments) is a valid, empty config.
  return validateConfig(parsed.value ?? {});
}

export type DocumentResult = { ok: true; document: Record<string, unknown> } | { ok: false; errors: FieldError[] };

/**
 * YAML or JSON text → the document as written (file shape, no defaults filled, not yet
 * validated), for callers that keep the user's form, such as the config history. An empty
 * file is `{}`. See {@link configDocument} for what the document looks like.
 */
export function parseConfigDocument(text: string, sourceName?: string): DocumentResult {
  // The fast reader's value is a tree nobody else holds, without aliases (they take `yaml`'s
  // path): checked and kept as it is rather than copied (a config of 10,000 services is 5 MB).
  const plain = readPlainYaml(text);
  if (plain && plain.value != null) return runSteps(configDocumentSteps(plain.value, { adopt: true }));
  const parsed = parseYaml(text, sourceName);
  if (!parsed.ok) return parsed;
  return configDocument(parsed.value ?? {});
}

/**
 * Any value → a config document that is a plain JSON tree: an object at the top, YAML aliases
 * expanded into copies (so editing one place never edits another), nulls kept (they mean
 * "not set", see validateConfig). Values JSON cannot hold (a recursive alias, a function) are
 * errors; numbers JSON cannot hold (NaN, Infinity) are kept for the validator to report.
 */

export function configDocument(value: unknown): DocumentResult {
  return runSteps(configDocumentSteps(value));
}

/**
 * configDocument as steps, one per few entries of a top-level list: the server copies a whole
 * config of 10,000 services in event-loop turns (util/steps.ts).
 */
export function* configDocumentSteps(value: unknown, options: { adopt?: boolean; previous?: Record<string, unknown> } = {}): Steps<DocumentResult> {
  // `adopt`: `value` is a tree of fresh plain data only the caller holds (no part shared, as
  // YAML aliases would): checked, and its objects kept instead of copied. `previous`: the
  // document `value` was edited from (see the top-level lists below).
  const adopt = options.adopt === true;
  const previous = options.previous;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [{ path: '', message: 'the config must be an object with listeners, services and backends' }] };
  }
  const errors: FieldError[] = [];
  const ancestors = new Set<object>();
  // The path of the value being visited, one stack for the whole walk: formatted only for an
  // error (a path array per value was a third of the copy's time on a cold start).
  const path: Array<string | number> = [];
  const visitAt = (v: unknown, key: string | number): unknown => {
    path.push(key);
    const out = visit(v);
    path.pop();
    return out;
  };
  const visit = (v: unknown): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (typeof v !== 'object') {
      errors.push({ path: formatPath(path), message: `must be plain data, not a ${typeof v}` });
      return null;
    }
    if (isCheckedFrozen(v)) return v;
    if (ancestors.has(v)) {
      errors.push({ path: formatPath(path), message: 'refers to itself (recursive alias)' });
      return null;
    }
    ancestors.add(v);
    let out: unknown;
    // Entries kept from the previous document are returned as they are.
    if (adopt) {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) visitAt(v[i], i);
      else for (const [k, item] of Object.entries(v)) visitAt(item, k);
      out = v;
    } else if (Array.isArray(v)) out = v.map((item, i) => (isCheckedFrozen(item) ? item : visitAt(item, i)));
    else {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) if (item !== undefined) setOwn(copy, k, visitAt(item, k));
      out = copy;
    }
    ancestors.delete(v);
    if (path.length <= CHECKED_DEPTH) checkedPlain.add(out as object);
    return out;
  };
  if (isCheckedFrozen(value)) return { ok: true, document: value as Record<string, unknown> };
  // The top level and its lists by hand (as visit does them), so that a list's entries are steps.
  ancestors.add(value);
  const document: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(value)) {
    if (item === undefined) continue;
    if (!Array.isArray(item) || isCheckedFrozen(item) || ancestors.has(item)) {
      setOwn(document, k, visitAt(item, k));
      continue;
    }
    ancestors.add(item);
    // An edit of `previous` (a document made here and frozen): the entries it kept are the same
    // objects, checked already; only the window where the lists differ is looked at.
    const { w } = documentListWindow(previous, k, item, isCheckedFrozen);
    const out: unknown[] = [...item];
    for (let i = w.start; i < w.end; i++) {
      const entry: unknown = item[i];
      if (!isCheckedFrozen(entry)) {
        path.push(k);
        out[i] = visitAt(entry, i);
        path.pop();
      }
      if (stepDue()) yield;
    }
    ancestors.delete(item);
    checkedPlain.add(out);
    setOwn(document, k, out);
  }
  ancestors.delete(value);
  checkedPlain.add(document);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, document };
}

function isCheckedFrozen(v: unknown): boolean {
  return typeof v === 'object' && v !== null && checkedPlain.has(v) && Object.isFrozen(v);
}

/** For already-parsed objects, e.g. a JSON body on the admin API. */
/**
 * The largest config Tether accepts, measured as JSON. The admin API's message limits are
 * derived from it (src/admin/message-limits.ts), so whatever is accepted — from the file,
 * `apply` or many small edits — can be read back with `tether get`.
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * With a `memo` (one per config manager: config/incremental.ts), a valid config is checked
 * per entry only where it is new; any error makes it fall back to the full validation, so the
 * result is the same either way.
 */
export function validateConfig(raw: unknown, memo?: ValidationMemo): ParseResult {
  return runSteps(validateConfigSteps(raw, memo));
}

/**
 * validateConfig as steps: with a memo, a valid config's new entries are checked and
 * normalised one step per few entries (the server runs whole configs of 10,000 services in
 * event-loop turns); a config with errors is validated whole to word them all, in steps too
 * (config/whole-validation.ts).
 */
export function* validateConfigSteps(raw: unknown, memo?: ValidationMemo): Steps<ParseResult> {
  try {
    const quick = memo && (yield* validateIncrementallySteps(raw, memo, MAX_CONFIG_BYTES));
    if (quick) return quick;
    return yield* validateWholeSteps(raw, MAX_CONFIG_BYTES);
  } catch (err) {
    // A bug here must not take down the admin API or hide the config's real problems.
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ path: '', message: `internal error while validating: ${message}` }] };
  }
}

/** A fresh copy of the built-in demo config. */
export function defaultConfig(): TetherConfig {
  const result = parseConfigText(DEFAULT_CONFIG_YAML, 'default config');
  if (!result.ok) throw new Error(`built-in default config is invalid:\n${formatErrors(result.errors)}`);
  return result.config;
}

