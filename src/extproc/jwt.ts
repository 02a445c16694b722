/**
 * JWT decoding and verification with node:crypto only (no JWT library): base64url JSON
 * header and payload; HS256/384/512 with a shared secret; RS*, PS*, ES* and EdDSA with a PEM
 * public key or a JWKS file. The key type must fit the algorithm, so a public key is never
 * used as an HMAC secret ("alg confusion"), and `none` is never accepted when verifying.
 */
import * as crypto from 'node:crypto';
import { checkSecretPath, secretStore } from '../util/secret-files';
import type { JwtVerifyOptions } from '../model/session-key-policy';
import type { PolicyIssue } from '../model/session-key-policy';

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const KNOWN_ALGS: ReadonlySet<string> = new Set<string>([...HMAC_ALGS, ...ASYMMETRIC_ALGS]);

/** Tokens longer than this are malformed for our purpose (Envoy's default header limit is 60 KiB). */
const MAX_TOKEN_LENGTH = 16 * 1024;
export type JwtFailure = 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not_yet_valid' | 'missing_exp';
export type JwtOutcome = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: JwtFailure };

interface JwksKey {
  kid: string | undefined;
  alg: string | undefined;
  key: crypto.KeyObject;
}

/** A JWKS file's public signing keys; throws with a message fit for a log line. */
export function parseJwks(data: Buffer): JwksKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new Error('is not valid JSON');
  }
  const list = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('is not a JWKS ({"keys": [...]})');
  const keys: JwksKey[] = [];
  for (const jwk of list as Record<string, unknown>[]) {
    if (typeof jwk !== 'object' || jwk === null || jwk.kty === 'oct') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    try {
      keys.push({
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
        key: crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }),
      });
    } catch {
      // An unusable key is skipped; the others still verify.
    }
  }
  if (keys.length === 0) throw new Error('holds no usable public signing key');
  return keys;
}

/** An HMAC secret file's secret (a trailing newline is not part of it). */
export function parseHmacSecret(data: Buffer): Buffer {
  const secret = data.toString('utf8').replace(/\r?\n$/, '');
  if (secret.length < 16) throw new Error('holds a secret shorter than 16 characters');
  return Buffer.from(secret, 'utf8');
}

/** Keys of a JWKS that may have signed a token with this `kid` and `alg`. */
function jwksCandidates(keys: readonly JwksKey[], kid: string | undefined, alg: string): crypto.KeyObject[] {
  const out: crypto.KeyObject[] = [];
  for (const k of keys) {
    if (kid !== undefined && k.kid !== undefined && k.kid !== kid) continue;
    if (k.alg !== undefined && k.alg !== alg) continue;
    out.push(k.key);
  }
  return out;
}

export interface JwtVerifier {
  readonly algorithms: ReadonlySet<string>;
  readonly hmacSecret: Buffer | undefined;
  /** Resolved path; its secret comes from secretStore (loaded asynchronously, kept across versions). */
  readonly hmacSecretFile: string | undefined;
  readonly publicKey: crypto.KeyObject | undefined;
  /** Resolved path; its keys come from secretStore. */
  readonly jwksFile: string | undefined;
  readonly requireExp: boolean;
  readonly clockSkewSeconds: number;
}

