import type { TetherConfig } from '../model/types';
import { crossCheck } from './cross-check';
import { DEFAULT_CONFIG_YAML } from './default-config';
import { dedupeErrors, formatErrors, type FieldError } from './field-errors';
import { normalize } from './normalize';
import { configSchema } from './schema';
import { parseYaml } from './yaml-source';
import { runSchema } from './zod-issues';

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

/** For already-parsed objects, e.g. a JSON body on the admin API. */
export function validateConfig(raw: unknown): ParseResult {
  try {
    const cleaned = withoutNulls(raw);
    if ('cycle' in cleaned) {
      return { ok: false, errors: [{ path: cleaned.cycle, message: 'refers to itself (recursive alias)' }] };
    }
    // null/undefined is rejected: from the admin API it means a missing body, and
    // treating that as "no services" would wipe the running config.
    const data = cleaned.value;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return {
        ok: false,
        errors: [{ path: '', message: 'the config must be an object with listeners, services and backends' }],
      };
    }
    const schema = runSchema(configSchema, data);
    const errors = dedupeErrors([...(schema.ok ? [] : schema.errors), ...crossCheck(data)]);
    if (errors.length > 0 || !schema.ok) return { ok: false, errors };
    return { ok: true, config: normalize(schema.data) };
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

/**
 * YAML's `key:` with nothing after it (and JSON's `"key": null`) means "not set", so nulls
 * are dropped from objects before validation; a copy is made so the caller's data is
 * untouched. Cycles (possible with YAML aliases) are reported instead of recursed into.
 */
function withoutNulls(value: unknown): { value: unknown } | { cycle: string } {
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
        if (item !== null) copy[k] = visit(item, path === '' ? k : `${path}.${k}`);
      }
      out = copy;
    }
    ancestors.delete(v);
    return out;
  };
  const result = visit(value, '');
  return cyclePath !== undefined ? { cycle: cyclePath } : { value: result };
}
