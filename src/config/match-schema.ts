import { z } from 'zod';
import {
  ALWAYS,
  exactlyOne,
  headerNameProblem,
  nonEmptyString,
  presentKeys,
  regexString,
} from './schema-primitives';

/**
 * Route matching, shaped like Istio's HTTPMatchRequest: a path matcher directly under
 * `match`, and `headers`/`queryParams` maps of name → one matcher.
 */

export const STRING_MATCHERS = ['exact', 'prefix', 'suffix', 'contains', 'regex'] as const;
const HEADER_MATCHERS = [...STRING_MATCHERS, 'range', 'present'] as const;
const QUERY_MATCHERS = [...STRING_MATCHERS, 'present'] as const;
const PATH_MATCHERS = ['prefix', 'exact', 'regex'] as const;

// Envoy rejects empty prefix/suffix/contains ("use present_match instead"); exact "" is
// meaningful (an empty value).
const stringMatchFields = {
  exact: z.string().optional(),
  prefix: nonEmptyString.optional(),
  suffix: nonEmptyString.optional(),
  contains: nonEmptyString.optional(),
  regex: regexString.optional(),
};

const range = z
  .strictObject({ start: z.int(), end: z.int() })
  .superRefine((r, ctx) => {
    if (r.start >= r.end) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'must be greater than start (the range is [start, end))',
      });
    }
  });

export const headerMatcher = z
  .strictObject({
    ...stringMatchFields,
    range: range.optional(),
    present: z.boolean().optional(),
    invert: z.boolean().optional(),
    ignoreCase: z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const kind = exactlyOne(m, HEADER_MATCHERS, ctx, 'a header matcher');
    if (!kind || presentKeys(m, ['ignoreCase']).length === 0) return;
    // Envoy's StringMatcher ignores ignore_case for safe_regex; refusing it avoids a
    // silently case-sensitive match. "(?i)" in the regex does the job.
    if (kind === 'range' || kind === 'present' || kind === 'regex') {
      const hint = kind === 'regex' ? '; start the regex with (?i) instead' : '';
      ctx.addIssue({
        code: 'custom',
        path: ['ignoreCase'],
        message: `cannot be used with ${kind}${hint}`,
      });
    }
  }, ALWAYS);

export const queryMatcher = z
  .strictObject({
    ...stringMatchFields,
    // Envoy before 1.36 reads present_match: false as "present", so false would match the
    // opposite of what was written on some proxies; only true is accepted.
    present: z
      .boolean()
      .refine((b) => b, 'must be true (Envoy before 1.36 reads present: false as present)')
      .optional(),
  })
  .superRefine((m, ctx) => {
    exactlyOne(m, QUERY_MATCHERS, ctx, 'a query parameter matcher');
  }, ALWAYS);

function startsWithSlash(s: string): boolean {
  return s.startsWith('/');
}

const headerMatchers = z.record(
  z.string().superRefine((name, ctx) => {
    const problem = headerNameProblem(name, true);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  headerMatcher,
);

const queryMatchers = z.record(nonEmptyString, queryMatcher);

export const routeMatch = z
  .strictObject({
    prefix: z.string().refine(startsWithSlash, "must start with '/'").optional(),
    exact: z.string().refine(startsWithSlash, "must start with '/'").optional(),
    regex: regexString.optional(),
    headers: headerMatchers.optional(),
    queryParams: queryMatchers.optional(),
  })
  .superRefine((m, ctx) => {
    const found = presentKeys(m, PATH_MATCHERS);
    if (found.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `takes only one of ${PATH_MATCHERS.join(', ')} (found ${found.join(' and ')})`,
      });
    }
  }, ALWAYS);

export type RawRouteMatch = z.output<typeof routeMatch>;
export type RawHeaderMatcher = z.output<typeof headerMatcher>;
export type RawQueryMatcher = z.output<typeof queryMatcher>;
