/**
 * The request hash: what Envoy (or grpc-js-xds) computes from a request with a route's
 * `hash_policy` list, which Tether emits one policy per AffinityKey, in order
 * (translate/hash-policy.ts).
 *
 * Facts relied on, Envoy (source/common/http/hash_policy.cc unless noted):
 * - generateHash: each policy that yields a value is folded as `h = rotl64(h,1) ^ h_i`; after a
 *   policy marked terminal, evaluation stops if a hash exists by then (from it or earlier ones).
 *   No hash at all: ring hash and maglev pick with a random value
 *   (source/common/upstream/thread_aware_lb_impl.cc, LoadBalancerImpl::chooseHost).
 * - HeaderHashMethod: every entry of the (lower-cased) header is taken, values are sorted
 *   (std::sort of string_views, i.e. bytewise) and hashed by `HashUtil::xxHash64(Span)`, which
 *   chains them: each value's XXH64 is seeded with the previous value's hash, the first with 0
 *   (source/common/common/hash.cc). One value: plain XXH64. An empty value still counts. Measured
 *   through Envoy 1.40 (test/envoy-real/affinity.test.ts): it is not XXH64 of the concatenation.
 * - CookieHashMethod: `Utility::parseCookieValue(headers, name)`; a non-empty value is hashed
 *   with XXH64. An absent (or empty) cookie yields nothing unless the policy has a ttl; then Envoy
 *   asks the router to add a cookie and hashes the value it returns. ttl is read as whole seconds
 *   (`ttl().seconds()`).
 * - The router's callback (source/common/router/router.h, Filter::addDownstreamSetCookie) makes
 *   the value `Hex::uint64ToHex(xxHash64(remote.asString() + local.asString()))` from the
 *   downstream connection's peer and local addresses ("ip:port" each, IPv6 bracketed), and sends
 *   `Set-Cookie: name="value"` (+ `; Max-Age=<ttl s>` unless 0, `; Path=<path>` if set,
 *   `; HttpOnly`) (source/common/http/utility.cc, makeSetCookieValue). Hashing that same value
 *   on the first request is what makes the first and later requests land on the same host.
 * - Cookie parsing (utility.cc forEachCookie/parseCookie): each `cookie` header is split on ';'
 *   (empty pieces dropped), the name starts at the first non-space and ends at the first '=',
 *   the value runs to the end of the piece; a value wrapped in double quotes is unwrapped; the
 *   first cookie with that exact name wins.
 * - IpHashMethod: XXH64 of `remoteAddress()->ip()->addressAsString()` of the stream: the client
 *   IP without port, after the listener's X-Forwarded-For handling (the peer, or an XFF entry
 *   when hops are trusted: explain/client-address.ts decides `clientIp` from those).
 * - QueryParameterHashMethod: `QueryParamsMulti::parseQueryString(path)`: text after the first
 *   '?', split on '&', name/value split at the first '=', no '=' → value "", nothing
 *   percent-decoded; the first value of the named parameter is hashed (utility.cc).
 *
 * grpc-js-xds 1.14.1 (build/src/resolver-xds.js, route-action.js getHash):
 * - keeps only `header` policies (and filter_state io.grpc.channel_id); cookie, source-ip and
 *   query policies are dropped;
 * - a header name ending in "-bin" yields nothing; `content-type` always hashes
 *   "application/grpc"; several values are joined with "," in arrival order, no sorting;
 * - folding and terminal handling as Envoy; no hash → XXH64 of `Math.random()` (random host).
 */
import type { AffinityKey } from '../model/types';
import { canonicalIp, envoyAddress, splitHostPort } from './address';
import { compareBytes, foldHash, hex64, xxh64 } from './hash';

export type Flavour = 'envoy' | 'grpc';

export interface AffinityRequest {
  /** Header name → value, or several values for a header sent several times. Names match case-insensitively. */
  headers?: Record<string, string | string[]>;
  /**
   * Cookie name → value as sent (surrounding double quotes are removed, as Envoy does). When
   * absent, the `cookie` header(s) are parsed the way Envoy parses them.
   */
  cookies?: Record<string, string>;
  /** The client IP Envoy attributes the request to (after XFF handling); a port is ignored. */
  clientIp?: string;
  /** Query parameter → raw value (Envoy does not percent-decode). Takes precedence over `path`. */
  query?: Record<string, string>;
  /** The request path with its query string, parsed like Envoy when `query` is absent. */
  path?: string;
  /**
   * The downstream connection, "ip:port" each: the client's socket address and the listener
   * address it connected to. Only needed to predict a cookie Envoy generates.
   */
  connection?: { remote: string; local: string };
}

