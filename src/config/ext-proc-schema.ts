import { z } from 'zod';
import { checkPolicy } from '../extproc/policy';
import { parseHostPort } from '../util/addresses';
import { duration, resourceName } from './schema-primitives';

/**
 * The two ext_proc parts of the file format: a service's `affinity.sessionKey` (the policy
 * Tether's ext_proc server runs, src/extproc/policy.ts) and the top-level `extProc` (how Envoy
 * reaches that server). The policy is validated by the ext_proc server's own checker, so the
 * config and the server can never disagree on what a valid policy is; its issues are re-rooted
 * here so every message names its full path (`services[0].affinity.sessionKey.sources[1].jwtClaim.claim`).
 */

/** "sources[0].jwtClaim.verify.algorithms[1]" → ['sources', 0, 'jwtClaim', 'verify', 'algorithms', 1]. */
export function policyPathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (part[2] !== undefined) out.push(Number(part[2]));
    else out.push(part[1]!);
  }
  return out;
}

/**
 * The policy as written (its shape is the ext_proc server's: sources, targetHeader,
 * bucketHeader, clearRouteCache, hashKey, mintCookie, failureMode). Checking it does no I/O: a
 * `jwtClaim.verify.jwksFile` or `hmacSecretFile` is checked for its shape and the secrets
 * directory rule only; the ext_proc side reads it (src/util/secret-files.ts).
 */
export const sessionKeyPolicy = z.unknown().superRefine((value, ctx) => {
  for (const issue of checkPolicy(value).issues) {
    ctx.addIssue({ code: 'custom', path: policyPathSegments(issue.path), message: issue.message });
  }
});

/** Envoy's ext_proc.proto: message_timeout within [0s, 3600s]; 0 would time out every call. */
const MAX_MESSAGE_TIMEOUT_MS = 3_600_000;

export const extProcSettings = z.strictObject({
  cluster: resourceName.optional(),
  address: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseHostPort(text);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error, input: text });
        return z.NEVER;
      }
      return parsed;
    })
    .optional(),
  failureModeAllow: z.boolean().optional(),
  messageTimeout: duration({ positive: true })
    .refine((ms) => ms <= MAX_MESSAGE_TIMEOUT_MS, 'must be at most 1h (Envoy refuses more)')
    .optional(),
});

export type RawExtProcSettings = z.output<typeof extProcSettings>;