/** Builds a verifier from policy options, collecting problems as policy issues. */
export function createJwtVerifier(raw: unknown, path: string): { verifier?: JwtVerifier; issues: PolicyIssue[] } {
  const issues: PolicyIssue[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { issues: [{ path, message: 'must be an object {hmacSecret?, hmacSecretFile?, publicKeyPem?, jwksFile?, algorithms?, requireExp?}' }] };
  }
  const opts = raw as JwtVerifyOptions & Record<string, unknown>;
  const known = ['hmacSecret', 'hmacSecretFile', 'publicKeyPem', 'jwksFile', 'algorithms', 'requireExp', 'clockSkewSeconds'];
  for (const key of Object.keys(opts)) if (!known.includes(key)) issues.push({ path: `${path}.${key}`, message: 'unknown field' });

  // Key files are only checked here (shape, directory rule): they are read by the ext_proc
  // side, asynchronously (secret-files.ts), never while a config is validated.
  const keyFile = (field: 'hmacSecretFile' | 'jwksFile'): string | undefined => {
    const checked = checkSecretPath(opts[field]);
    if ('message' in checked) return void issues.push({ path: `${path}.${field}`, message: checked.message });
    return checked.path;
  };
  let hmacSecret: Buffer | undefined;
  let hmacSecretFile: string | undefined;
  if (opts.hmacSecret !== undefined && opts.hmacSecretFile !== undefined) {
    issues.push({ path: `${path}.hmacSecretFile`, message: 'give hmacSecret or hmacSecretFile, not both' });
  } else if (opts.hmacSecret !== undefined) {
    if (typeof opts.hmacSecret !== 'string' || opts.hmacSecret.length < 16) issues.push({ path: `${path}.hmacSecret`, message: 'must be a string of at least 16 characters' });
    else hmacSecret = Buffer.from(opts.hmacSecret, 'utf8');
  } else if (opts.hmacSecretFile !== undefined) {
    // The secret stays out of the config (and so out of the config history and admin reads).
    hmacSecretFile = keyFile('hmacSecretFile');
  }
  const hasHmac = opts.hmacSecret !== undefined || opts.hmacSecretFile !== undefined;
  let publicKey: crypto.KeyObject | undefined;
  if (opts.publicKeyPem !== undefined) {
    try {
      if (typeof opts.publicKeyPem !== 'string') throw new Error();
      publicKey = crypto.createPublicKey(opts.publicKeyPem);
    } catch {
      issues.push({ path: `${path}.publicKeyPem`, message: 'must be a PEM public key' });
    }
  }
  const jwksFile = opts.jwksFile !== undefined ? keyFile('jwksFile') : undefined;
  if (!hasHmac && opts.publicKeyPem === undefined && opts.jwksFile === undefined) {
    issues.push({ path, message: 'needs hmacSecret, hmacSecretFile, publicKeyPem or jwksFile (omit verify to decode without verifying)' });
  }

  const defaults = [...(hasHmac ? HMAC_ALGS : []), ...(opts.publicKeyPem !== undefined || opts.jwksFile !== undefined ? ASYMMETRIC_ALGS : [])];
  let algorithms: string[] = defaults;
  if (opts.algorithms !== undefined) {
    if (!Array.isArray(opts.algorithms) || opts.algorithms.length === 0) {
      issues.push({ path: `${path}.algorithms`, message: 'must be a non-empty list' });
    } else {
      algorithms = [];
      opts.algorithms.forEach((alg, i) => {
        if (typeof alg !== 'string' || !KNOWN_ALGS.has(alg)) issues.push({ path: `${path}.algorithms[${i}]`, message: `must be one of ${[...KNOWN_ALGS].join(', ')}` });
        else if (alg.startsWith('HS') && !hasHmac) issues.push({ path: `${path}.algorithms[${i}]`, message: `${alg} needs hmacSecret or hmacSecretFile` });
        else if (!alg.startsWith('HS') && opts.publicKeyPem === undefined && opts.jwksFile === undefined) issues.push({ path: `${path}.algorithms[${i}]`, message: `${alg} needs publicKeyPem or jwksFile` });
        else algorithms.push(alg);
      });
    }
  }
  if (opts.requireExp !== undefined && typeof opts.requireExp !== 'boolean') issues.push({ path: `${path}.requireExp`, message: 'must be a boolean' });
  const skew = opts.clockSkewSeconds ?? 0;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0 || skew > 3600) issues.push({ path: `${path}.clockSkewSeconds`, message: 'must be a number of seconds in [0, 3600]' });

  if (issues.length > 0) return { issues };
  return {
    issues,
    verifier: { algorithms: new Set(algorithms), hmacSecret, hmacSecretFile, publicKey, jwksFile, requireExp: opts.requireExp ?? false, clockSkewSeconds: skew },
  };
}