export interface GeneratedCookie {
  name: string;
  value: string;
  /** The Set-Cookie header value Envoy sends with the response. */
  setCookie: string;
}

export type HashStepOutcome =
  | 'hashed' // the key had a value; its hash was folded in
  | 'generated' // Envoy generates the cookie; its value was hashed
  | 'absent' // no value: nothing folded in
  | 'ignored' // the client kind drops this key (gRPC: non-header keys; their terminal flag too)
  | 'skipped' // not evaluated: an earlier terminal key already produced the hash
  | 'unpredictable'; // Envoy would hash something the input does not determine

export interface HashStep {
  /** `header:<name>`, `cookie:<name>`, `clientIp` or `query:<name>`. */
  key: string;
  outcome: HashStepOutcome;
  /** The exact text hashed (several header values: sorted and ", "-joined for display; the note says how they are hashed). */
  input?: string;
  hash?: bigint;
  /** The request hash after this step. */
  combined?: bigint;
  note?: string;
}

export interface RequestHashResult {
  /** Absent: no key yielded a value, and the balancer picks at random (or see `unpredictable`). */
  hash?: bigint;
  /** The keys whose values went into the hash, in order. */
  usedKeys: string[];
  generatedCookie?: GeneratedCookie;
  steps: HashStep[];
  /** Why Envoy's hash cannot be predicted from this input (it would not be random). */
  unpredictable?: string;
}

/** The label of a key in `usedKeys` and steps. */
export function keyLabel(key: AffinityKey): string {
  switch (key.kind) {
    case 'header':
      return `header:${key.name.toLowerCase()}`;
    case 'cookie':
      return `cookie:${key.name}`;
    case 'clientIp':
      return 'clientIp';
    case 'queryParameter':
      return `query:${key.name}`;
  }
}

/**
 * The hash Envoy (`flavour: 'envoy'`) or grpc-js-xds (`'grpc'`) computes for `request` with the
 * hash policies of `keys`. Needs {@link initHashing} first.
 */
export function requestHash(keys: readonly AffinityKey[], request: AffinityRequest, flavour: Flavour): RequestHashResult {
  const steps: HashStep[] = [];
  const usedKeys: string[] = [];
  let hash: bigint | undefined;
  let generatedCookie: GeneratedCookie | undefined;
  let unpredictable: string | undefined;

  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const label = keyLabel(key);
    if (unpredictable !== undefined) {
      steps.push({ key: label, outcome: 'skipped', note: 'the hash is already unpredictable' });
      continue;
    }
    const value = evaluate(key, request, flavour);
    if (value.outcome === 'unpredictable') {
      unpredictable = value.note;
      steps.push({ key: label, ...value });
      continue;
    }
    if (value.input !== undefined) {
      const h = value.hash ?? xxh64(value.input);
      hash = foldHash(hash, h);
      usedKeys.push(label);
      if (value.cookie) generatedCookie = value.cookie;
      steps.push({ key: label, outcome: value.outcome, input: value.input, hash: h, combined: hash, ...noteOf(value.note) });
    } else {
      steps.push({ key: label, outcome: value.outcome, ...noteOf(value.note) });
    }
    if (key.terminal && hash !== undefined && value.outcome !== 'ignored') {
      for (const rest of keys.slice(i + 1)) steps.push({ key: keyLabel(rest), outcome: 'skipped', note: `after terminal ${label}` });
      break;
    }
  }
  const result: RequestHashResult = { usedKeys, steps };
  if (unpredictable !== undefined) result.unpredictable = unpredictable;
  else if (hash !== undefined) result.hash = hash;
  if (generatedCookie) result.generatedCookie = generatedCookie;
  return result;
}

function noteOf(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}

interface KeyValue {
  outcome: HashStepOutcome;
  input?: string;
  /** The key's hash when it is not XXH64(input) (several header values). */
  hash?: bigint;
  cookie?: GeneratedCookie;
  note?: string;
}

