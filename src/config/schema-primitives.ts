import { z } from 'zod';
import { parseDuration } from './durations';
import { checkRegex } from './regex-check';

/** Building blocks shared by the schema files; each carries its own short error message. */

/** DNS-1123-ish so a service name also works as the gRPC target xds:///<name>. */
export const NAME_PATTERN = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
const NAME_MESSAGE =
  "must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit";

export const resourceName = z
  .string()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .refine((s) => s.length === 0 || NAME_PATTERN.test(s), NAME_MESSAGE);

/** RFC 7230 token characters; names are compared lower-cased, as HTTP/2 sends them. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const PSEUDO_HEADER = /^:(authority|path|method|scheme|protocol|status)$/;

/**
 * Why a header name is unusable, or undefined. Pseudo-headers are allowed where Envoy reads
 * them (matching, hashing); header edits reject them separately.
 */
export function headerNameProblem(name: string, allowPseudo: boolean): string | undefined {
  if (name.length === 0) return 'header name must not be empty';
  const lower = name.toLowerCase();
  if (lower.startsWith(':')) {
    if (allowPseudo && PSEUDO_HEADER.test(lower)) return undefined;
    return allowPseudo ? `unknown pseudo-header '${name}'` : `pseudo-header '${name}' is not allowed here`;
  }
  if (!HEADER_TOKEN.test(lower)) {
    return `invalid header name '${name}' (letters, digits and !#$%&'*+-.^_\`|~ only)`;
  }
  return undefined;
}

export const headerName = z
  .string()
  .superRefine((s, ctx) => {
    const problem = headerNameProblem(s, true);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A header name where pseudo-headers make no sense (headers Envoy writes or reads back). */
export const plainHeaderName = z
  .string()
  .superRefine((s, ctx) => {
    const problem = headerNameProblem(s, false);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const nonEmptyString = z.string().min(1, 'must not be empty');

export const regexString = z.string().superRefine((s, ctx) => {
  const problem = checkRegex(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const port = z
  .int()
  .min(1, 'must be a port number from 1 to 65535')
  .max(65535, 'must be a port number from 1 to 65535');

/** Durations in, milliseconds out; `positive` for timeouts Envoy requires to be > 0. */
export function duration(opts: { positive?: boolean } = {}) {
  return z.unknown().transform((value, ctx): number => {
    const parsed = parseDuration(value);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
      return z.NEVER;
    }
    if (opts.positive && parsed.ms === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be greater than 0', input: value });
      return z.NEVER;
    }
    return parsed.ms;
  });
}

/**
 * Checks that run even when sibling fields failed, so one bad field does not hide a
 * structural mistake (two matchers at once, a field that does not fit the type). Only on an
 * object: where the value is not one at all (`null`, a number), the type error says so and
 * the check has nothing to read.
 */
export const ALWAYS = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null };

/** The keys of `obj` among `candidates` that are present (not undefined). */
export function presentKeys(obj: unknown, candidates: readonly string[]): string[] {
  if (typeof obj !== 'object' || obj === null) return [];
  const rec = obj as Record<string, unknown>;
  return candidates.filter((k) => rec[k] !== undefined);
}

/** "exactly one of" for Istio-style one-key matchers: reports none or several. */
export function exactlyOne(
  obj: unknown,
  candidates: readonly string[],
  ctx: z.RefinementCtx,
  what: string,
): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const found = presentKeys(obj, candidates);
  if (found.length === 1) return found[0];
  const message =
    found.length === 0
      ? `${what} needs one of: ${candidates.join(', ')}`
      : `${what} takes only one of ${candidates.join(', ')} (found ${found.join(' and ')})`;
  ctx.addIssue({ code: 'custom', message, input: obj });
  return undefined;
}