/** Reads a verifier's key files now (asynchronously); never throws, problems are logged by secretStore. */
export async function loadVerifierFiles(verifier: JwtVerifier): Promise<void> {
  await Promise.all([
    verifier.hmacSecretFile !== undefined ? secretStore.load('hmac', verifier.hmacSecretFile, parseHmacSecret) : undefined,
    verifier.jwksFile !== undefined ? secretStore.load('jwks', verifier.jwksFile, parseJwks) : undefined,
  ]);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  if (part === '' || !BASE64URL.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function digestOf(alg: string): string {
  return `sha${alg.slice(2)}`;
}

function keyFits(key: crypto.KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  if (type !== 'ec') return false;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return (alg === 'ES256' && curve === 'prime256v1') || (alg === 'ES384' && curve === 'secp384r1') || (alg === 'ES512' && curve === 'secp521r1');
}

function verifyAsymmetric(key: crypto.KeyObject, alg: string, data: Buffer, signature: Buffer): boolean {
  if (!keyFits(key, alg)) return false;
  try {
    if (alg === 'EdDSA') return crypto.verify(null, data, key, signature);
    if (alg.startsWith('ES')) return crypto.verify(digestOf(alg), data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (alg.startsWith('PS')) {
      return crypto.verify(digestOf(alg), data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    return crypto.verify(digestOf(alg), data, key, signature);
  } catch {
    return false;
  }
}

function signatureValid(verifier: JwtVerifier, alg: string, kid: string | undefined, data: Buffer, signature: Buffer): boolean {
  if (signature.length === 0) return false;
  if (alg.startsWith('HS')) {
    const secret = verifier.hmacSecret ?? (verifier.hmacSecretFile !== undefined ? secretStore.get('hmac', verifier.hmacSecretFile, parseHmacSecret) : undefined);
    if (!secret) return false;
    const expected = crypto.createHmac(digestOf(alg), secret).update(data).digest();
    return expected.length === signature.length && crypto.timingSafeEqual(expected, signature);
  }
  if (verifier.publicKey && verifyAsymmetric(verifier.publicKey, alg, data, signature)) return true;
  const jwks = verifier.jwksFile !== undefined ? secretStore.get('jwks', verifier.jwksFile, parseJwks) : undefined;
  if (jwks) {
    for (const key of jwksCandidates(jwks, kid, alg)) if (verifyAsymmetric(key, alg, data, signature)) return true;
  }
  return false;
}

/**
 * Decodes a compact JWS and, with a verifier, checks its algorithm and signature. `exp` and
 * `nbf`, when present, are checked either way: an expired token is no key.
 */
export function readJwt(token: string, verifier: JwtVerifier | undefined, nowSeconds: number): JwtOutcome {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return { ok: false, reason: 'malformed' };
  const header = decodeJsonPart(token.slice(0, first));
  const payload = decodeJsonPart(token.slice(first + 1, second));
  const signaturePart = token.slice(second + 1);
  if (!header || !payload || typeof header.alg !== 'string' || !BASE64URL.test(signaturePart)) return { ok: false, reason: 'malformed' };

  const skew = verifier?.clockSkewSeconds ?? 0;
  if (verifier) {
    const alg = header.alg;
    if (!verifier.algorithms.has(alg)) return { ok: false, reason: 'algorithm' };
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const data = Buffer.from(token.slice(0, second), 'ascii');
    if (!signatureValid(verifier, alg, kid, data, Buffer.from(signaturePart, 'base64url'))) return { ok: false, reason: 'signature' };
  }
  if (payload.exp !== undefined) {
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return { ok: false, reason: 'malformed' };
    if (payload.exp + skew <= nowSeconds) return { ok: false, reason: 'expired' };
  } else if (verifier?.requireExp) {
    return { ok: false, reason: 'missing_exp' };
  }
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== 'number' || !Number.isFinite(payload.nbf)) return { ok: false, reason: 'malformed' };
    if (payload.nbf - skew > nowSeconds) return { ok: false, reason: 'not_yet_valid' };
  }
  return { ok: true, payload };
}
