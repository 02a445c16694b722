import { z } from 'zod';
import { ALWAYS, headerNameProblem } from './schema-primitives';

/**
 * Header edits, shaped like Istio's `headers: {request: {set, add, remove}, response: …}`.
 * Envoy refuses to edit Host or pseudo-headers through header lists, so `request.set.Host`
 * (or `:authority`) is accepted here and becomes a host rewrite in normalize.ts; every
 * other Host or pseudo-header edit is an error.
 */

type Side = 'request' | 'response';
type Op = 'set' | 'add' | 'remove';

export function isHostHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'host' || lower === ':authority';
}

function editProblem(name: string, side: Side, op: Op): string | undefined {
  if (isHostHeader(name)) {
    if (side === 'request' && op === 'set') return undefined;
    return side === 'request'
      ? `${name} cannot be changed with ${op}; use request.set.Host to rewrite it`
      : `${name} is a request header and cannot be changed in responses`;
  }
  if (name.startsWith(':')) return `pseudo-header '${name}' cannot be changed`;
  return headerNameProblem(name, false);
}

/** Envoy's HeaderValue takes names and values of at most 16 KiB (PGV max_bytes, checked on receipt). */
export const MAX_HEADER_BYTES = 16_384;

function tooLong(text: string, what: string): string | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > MAX_HEADER_BYTES ? `is ${bytes} bytes long; Envoy takes header ${what}s of at most ${MAX_HEADER_BYTES} bytes` : undefined;
}

function editableName(side: Side, op: Op) {
  return z.string().superRefine((name, ctx) => {
    const problem = editProblem(name, side, op) ?? (op === 'remove' ? undefined : tooLong(name, 'name'));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/**
 * Envoy expands %COMMAND% in added header values and NACKs a lone '%', so the count of
 * unescaped '%' must be even; "%%" is a literal percent sign.
 */
const headerValue = z.string().superRefine((value, ctx) => {
  const long = tooLong(value, 'value');
  if (long) {
    ctx.addIssue({ code: 'custom', message: long });
  } else if (/[\r\n\0]/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain line breaks or NUL characters' });
  } else if ((value.replace(/%%/g, '').match(/%/g) ?? []).length % 2 !== 0) {
    ctx.addIssue({
      code: 'custom',
      message: "has an unmatched '%' (write %% for a literal percent sign; %NAME% inserts an Envoy variable)",
    });
  }
});

function headerValues(side: Side, op: 'set' | 'add') {
  return z
    .record(editableName(side, op), headerValue)
    .superRefine((values, ctx) => {
      if (typeof values !== 'object' || values === null) return;
      const seen = new Map<string, string>();
      for (const name of Object.keys(values)) {
        const key = isHostHeader(name) ? 'host' : name.toLowerCase();
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `duplicates '${earlier}' (header names are case-insensitive)`,
          });
        } else {
          seen.set(key, name);
        }
      }
      for (const [name, value] of Object.entries(values)) {
        if (isHostHeader(name) && value === '') {
          ctx.addIssue({ code: 'custom', path: [name], message: 'host rewrite must not be empty' });
        }
      }
    }, ALWAYS);
}

function headerOps(side: Side) {
  return z.strictObject({
    set: headerValues(side, 'set').optional(),
    add: headerValues(side, 'add').optional(),
    remove: z.array(editableName(side, 'remove')).optional(),
  });
}

export const headerEdits = z.strictObject({
  request: headerOps('request').optional(),
  response: headerOps('response').optional(),
});

export type RawHeaderEdits = z.output<typeof headerEdits>;
export type RawHeaderOps = NonNullable<RawHeaderEdits['request']>;
