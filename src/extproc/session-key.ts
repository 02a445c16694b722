/**
 * Finding the session key: the policy's sources tried in order against the request, and the
 * key's header value and bucket. Pure (no I/O except a JWKS mtime check, no logging).
 */
import * as crypto from 'node:crypto';
import { keyAtPath } from './json-path';
import { readJwt } from './jwt';
import type { CompiledPolicy, CompiledSource } from './policy';
import type { RequestView } from './request-view';

/** What is known of the request body when sources are evaluated. */
export type BodyInput =
  /** There is no body, or it will never be seen (ext_proc did not send it). */
  | { state: 'absent' }
  /** The body exceeded the largest jsonBody maxBytes; it was not kept. */
  | { state: 'oversized' }
  | { state: 'complete'; bytes: Buffer; parsed?: { ok: true; value: unknown } | { ok: false } };

export type RejectStatus = 400 | 401 | 413;

export type Evaluation =
  | { kind: 'key'; key: string; source: string }
  | { kind: 'none' }
  /** Sources from index `at` on need the body, which has not been seen yet. */
  | { kind: 'needBody'; at: number }
  /** Fail-closed: a present key was malformed. `reason` names the failure, never the key. */
  | { kind: 'reject'; status: RejectStatus; reason: string; source: string };

export interface EvaluateOptions {
  /** First source to try (resuming after the body arrived). Default 0. */
  from?: number;
  /** Undefined: the body has not been seen yet (a jsonBody source answers needBody). */
  body?: BodyInput;
  /** Current time in seconds since the epoch (JWT exp/nbf). */
  nowSeconds: number;
  /**
   * Provisional pass for when the body may never arrive (Envoy ignores mode_override unless
   * allow_mode_override is set): jsonBody sources are skipped and rejections count as no key.
   */
  provisional?: boolean;
}

const BEARER = /^bearer\s+/i;

function tokenOf(source: Extract<CompiledSource, { kind: 'jwt' }>, req: RequestView): string | undefined {
  if (source.header !== undefined) {
    const value = req.header(source.header);
    if (value) {
      if (BEARER.test(value)) return value.replace(BEARER, '').trim() || undefined;
      // Another scheme (Basic…) in authorization carries no JWT; other headers hold a bare token.
      if (source.header !== 'authorization') return value.trim() || undefined;
    }
  }
  if (source.cookie !== undefined) return req.cookie(source.cookie) || undefined;
  return undefined;
}

function parsedBody(body: Extract<BodyInput, { state: 'complete' }>): { ok: true; value: unknown } | { ok: false } {
  if (!body.parsed) {
    // An empty body (HTTP/2 may end a bodiless request with an empty DATA frame) is no key,
    // not invalid JSON.
    if (body.bytes.every(isJsonWhitespace)) return (body.parsed = { ok: true, value: undefined });
    try {
      // JSON.parse's error message quotes the input: it is dropped, never logged.
      body.parsed = { ok: true, value: JSON.parse(body.bytes.toString('utf8')) };
    } catch {
      body.parsed = { ok: false };
    }
  }
  return body.parsed;
}

const isJsonWhitespace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Tries the policy's sources in order. */
export function evaluateSources(policy: CompiledPolicy, req: RequestView, options: EvaluateOptions): Evaluation {
  const { body, nowSeconds, provisional = false } = options;
  const sources = policy.sources;
  const reject = (status: RejectStatus, reason: string, source: CompiledSource): Evaluation | undefined =>
    policy.failClosed && !provisional ? { kind: 'reject', status, reason, source: source.label } : undefined;

  for (let i = options.from ?? 0; i < sources.length; i++) {
    const source = sources[i]!;
    let key: string | undefined;
    switch (source.kind) {
      case 'header':
        key = req.header(source.name) || undefined;
        break;
      case 'cookie':
        key = req.cookie(source.name) || undefined;
        break;
      case 'query':
        key = req.query(source.name) || undefined;
        break;
      case 'jwt': {
        const token = tokenOf(source, req);
        if (token === undefined) break;
        const outcome = readJwt(token, source.verifier, nowSeconds);
        if (!outcome.ok) {
          const rejected = reject(401, `jwt_${outcome.reason}`, source);
          if (rejected) return rejected;
          break;
        }
        key = keyAtPath(outcome.payload, source.claim);
        break;
      }
      case 'json': {
        if (provisional || !req.isJson || req.endOfStream) break;
        const declared = req.contentLength;
        if (declared !== undefined && declared > source.maxBytes) {
          const rejected = reject(413, 'body_too_large', source);
          if (rejected) return rejected;
          break;
        }
        if (body === undefined) return { kind: 'needBody', at: i };
        if (body.state === 'absent') break;
        if (body.state === 'oversized' || body.bytes.length > source.maxBytes) {
          const rejected = reject(413, 'body_too_large', source);
          if (rejected) return rejected;
          break;
        }
        const parsed = parsedBody(body);
        if (!parsed.ok) {
          const rejected = reject(400, 'body_invalid_json', source);
          if (rejected) return rejected;
          break;
        }
        key = keyAtPath(parsed.value, source.path);
        break;
      }
    }
    if (key !== undefined) return { kind: 'key', key, source: source.label };
  }
  return { kind: 'none' };
}

/** Longest key put in a header as it is; longer keys are hashed. */
const MAX_HEADER_KEY = 4096;
// Printable ASCII without leading/trailing whitespace (HTTP trims it, which would change the key).
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** The value written to the target header: the key itself, or base64url(sha256(key)). */
export function headerValueFor(key: string, hashKey: boolean): string {
  if (!hashKey && key.length <= MAX_HEADER_KEY && HEADER_SAFE.test(key)) return key;
  return crypto.createHash('sha256').update(key, 'utf8').digest('base64url');
}

/**
 * The key's bucket and a short log-safe fingerprint, both from sha256 of the header value:
 * bucket = (first 8 bytes, big-endian uint64) mod 10000, fingerprint = first 8 hex digits.
 * Reproducible anywhere: `int.from_bytes(sha256(v).digest()[:8], "big") % 10000` in Python.
 */
export function bucketOf(headerValue: string): { bucket: number; fingerprint: string } {
  const digest = crypto.createHash('sha256').update(headerValue, 'utf8').digest();
  const hi = digest.readUInt32BE(0);
  const lo = digest.readUInt32BE(4);
  // (hi * 2^32 + lo) mod 10000 without BigInt; 2^32 mod 10000 = 7296.
  const bucket = ((hi % 10000) * 7296 + (lo % 10000)) % 10000;
  return { bucket, fingerprint: digest.toString('hex', 0, 4) };
}

/** A fresh session id: 128 random bits, base64url (22 characters). */
export function mintSessionId(): string {
  return crypto.randomBytes(16).toString('base64url');
}