function evaluate(key: AffinityKey, request: AffinityRequest, flavour: Flavour): KeyValue {
  if (flavour === 'grpc') {
    if (key.kind !== 'header') return { outcome: 'ignored', note: 'grpc-js-xds evaluates header keys only' };
    return grpcHeader(key.name, request);
  }
  switch (key.kind) {
    case 'header': {
      const values = headerValues(request, key.name);
      if (values.length === 0) return { outcome: 'absent' };
      if (values.length === 1) return { outcome: 'hashed', input: values[0]! };
      const sorted = [...values].sort(compareBytes);
      let hash = 0n;
      for (const v of sorted) hash = xxh64(v, hash);
      return {
        outcome: 'hashed',
        input: sorted.join(', '),
        hash,
        note: `${sorted.length} values: sorted, then each hashed with the previous value's hash as seed`,
      };
    }
    case 'cookie':
      return envoyCookie(key, request);
    case 'clientIp': {
      if (request.clientIp === undefined || request.clientIp === '') return { outcome: 'absent' };
      const parsed = splitHostPort(request.clientIp);
      if (!parsed) return { outcome: 'absent', note: `"${request.clientIp}" is not an IP address: Envoy hashes nothing` };
      return { outcome: 'hashed', input: canonicalIp(parsed.ip) };
    }
    case 'queryParameter': {
      const value = queryValue(request, key.name);
      return value === undefined ? { outcome: 'absent' } : { outcome: 'hashed', input: value };
    }
  }
}

function grpcHeader(name: string, request: AffinityRequest): KeyValue {
  const lower = name.toLowerCase();
  // Still a policy in grpc-js-xds's list (so its terminal flag counts), it just never yields.
  if (lower.endsWith('-bin')) return { outcome: 'absent', note: 'grpc-js-xds does not hash binary ("-bin") headers' };
  if (lower === 'content-type') return { outcome: 'hashed', input: 'application/grpc', note: 'grpc-js-xds always hashes "application/grpc"' };
  const values = headerValues(request, lower);
  if (values.length === 0) return { outcome: 'absent' };
  return { outcome: 'hashed', input: values.join(',') };
}

function headerValues(request: AffinityRequest, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of Object.entries(request.headers ?? {})) {
    if (k.toLowerCase() !== lower) continue;
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function envoyCookie(key: Extract<AffinityKey, { kind: 'cookie' }>, request: AffinityRequest): KeyValue {
  const present = cookieValue(request, key.name);
  if (present !== undefined && present !== '') return { outcome: 'hashed', input: present };
  if (key.ttlMs === undefined) return { outcome: 'absent', note: 'no ttl: Envoy does not generate the cookie' };
  const connection = request.connection && parseConnection(request.connection);
  if (!connection) {
    return {
      outcome: 'unpredictable',
      note: 'Envoy generates this cookie from the connection’s client and listener addresses; pass request.connection to predict it',
    };
  }
  const value = hex64(xxh64(connection.remote + connection.local));
  const maxAge = Math.floor(Math.trunc(key.ttlMs) / 1000);
  let setCookie = `${key.name}="${value}"`;
  if (maxAge !== 0) setCookie += `; Max-Age=${maxAge}`;
  if (key.path) setCookie += `; Path=${key.path}`;
  setCookie += '; HttpOnly';
  return {
    outcome: 'generated',
    input: value,
    cookie: { name: key.name, value, setCookie },
    note: `Envoy sets ${key.name}=${value}; later requests carrying it hash the same value`,
  };
}

function parseConnection(connection: { remote: string; local: string }): { remote: string; local: string } | undefined {
  const remote = splitHostPort(connection.remote);
  const local = splitHostPort(connection.local);
  if (remote?.port === undefined || local?.port === undefined) return undefined;
  return { remote: envoyAddress(remote.ip, remote.port), local: envoyAddress(local.ip, local.port) };
}

/** The cookie value Envoy's parser returns for `name` (quotes removed), or undefined. */
export function cookieValue(request: AffinityRequest, name: string): string | undefined {
  if (request.cookies) {
    const raw = request.cookies[name];
    return raw === undefined ? undefined : unquote(raw);
  }
  for (const header of headerValues(request, 'cookie')) {
    for (const piece of header.split(';')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      if (eq < 0) continue;
      const start = piece.search(/[^ ]/);
      const k = start < 0 || start > eq ? '' : piece.slice(start, eq);
      if (k === name) return unquote(piece.slice(eq + 1));
    }
  }
  return undefined;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** The first raw value of query parameter `name`, as Envoy finds it. */
export function queryValue(request: AffinityRequest, name: string): string | undefined {
  if (request.query) return Object.prototype.hasOwnProperty.call(request.query, name) ? request.query[name] : undefined;
  const path = request.path;
  if (path === undefined) return undefined;
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const param of path.slice(q + 1).split('&')) {
    const eq = param.indexOf('=');
    const k = eq < 0 ? param : param.slice(0, eq);
    if (k === name) return eq < 0 ? '' : param.slice(eq + 1);
  }
  return undefined;
}
