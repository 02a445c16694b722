import { z } from 'zod';
import { checkSecretPath } from '../util/secret-files';
import { duration } from './schema-primitives';

/**
 * A listener's edge settings: which address a request is attributed to, limits, timeouts,
 * access log and TLS (docs/listener-reference.md). Defaults are filled in normalize.ts from
 * LISTENER_DEFAULTS; bounds are Envoy's own validation rules (http_connection_manager.proto),
 * so a value Envoy would reject is an error here, naming the field.
 */

/** Envoy's edge-proxy guide and its own defaults (docs/listener-reference.md says which is which). */
export const LISTENER_DEFAULTS = {
  trustedHops: 0,
  connectionBufferBytes: 32_768,
  maxHeaders: 100,
  maxRequestHeadersKb: 60,
  idleMs: 3_600_000,
  streamIdleMs: 300_000,
  requestMs: 300_000,
  requestHeadersMs: 10_000,
  accessLogFormat: 'json',
} as const;

/** http_connection_manager.proto: max_request_headers_kb lte 8192 (and gt 0). */
export const MAX_REQUEST_HEADERS_KB = 8192;
/** A proxy chain longer than this is a misconfiguration, not a topology. */
export const MAX_TRUSTED_HOPS = 16;

const uint32 = (min: number, what = `must be >= ${min}`) => z.int().min(min, what).max(0xffffffff, 'must be <= 4294967295');

const clientAddress = z.strictObject({
  trustedHops: z
    .int()
    .min(0, 'must be >= 0')
    .max(MAX_TRUSTED_HOPS, `must be <= ${MAX_TRUSTED_HOPS} (the number of proxies in front of Envoy that append to X-Forwarded-For)`)
    .optional(),
});

const limits = z.strictObject({
  connectionBufferBytes: uint32(1024, 'must be >= 1024 (smaller buffers stall ordinary requests)').optional(),
  maxHeaders: uint32(1).optional(),
  maxRequestHeadersKb: z.int().min(1, 'must be >= 1').max(MAX_REQUEST_HEADERS_KB, `must be <= ${MAX_REQUEST_HEADERS_KB} (Envoy's limit)`).optional(),
});

const timeouts = z.strictObject({
  idle: duration().optional(),
  streamIdle: duration().optional(),
  request: duration().optional(),
  requestHeaders: duration().optional(),
});

/** Envoy opens the file itself: only an absolute path means the same thing on its machine. */
const logPath = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => p.length === 0 || p.startsWith('/'), 'must be an absolute path (Envoy opens it)')
  .refine((p) => !p.includes('\0'), 'must not contain NUL');

export const ACCESS_LOG_FORMATS = ['json', 'text'] as const;

const accessLogObject = z.strictObject(
  {
    format: z.enum(ACCESS_LOG_FORMATS).optional(),
    path: logPath.optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'must be false, json, text or { format?, path? }' : undefined) },
);

/**
 * `accessLog: false` turns it off; `json` / `text` is { format }; true is the default. Not a
 * zod union, so a bad field is reported at its own path rather than as "no union member".
 */
const accessLog = z.unknown().transform((value, ctx): z.output<typeof accessLogObject> | false => {
  if (value === false) return false;
  const parsed = accessLogObject.safeParse(value === true ? {} : typeof value === 'string' ? { format: value } : value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: typeof value === 'string' ? ['format'] : issue.path, input: value });
  }
  return z.NEVER;
});

/** Read by Tether (never by Envoy), under the same directory rule as ext_proc's key files. */
const secretFile = z.string().transform((value, ctx): string => {
  const checked = checkSecretPath(value);
  if ('message' in checked) {
    ctx.addIssue({ code: 'custom', message: checked.message, input: value });
    return z.NEVER;
  }
  return checked.path;
});

const tls = z.strictObject({
  certificate: secretFile,
  privateKey: secretFile,
});

/** The listener fields beyond name, port and address. */
export const listenerEdgeFields = {
  clientAddress: clientAddress.optional(),
  limits: limits.optional(),
  timeouts: timeouts.optional(),
  accessLog: accessLog.optional(),
  tls: tls.optional(),
};
