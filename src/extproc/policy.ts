/**
 * How the ext_proc server finds a request's session key: the user-facing policy shape,
 * its validation (every problem at once, with a field path) and its compiled form.
 */
import { createJwtVerifier, loadVerifierFiles, type JwtVerifier } from './jwt';
import { parseDotPath, type PathSegment } from './json-path';
import { DEFAULT_BUCKET_HEADER, DEFAULT_TARGET_HEADER, type PolicyIssue, type SessionKeyPolicy } from '../model/session-key-policy';

export type { PolicyIssue } from '../model/session-key-policy';

export class PolicyError extends Error {
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(`invalid session key policy: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'PolicyError';
  }
}

export const DEFAULT_JSON_MAX_BYTES = 64 * 1024;
/** gRPC/Envoy reject larger messages long before; this only bounds a misconfiguration. */
const MAX_JSON_MAX_BYTES = 16 * 1024 * 1024;

export type CompiledSource =
  | { kind: 'header'; label: string; name: string }
  | { kind: 'cookie'; label: string; name: string }
  | { kind: 'query'; label: string; name: string }
  | { kind: 'jwt'; label: string; claim: PathSegment[]; header?: string; cookie?: string; verifier?: JwtVerifier }
  | { kind: 'json'; label: string; path: PathSegment[]; maxBytes: number };

export interface CompiledPolicy {
  readonly sources: readonly CompiledSource[];
  readonly targetHeader: string;
  readonly bucketHeader: string | undefined;
  readonly clearRouteCache: boolean;
  readonly hashKey: boolean;
  readonly failClosed: boolean;
  readonly mint: { readonly name: string; readonly attributes: string } | undefined;
  /** Largest `maxBytes` of the jsonBody sources (0: the body is never needed). */
  readonly maxBodyBytes: number;
}

// RFC 7230 token: what a header or cookie name may contain.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function headerNameIssue(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'must be a non-empty header name';
  if (name !== name.toLowerCase()) return 'must be lower case (Envoy lower-cases header names)';
  if (!HEADER_NAME.test(name)) return 'is not a valid header name';
  return undefined;
}

/** Headers Envoy's default mutation rules refuse to let ext_proc set. */
function mutableHeaderIssue(name: string): string | undefined {
  if (name.startsWith(':') || name === 'host') return 'Envoy does not let ext_proc set pseudo-headers or host';
  if (name.startsWith('x-envoy-')) return 'Envoy does not let ext_proc set x-envoy-* headers';
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(value: Record<string, unknown>, known: readonly string[], path: string, issues: PolicyIssue[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) issues.push({ path: path ? `${path}.${key}` : key, message: 'unknown field' });
  }
}

const SOURCE_KINDS = ['header', 'cookie', 'query', 'jwtClaim', 'jsonBody'] as const;

function compileSource(raw: unknown, path: string, issues: PolicyIssue[]): CompiledSource | undefined {
  if (!isObject(raw)) {
    issues.push({ path, message: `must be an object with one of ${SOURCE_KINDS.join(', ')}` });
    return undefined;
  }
  const kinds = Object.keys(raw);
  if (kinds.length !== 1 || !(SOURCE_KINDS as readonly string[]).includes(kinds[0]!)) {
    issues.push({ path, message: `must have exactly one of ${SOURCE_KINDS.join(', ')}` });
    return undefined;
  }
  const kind = kinds[0] as (typeof SOURCE_KINDS)[number];
  const value = raw[kind];
  const at = `${path}.${kind}`;
  switch (kind) {
    case 'header': {
      const issue = headerNameIssue(value);
      if (issue) return void issues.push({ path: at, message: issue });
      return { kind: 'header', label: `header:${value as string}`, name: value as string };
    }
    case 'cookie':
    case 'query': {
      if (typeof value !== 'string' || !TOKEN.test(value)) return void issues.push({ path: at, message: `must be a ${kind === 'cookie' ? 'cookie' : 'query parameter'} name` });
      return kind === 'cookie' ? { kind, label: `cookie:${value}`, name: value } : { kind, label: `query:${value}`, name: value };
    }
    case 'jwtClaim':
      return compileJwtSource(value, at, issues);
    case 'jsonBody': {
      if (!isObject(value)) return void issues.push({ path: at, message: 'must be an object {path, maxBytes?}' });
      unknownKeys(value, ['path', 'maxBytes'], at, issues);
      const segments = typeof value.path === 'string' ? parseDotPath(value.path) : undefined;
      if (!segments) issues.push({ path: `${at}.path`, message: 'must be a dot path such as "user" or "metadata.conversation_id" or "messages[0].id"' });
      const maxBytes = value.maxBytes ?? DEFAULT_JSON_MAX_BYTES;
      if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 2 || maxBytes > MAX_JSON_MAX_BYTES) {
        issues.push({ path: `${at}.maxBytes`, message: `must be an integer in [2, ${MAX_JSON_MAX_BYTES}]` });
      }
      if (!segments || typeof maxBytes !== 'number') return undefined;
      return { kind: 'json', label: `json:${value.path as string}`, path: segments, maxBytes };
    }
  }
}

function compileJwtSource(value: unknown, at: string, issues: PolicyIssue[]): CompiledSource | undefined {
  if (!isObject(value)) return void issues.push({ path: at, message: 'must be an object {claim, header?, cookie?, verify?}' });
  unknownKeys(value, ['claim', 'header', 'cookie', 'verify'], at, issues);
  const claim = typeof value.claim === 'string' ? parseDotPath(value.claim) : undefined;
  if (!claim) issues.push({ path: `${at}.claim`, message: 'must be a claim name or dot path such as "sub"' });
  if (value.header !== undefined) {
    const issue = headerNameIssue(value.header);
    if (issue) issues.push({ path: `${at}.header`, message: issue });
  }
  if (value.cookie !== undefined && (typeof value.cookie !== 'string' || !TOKEN.test(value.cookie))) {
    issues.push({ path: `${at}.cookie`, message: 'must be a cookie name' });
  }
  let verifier: JwtVerifier | undefined;
  if (value.verify !== undefined) {
    const made = createJwtVerifier(value.verify, `${at}.verify`);
    issues.push(...made.issues);
    verifier = made.verifier;
  }
  if (!claim) return undefined;
  const header = typeof value.header === 'string' ? value.header : value.cookie === undefined ? 'authorization' : undefined;
  const cookie = typeof value.cookie === 'string' ? value.cookie : undefined;
  return { kind: 'jwt', label: `jwt:${value.claim as string}`, claim, header, cookie, verifier };
}

function compileMint(raw: unknown, issues: PolicyIssue[]): CompiledPolicy['mint'] {
  const at = 'mintCookie';
  if (!isObject(raw)) return void issues.push({ path: at, message: 'must be an object {name, ttlSeconds?, path?, secure?, httpOnly?, sameSite?}' });
  unknownKeys(raw, ['name', 'ttlSeconds', 'path', 'domain', 'secure', 'httpOnly', 'sameSite'], at, issues);
  const { name, ttlSeconds, path = '/', domain, secure = false, httpOnly = true, sameSite } = raw;
  const before = issues.length;
  if (typeof name !== 'string' || !TOKEN.test(name)) issues.push({ path: `${at}.name`, message: 'must be a cookie name' });
  if (ttlSeconds !== undefined && (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0)) {
    issues.push({ path: `${at}.ttlSeconds`, message: 'must be a positive integer' });
  }
  // Cookie attribute values must not break out of the Set-Cookie header.
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) issues.push({ path: `${at}.path`, message: 'must start with / and contain no ; or spaces' });
  if (domain !== undefined && (typeof domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(domain))) issues.push({ path: `${at}.domain`, message: 'must be a domain name' });
  if (typeof secure !== 'boolean') issues.push({ path: `${at}.secure`, message: 'must be a boolean' });
  if (typeof httpOnly !== 'boolean') issues.push({ path: `${at}.httpOnly`, message: 'must be a boolean' });
  if (sameSite !== undefined && sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
    issues.push({ path: `${at}.sameSite`, message: 'must be Strict, Lax or None' });
  }
  if (sameSite === 'None' && secure !== true) issues.push({ path: `${at}.sameSite`, message: 'SameSite=None requires secure: true (browsers drop the cookie otherwise)' });
  if (issues.length > before) return undefined;
  let attributes = `; Path=${path as string}`;
  if (domain !== undefined) attributes += `; Domain=${domain as string}`;
  if (ttlSeconds !== undefined) attributes += `; Max-Age=${ttlSeconds as number}`;
  if (secure) attributes += '; Secure';
  if (httpOnly) attributes += '; HttpOnly';
  if (sameSite !== undefined) attributes += `; SameSite=${sameSite as string}`;
  return { name: name as string, attributes };
}

/** Validates and compiles a policy, or returns every problem found. Never throws. */
export function checkPolicy(policy: unknown): { policy: CompiledPolicy; issues: [] } | { policy?: undefined; issues: PolicyIssue[] } {
  const issues: PolicyIssue[] = [];
  if (!isObject(policy)) return { issues: [{ path: '', message: 'a session key policy must be an object' }] };
  unknownKeys(policy, ['sources', 'targetHeader', 'bucketHeader', 'clearRouteCache', 'hashKey', 'mintCookie', 'failureMode'], '', issues);

  const sources: CompiledSource[] = [];
  if (!Array.isArray(policy.sources)) {
    issues.push({ path: 'sources', message: 'must be a list' });
  } else {
    if (policy.sources.length === 0 && policy.mintCookie === undefined) issues.push({ path: 'sources', message: 'must list at least one source (or set mintCookie)' });
    policy.sources.forEach((raw, i) => {
      const compiled = compileSource(raw, `sources[${i}]`, issues);
      if (compiled) sources.push(compiled);
    });
  }

  const targetHeader = policy.targetHeader ?? DEFAULT_TARGET_HEADER;
  const targetIssue = headerNameIssue(targetHeader) ?? mutableHeaderIssue(targetHeader as string);
  if (targetIssue) issues.push({ path: 'targetHeader', message: targetIssue });

  let bucketHeader: string | undefined;
  if (policy.bucketHeader !== false) {
    const name = policy.bucketHeader ?? DEFAULT_BUCKET_HEADER;
    const issue = headerNameIssue(name) ?? mutableHeaderIssue(name as string);
    if (issue) issues.push({ path: 'bucketHeader', message: `${issue} (or false for none)` });
    else if (name === targetHeader) issues.push({ path: 'bucketHeader', message: 'must differ from targetHeader' });
    else bucketHeader = name as string;
  }

  for (const flag of ['clearRouteCache', 'hashKey'] as const) {
    if (policy[flag] !== undefined && typeof policy[flag] !== 'boolean') issues.push({ path: flag, message: 'must be a boolean' });
  }
  const failureMode = policy.failureMode ?? 'open';
  if (failureMode !== 'open' && failureMode !== 'closed') issues.push({ path: 'failureMode', message: 'must be "open" or "closed"' });

  let mint: CompiledPolicy['mint'];
  if (policy.mintCookie !== undefined) {
    mint = compileMint(policy.mintCookie, issues);
    // The minted cookie is how the next request finds its key: try it after the listed sources.
    if (mint && !sources.some((s) => s.kind === 'cookie' && s.name === mint!.name)) {
      sources.push({ kind: 'cookie', label: `cookie:${mint.name}`, name: mint.name });
    }
  }

  if (issues.length > 0) return { issues };
  return {
    issues: [],
    policy: {
      sources,
      targetHeader: targetHeader as string,
      bucketHeader,
      clearRouteCache: (policy.clearRouteCache as boolean | undefined) ?? bucketHeader !== undefined,
      hashKey: (policy.hashKey as boolean | undefined) ?? false,
      failClosed: failureMode === 'closed',
      mint,
      maxBodyBytes: Math.max(0, ...sources.map((s) => (s.kind === 'json' ? s.maxBytes : 0))),
    },
  };
}

/** Reads the policy's key files (hmacSecretFile, jwksFile) now; never throws (problems are logged). */
export async function loadPolicyFiles(policy: CompiledPolicy): Promise<void> {
  await Promise.all(policy.sources.map((s) => (s.kind === 'jwt' && s.verifier ? loadVerifierFiles(s.verifier) : undefined)));
}

/** Every problem with a policy (empty when it is valid). */
export function validatePolicy(policy: unknown): PolicyIssue[] {
  return checkPolicy(policy).issues;
}

/** Compiles a policy, throwing a PolicyError listing every problem. */
export function compilePolicy(policy: SessionKeyPolicy): CompiledPolicy {
  const result = checkPolicy(policy);
  if (!result.policy) throw new PolicyError(result.issues);
  return result.policy;
}
