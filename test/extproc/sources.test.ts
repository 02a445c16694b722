import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setSecretFileRules, type PolicyLookupInfo, type SessionKeyPolicy } from '../../src/extproc';
import {
  commonOf,
  expectedBucket,
  requestHeaders,
  setHeaders,
  signEs256,
  signHs,
  signRs256,
  startHarness,
  unsigned,
  type Harness,
} from './helpers';

const SECRET = 'a-shared-secret-of-some-length';
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const now = Math.floor(Date.now() / 1000);

let tmp: string;
let jwksFile: string;
let h: Harness;
const lookups: PolicyLookupInfo[] = [];

const policies: Record<string, SessionKeyPolicy> = {
  header: { sources: [{ header: 'x-user' }] },
  cookie: { sources: [{ cookie: 'sid' }] },
  query: { sources: [{ query: 'user' }] },
  ordered: { sources: [{ header: 'x-user' }, { cookie: 'sid' }, { query: 'user' }] },
  jwt: { sources: [{ jwtClaim: { claim: 'sub' } }] },
  jwtNested: { sources: [{ jwtClaim: { claim: 'org.id', cookie: 'token' } }] },
  hs: { sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecret: SECRET } } }, { header: 'x-user' }] },
  hsClosed: { sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecret: SECRET, requireExp: true } } }], failureMode: 'closed' },
  rsPem: { sources: [{ jwtClaim: { claim: 'sub', verify: { publicKeyPem: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string } } }] },
  jwtThenHeader: { sources: [{ jwtClaim: { claim: 'sub' } }, { header: 'x-user' }] },
  noBucket: { sources: [{ header: 'x-user' }], bucketHeader: false },
  noClear: { sources: [{ header: 'x-user' }], clearRouteCache: false, targetHeader: 'x-hash-me' },
  hashed: { sources: [{ header: 'x-api-key' }], hashKey: true },
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-extproc-'));
  setSecretFileRules({ dir: tmp });
  jwksFile = path.join(tmp, 'jwks.json');
  const jwk = (key: crypto.KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' });
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk(otherRsa.publicKey, 'old'), jwk(rsa.publicKey, 'k1'), jwk(ec.publicKey, 'ec1')] }));
  policies.jwks = { sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile } } }] };
  const secretFile = path.join(tmp, 'hmac-secret');
  fs.writeFileSync(secretFile, `${SECRET}\n`);
  policies.hsFile = { sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecretFile: secretFile } } }] };
  policies.jwksRsOnly = { sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile, algorithms: ['RS256'] } } }] };
  const map = new Map(Object.entries(policies));
  map.set('shop.example.com', { sources: [{ header: 'x-by-authority' }] });
  h = await startHarness({ services: map });
});

