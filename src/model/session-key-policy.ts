/**
 * A session key policy as written in the config (a service's `affinity.sessionKey`, or
 * `tether ext-proc`'s policies): the shape the model carries. The ext_proc server checks and
 * compiles it (src/extproc/policy.ts) and reads its key files (never while a config is validated).
 */

/** JWT signature and claim checks. Without `verify`, the token is decoded but not verified. */
export interface JwtVerifyOptions {
  /** Shared secret for HS256 / HS384 / HS512. */
  hmacSecret?: string;
  /**
   * A file holding the shared secret (a trailing newline is ignored): keeps the secret out of
   * the config and its history. Like `jwksFile`: inside the secrets directory (relative paths
   * are relative to it), a regular file of at most 64 KiB, read by the ext_proc server (never
   * while validating), kept in memory if it later disappears (secret-files.ts).
   */
  hmacSecretFile?: string;
  /** PEM public key (SPKI or PKCS#1) for RS*, PS*, ES* or EdDSA tokens. */
  publicKeyPem?: string;
  /** A JWKS file (`{"keys":[…]}`); keys are picked by `kid`, re-read when the file changes (checked at most every 5 s). */
  jwksFile?: string;
  /** Accepted `alg` values. Default: every algorithm the configured keys can verify. `none` is never accepted. */
  algorithms?: string[];
  /** Reject tokens without `exp`. Default false (an `exp` that is present is always checked). */
  requireExp?: boolean;
  /** Leeway for `exp` / `nbf`, in seconds. Default 0. */
  clockSkewSeconds?: number;
}

export interface JwtClaimSource {
  /** Claim to use as the key; dot path (`sub`, `org.id`, `groups[0]`). */
  claim: string;
  /** Header carrying the token (`Bearer ` is stripped). Default `authorization` unless `cookie` is given. */
  header?: string;
  /** Cookie carrying the token. */
  cookie?: string;
  verify?: JwtVerifyOptions;
}

export interface JsonBodySource {
  /** Dot path into the JSON request body; array indexes as `a[0]` or `a.0` (`user`, `metadata.conversation_id`). */
  path: string;
  /** Larger bodies are not parsed (fail-open: no key; fail-closed: 413). Default 64 KiB. */
  maxBytes?: number;
}

export type SessionKeySource =
  | { header: string }
  | { cookie: string }
  | { query: string }
  | { jwtClaim: JwtClaimSource }
  | { jsonBody: JsonBodySource };

export interface MintCookieOptions {
  name: string;
  /** Max-Age in seconds; absent → a browser-session cookie. */
  ttlSeconds?: number;
  /** Default `/`. */
  path?: string;
  domain?: string;
  secure?: boolean;
  /** Default true. */
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface SessionKeyPolicy {
  /** Tried in order; the first that yields a key decides. */
  sources: SessionKeySource[];
  /** The header the route's hash_policy hashes on. Default `x-tether-session`. */
  targetHeader?: string;
  /**
   * Header set to the key's bucket, 0..9999 (for range_match routes: sticky per-user canaries).
   * Default `x-tether-bucket`; `false` sets no bucket header.
   */
  bucketHeader?: string | false;
  /**
   * Ask Envoy to re-match the route after the mutation. Needed only when routes match on the
   * bucket header (the hash policy reads the target header without it). Default: true when a
   * bucket header is set.
   */
  clearRouteCache?: boolean;
  /**
   * Put `sha256(key)` (base64url) in the target header instead of the key itself, so secrets such as API keys are
   * not copied into another header upstream. Default false. Keys that are not valid header
   * values (control characters, over 4 KiB) are always hashed.
   */
  hashKey?: boolean;
  /**
   * When no source yields a key, mint a random session id, use it as the key and set it as a
   * cookie on the response. Its cookie is then tried after the listed sources, so the next
   * request finds it even when no `cookie` source names it.
   */
  mintCookie?: MintCookieOptions;
  /**
   * `open` (default): a malformed key (bad JWT, oversized or invalid JSON body) is skipped and
   * later sources are tried. `closed`: such a request is answered by Envoy with 401 (JWT), 413
   * (body too large) or 400 (invalid JSON) and never reaches the upstream.
   */
  failureMode?: 'open' | 'closed';
}

/** A problem with a policy, at a field path (extproc/policy.ts checks, extproc/jwt.ts's verifier options). */
export interface PolicyIssue {
  path: string;
  message: string;
}

export const DEFAULT_TARGET_HEADER = 'x-tether-session';
export const DEFAULT_BUCKET_HEADER = 'x-tether-bucket';
