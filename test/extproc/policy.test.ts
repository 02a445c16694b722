import * as crypto from 'node:crypto';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { bucketOf, compilePolicy, createExtProcService, headerValueFor, PolicyError, setSecretFileRules, validatePolicy } from '../../src/extproc';
import { keyAtPath, parseDotPath } from '../../src/extproc/json-path';
import { expectedBucket } from './helpers';

describe('policy validation', () => {
  test('a valid policy compiles with defaults filled in', () => {
    const policy = compilePolicy({ sources: [{ header: 'x-user' }, { jsonBody: { path: 'user' } }], mintCookie: { name: 'sid', ttlSeconds: 60 } });
    expect(policy.targetHeader).toBe('x-tether-session');
    expect(policy.bucketHeader).toBe('x-tether-bucket');
    expect(policy.clearRouteCache).toBe(true);
    expect(policy.failClosed).toBe(false);
    expect(policy.maxBodyBytes).toBe(64 * 1024);
    expect(policy.mint).toEqual({ name: 'sid', attributes: '; Path=/; Max-Age=60; HttpOnly' });
    // The minted cookie is tried after the listed sources.
    expect(policy.sources.map((s) => s.label)).toEqual(['header:x-user', 'json:user', 'cookie:sid']);
    expect(compilePolicy({ sources: [{ header: 'x-user' }], bucketHeader: false }).clearRouteCache).toBe(false);
  });

  test('every problem is reported at once, with its path', () => {
    setSecretFileRules({ dir: '/var/lib/tether-secrets' });
    const issues = validatePolicy({
      sources: [
        { header: 'X-User' },
        { header: 'x-a', cookie: 'b' },
        { jsonBody: { path: 'a..b', maxBytes: 0 } },
        { jwtClaim: { claim: '', verify: { hmacSecret: 'short', algorithms: ['none', 'RS256'] } } },
        { jwtClaim: { claim: 'sub', verify: { publicKeyPem: 'not a pem' } } },
        { jwtClaim: { claim: 'sub', verify: { jwksFile: '/nonexistent/jwks.json' } } },
        { jwtClaim: { claim: 'sub', verify: {} } },
        { grpc: 'x' },
        { jwtClaim: { claim: 'sub', verify: { hmacSecretFile: '/nonexistent/secret' } } },
        { jwtClaim: { claim: 'sub', verify: { hmacSecret: 'a-long-enough-secret', hmacSecretFile: '/x' } } },
      ],
      targetHeader: 'x-envoy-hash',
      bucketHeader: 'host',
      mintCookie: { name: 'bad name', sameSite: 'None', path: 'relative' },
      failureMode: 'maybe',
      extra: 1,
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'extra',
        'sources[0].header',
        'sources[1]',
        'sources[2].jsonBody.path',
        'sources[2].jsonBody.maxBytes',
        'sources[3].jwtClaim.claim',
        'sources[3].jwtClaim.verify.hmacSecret',
        'sources[3].jwtClaim.verify.algorithms[0]',
        'sources[3].jwtClaim.verify.algorithms[1]',
        'sources[4].jwtClaim.verify.publicKeyPem',
        'sources[5].jwtClaim.verify.jwksFile',
        'sources[6].jwtClaim.verify',
        'sources[7]',
        'sources[8].jwtClaim.verify.hmacSecretFile',
        'sources[9].jwtClaim.verify.hmacSecretFile',
        'targetHeader',
        'bucketHeader',
        'mintCookie.name',
        'mintCookie.sameSite',
        'mintCookie.path',
        'failureMode',
      ]),
    );
    // Outside the secrets directory: refused without looking at the disk.
    expect(issues.find((i) => i.path === 'sources[5].jwtClaim.verify.jwksFile')!.message).toMatch(/must name a file inside the secrets directory \/var\/lib\/tether-secrets/);
    expect(validatePolicy({ sources: [] })).toEqual([{ path: 'sources', message: 'must list at least one source (or set mintCookie)' }]);
    expect(validatePolicy(null)).toHaveLength(1);
  });

  test('compilePolicy throws a PolicyError; a Map of services is checked up front with service-prefixed paths', () => {
    expect(() => compilePolicy({ sources: [{ query: '' }] })).toThrow(PolicyError);
    try {
      createExtProcService({ services: new Map([['shop', { sources: [{ cookie: 'a b' }] }]]), logger: pino({ level: 'silent' }) });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).issues).toEqual([{ path: 'services["shop"].sources[0].cookie', message: 'must be a cookie name' }]);
    }
  });
});

describe('dot paths', () => {
  test('parse and look up', () => {
    expect(parseDotPath('metadata.conversation_id')).toEqual(['metadata', 'conversation_id']);
    expect(parseDotPath('messages[0].content')).toEqual(['messages', 0, 'content']);
    expect(parseDotPath('a.0.b[1][2]')).toEqual(['a', 0, 'b', 1, 2]);
    for (const bad of ['', '.', 'a.', 'a[x]', 'a]', 'a[0', '[0]']) expect(parseDotPath(bad)).toBeUndefined();
    const doc = { a: [{ b: 'x' }, { b: 7 }], o: { n: null, t: true, e: '' } };
    expect(keyAtPath(doc, ['a', 0, 'b'])).toBe('x');
    expect(keyAtPath(doc, ['a', 1, 'b'])).toBe('7');
    expect(keyAtPath(doc, ['a', 2, 'b'])).toBeUndefined();
    expect(keyAtPath(doc, ['a', 'length'])).toBeUndefined();
    expect(keyAtPath(doc, ['o', 'n'])).toBeUndefined();
    expect(keyAtPath(doc, ['o', 't'])).toBeUndefined();
    expect(keyAtPath(doc, ['o', 'e'])).toBeUndefined();
    expect(keyAtPath(doc, ['o', 'toString'])).toBeUndefined();
  });
});

describe('bucket and header value', () => {
  test('bucket = first 8 bytes of sha256 (big-endian) mod 10000, matching a BigInt computation', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const key = crypto.randomBytes(1 + (i % 40)).toString('base64url');
      const { bucket, fingerprint } = bucketOf(key);
      expect(bucket).toBe(expectedBucket(key));
      expect(fingerprint).toBe(crypto.createHash('sha256').update(key).digest('hex').slice(0, 8));
      seen.add(Math.floor(bucket / 1000));
    }
    expect(seen.size).toBe(10);
    expect(bucketOf('alice').bucket).toBe(expectedBucket('alice'));
  });

  test('safe keys go into the header as they are; unsafe or long ones are hashed', () => {
    expect(headerValueFor('user-1', false)).toBe('user-1');
    expect(headerValueFor('a b', false)).toBe('a b');
    const h = (k: string) => crypto.createHash('sha256').update(k).digest('base64url');
    for (const unsafe of [' lead', 'trail ', 'tab\t', 'nl\n', 'ünï', 'x'.repeat(4097)]) expect(headerValueFor(unsafe, false)).toBe(h(unsafe));
    expect(headerValueFor('user-1', true)).toBe(h('user-1'));
  });
});