afterAll(async () => {
  await h?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** One HTTP request without a body through the given service's policy. */
async function decide(service: string, headers: Record<string, string | string[]>, opts: Parameters<typeof requestHeaders>[1] = {}) {
  const stream = h.open({ 'x-tether-service': service });
  const response = await stream.send(requestHeaders(headers, opts));
  const status = await stream.end();
  expect(status.code).toBe(0);
  return response;
}

describe('header, cookie and query sources', () => {
  test('a header key sets the target and bucket headers, overwriting, and clears the route cache', async () => {
    const response = await decide('header', { 'x-user': 'alice' });
    expect(response.response).toBe('request_headers');
    const common = commonOf(response)!;
    expect(common.header_mutation!.set_headers!.map((o) => o.append_action)).toEqual(['OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS_OR_ADD']);
    expect(setHeaders(response)).toEqual({ 'x-tether-session': 'alice', 'x-tether-bucket': String(expectedBucket('alice')) });
    expect(common.clear_route_cache).toBe(true);
    expect(response.mode_override).toBeUndefined();
  });

  test('answers in `value` when Envoy sends `value` (send_header_raw_value off)', async () => {
    const response = await decide('header', { 'x-user': 'alice' }, { encoding: 'value' });
    const header = commonOf(response)!.header_mutation!.set_headers![0]!.header!;
    expect(header.value).toBe('alice');
    expect(header.raw_value ?? Buffer.alloc(0)).toHaveLength(0);
  });

  test('a cookie key, also when HTTP/2 split the cookie header', async () => {
    expect(setHeaders(await decide('cookie', { cookie: 'a=1; sid=abc123; b=2' }))['x-tether-session']).toBe('abc123');
    expect(setHeaders(await decide('cookie', { cookie: ['a=1', 'sid="q-9"'] }))['x-tether-session']).toBe('q-9');
    expect(setHeaders(await decide('cookie', { cookie: 'sidx=1; xsid=2' }))).toEqual({});
  });

  test('a query parameter key from :path, percent-decoded', async () => {
    const response = await decide('query', { ':path': '/v1/chat?x=1&user=carol%40example.com&user=other#frag' });
    expect(setHeaders(response)['x-tether-session']).toBe('carol@example.com');
    expect(setHeaders(await decide('query', { ':path': '/v1/chat?username=x' }))).toEqual({});
  });

  test('sources are tried in order; the first that yields a key decides', async () => {
    const all = { 'x-user': 'from-header', cookie: 'sid=from-cookie', ':path': '/?user=from-query' };
    expect(setHeaders(await decide('ordered', all))['x-tether-session']).toBe('from-header');
    expect(setHeaders(await decide('ordered', { cookie: 'sid=from-cookie', ':path': '/?user=from-query' }))['x-tether-session']).toBe('from-cookie');
    expect(setHeaders(await decide('ordered', { ':path': '/?user=from-query' }))['x-tether-session']).toBe('from-query');
    // An empty value is no key.
    expect(setHeaders(await decide('ordered', { 'x-user': '', cookie: 'sid=from-cookie' }))['x-tether-session']).toBe('from-cookie');
    const jwt = unsigned({ sub: 'from-jwt' });
    expect(setHeaders(await decide('jwtThenHeader', { authorization: `Bearer ${jwt}`, 'x-user': 'from-header' }))['x-tether-session']).toBe('from-jwt');
  });

  test('bucket header off: no bucket and no route cache clearing; explicit clearRouteCache false', async () => {
    const off = await decide('noBucket', { 'x-user': 'alice' });
    expect(setHeaders(off)).toEqual({ 'x-tether-session': 'alice' });
    expect(commonOf(off)!.clear_route_cache ?? false).toBe(false);
    const noClear = await decide('noClear', { 'x-user': 'bob' });
    expect(setHeaders(noClear)).toEqual({ 'x-hash-me': 'bob', 'x-tether-bucket': String(expectedBucket('bob')) });
    expect(commonOf(noClear)!.clear_route_cache ?? false).toBe(false);
  });

  test('hashKey puts sha256(key) in the header instead of the key', async () => {
    const response = await decide('hashed', { 'x-api-key': 'sk-live-123' });
    const digest = crypto.createHash('sha256').update('sk-live-123').digest('base64url');
    expect(setHeaders(response)).toEqual({ 'x-tether-session': digest, 'x-tether-bucket': String(expectedBucket(digest)) });
  });

  test('without a key, client-sent target and bucket headers are removed (nobody picks their own bucket)', async () => {
    const response = await decide('header', { 'x-tether-session': 'spoofed', 'x-tether-bucket': '42' });
    const common = commonOf(response)!;
    expect(common.header_mutation!.remove_headers).toEqual(['x-tether-session', 'x-tether-bucket']);
    expect(common.header_mutation!.set_headers ?? []).toEqual([]);
    expect(common.clear_route_cache).toBe(true);
    // Nothing to remove: no mutation at all, and no route re-match.
    const plain = await decide('header', {});
    expect(commonOf(plain)?.header_mutation ?? null).toBeNull();
    expect(commonOf(plain)?.clear_route_cache ?? false).toBe(false);
  });
});

describe('policy selection', () => {
  test('x-tether-service metadata first, then :authority with and without port; else no mutation', async () => {
    const byAuthority = async (authority: string) => {
      const stream = h.open();
      const response = await stream.send(requestHeaders({ ':authority': authority, 'x-by-authority': 'k', 'x-user': 'u' }));
      await stream.end();
      return setHeaders(response)['x-tether-session'];
    };
    expect(await byAuthority('shop.example.com')).toBe('k');
    expect(await byAuthority('shop.example.com:8080')).toBe('k');
    expect(await byAuthority('header')).toBe('u');
    const unknown = h.open({ 'x-tether-service': 'nope' });
    const response = await unknown.send(requestHeaders({ ':authority': 'elsewhere.example.com', 'x-user': 'u' }));
    expect(response.response).toBe('request_headers');
    expect(commonOf(response)).toBeNull();
    await unknown.end();
  });

  test('a lookup function sees the service, authority, path and route-name attribute', async () => {
    const fn = await startHarness({
      services: (info) => {
        lookups.push(info);
        return info.routeName === 'chat' ? { sources: [{ header: 'x-user' }] } : undefined;
      },
    });
    try {
      const stream = fn.open({ 'x-tether-service': 'svc' });
      const response = await stream.send(requestHeaders({ ':path': '/chat', 'x-user': 'dana' }, { attributes: { 'xds.route_name': 'chat' } }));
      expect(setHeaders(response)['x-tether-session']).toBe('dana');
      await stream.end();
      expect(lookups[0]).toMatchObject({ service: 'svc', authority: 'shop.example.com', path: '/chat', routeName: 'chat' });
    } finally {
      await fn.close();
    }
  });
});

describe('JWT claim source', () => {
  test('unsigned decode: Bearer token in authorization; nested claim from a cookie', async () => {
    expect(setHeaders(await decide('jwt', { authorization: `Bearer ${unsigned({ sub: 'u-1' })}` }))['x-tether-session']).toBe('u-1');
    expect(setHeaders(await decide('jwt', { authorization: `bearer   ${unsigned({ sub: 42 })}` }))['x-tether-session']).toBe('42');
    expect(setHeaders(await decide('jwtNested', { cookie: `token=${unsigned({ org: { id: 'org-7' } })}` }))['x-tether-session']).toBe('org-7');
    // Other schemes carry no JWT; a claim that is an object is no key.
    expect(setHeaders(await decide('jwt', { authorization: 'Basic dXNlcjpwYXNz' }))).toEqual({});
    expect(setHeaders(await decide('jwt', { authorization: `Bearer ${unsigned({ sub: { a: 1 } })}` }))).toEqual({});
  });

  test('HS256: a valid signature yields the claim; a bad one is skipped (fail-open) and the next source decides', async () => {
    expect(setHeaders(await decide('hs', { authorization: `Bearer ${signHs({ sub: 'hs-user' }, SECRET)}` }))['x-tether-session']).toBe('hs-user');
    expect(setHeaders(await decide('hs', { authorization: `Bearer ${signHs({ sub: 'hs-user' }, SECRET, 'HS512')}` }))['x-tether-session']).toBe('hs-user');
    const forged = signHs({ sub: 'mallory' }, 'not-the-shared-secret!!');
    expect(setHeaders(await decide('hs', { authorization: `Bearer ${forged}`, 'x-user': 'fallback' }))['x-tether-session']).toBe('fallback');
    // alg none is never accepted when verifying.
    expect(setHeaders(await decide('hs', { authorization: `Bearer ${unsigned({ sub: 'mallory' })}` }))).toEqual({});
    // A tampered payload under a valid signature.
    const [head, , sig] = signHs({ sub: 'alice' }, SECRET).split('.');
    const tampered = `${head}.${Buffer.from(JSON.stringify({ sub: 'mallory' })).toString('base64url')}.${sig}`;
    expect(setHeaders(await decide('hs', { authorization: `Bearer ${tampered}` }))).toEqual({});
  });

  test('HS256 with the secret in a file (hmacSecretFile): same checks, the secret never in the policy', async () => {
    expect(JSON.stringify(policies.hsFile)).not.toContain(SECRET);
    expect(setHeaders(await decide('hsFile', { authorization: `Bearer ${signHs({ sub: 'file-user' }, SECRET)}` }))['x-tether-session']).toBe('file-user');
    expect(setHeaders(await decide('hsFile', { authorization: `Bearer ${signHs({ sub: 'mallory' }, 'not-the-shared-secret!!')}` }))).toEqual({});
  });

  test('fail-closed: bad signature, expired or missing exp → immediate 401; a valid token passes', async () => {
    const ok = await decide('hsClosed', { authorization: `Bearer ${signHs({ sub: 'ok', exp: now + 600 }, SECRET)}` });
    expect(setHeaders(ok)['x-tether-session']).toBe('ok');
    for (const [token, reason] of [
      [signHs({ sub: 'x', exp: now + 600 }, 'not-the-shared-secret!!'), 'jwt_signature'],
      [signHs({ sub: 'x', exp: now - 10 }, SECRET), 'jwt_expired'],
      [signHs({ sub: 'x' }, SECRET), 'jwt_missing_exp'],
      [signHs({ sub: 'x', exp: now + 600, nbf: now + 300 }, SECRET), 'jwt_not_yet_valid'],
      ['not-a-jwt', 'jwt_malformed'],
    ] as const) {
      const response = await decide('hsClosed', { authorization: `Bearer ${token}` });
      expect(response.response).toBe('immediate_response');
      expect(response.immediate_response!.status!.code).toBe('Unauthorized');
      expect(response.immediate_response!.details).toBe(`tether_session_key_${reason}`);
      expect(Buffer.from(response.immediate_response!.body!).toString()).toMatch(/invalid session token/);
    }
    // No token at all is no key, not a rejection.
    expect(setHeaders(await decide('hsClosed', {}))).toEqual({});
  });

  test('expired tokens are no key even without verification', async () => {
    expect(setHeaders(await decide('jwt', { authorization: `Bearer ${unsigned({ sub: 'late', exp: now - 1 })}` }))).toEqual({});
    expect(setHeaders(await decide('jwt', { authorization: `Bearer ${unsigned({ sub: 'on-time', exp: now + 60 })}` }))['x-tether-session']).toBe('on-time');
  });

  test('RS256 with a PEM public key', async () => {
    expect(setHeaders(await decide('rsPem', { authorization: `Bearer ${signRs256({ sub: 'rs-user' }, rsa.privateKey)}` }))['x-tether-session']).toBe('rs-user');
    expect(setHeaders(await decide('rsPem', { authorization: `Bearer ${signRs256({ sub: 'rs-user' }, otherRsa.privateKey)}` }))).toEqual({});
    // alg confusion: an HS256 token "signed" with the public key PEM as secret.
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(setHeaders(await decide('rsPem', { authorization: `Bearer ${signHs({ sub: 'mallory' }, pem)}` }))).toEqual({});
  });

  test('RS256 and ES256 with a JWKS file, keys picked by kid', async () => {
    expect(setHeaders(await decide('jwks', { authorization: `Bearer ${signRs256({ sub: 'k1-user' }, rsa.privateKey, 'k1')}` }))['x-tether-session']).toBe('k1-user');
    expect(setHeaders(await decide('jwks', { authorization: `Bearer ${signRs256({ sub: 'old-user' }, otherRsa.privateKey, 'old')}` }))['x-tether-session']).toBe('old-user');
    // Without kid every key is tried.
    expect(setHeaders(await decide('jwks', { authorization: `Bearer ${signRs256({ sub: 'no-kid' }, rsa.privateKey)}` }))['x-tether-session']).toBe('no-kid');
    // Right key, wrong kid.
    expect(setHeaders(await decide('jwks', { authorization: `Bearer ${signRs256({ sub: 'x' }, rsa.privateKey, 'old')}` }))).toEqual({});
    expect(setHeaders(await decide('jwks', { authorization: `Bearer ${signEs256({ sub: 'ec-user' }, ec.privateKey, 'ec1')}` }))['x-tether-session']).toBe('ec-user');
    // algorithms: ['RS256'] refuses ES256 even with a matching key.
    expect(setHeaders(await decide('jwksRsOnly', { authorization: `Bearer ${signEs256({ sub: 'ec-user' }, ec.privateKey, 'ec1')}` }))).toEqual({});
  });
});
