/**
 * Issue 5's config: a service's `affinity.sessionKey` (the ext_proc server's policy, validated
 * by src/extproc/policy.ts) and the top-level `extProc` — accepted forms, defaults in the
 * model, and every error with its full path.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configOf, errorsOf, expectOnlyError, sticky, type Loose } from './helpers';
import { policyPathSegments } from '../../src/config/ext-proc-schema';
import { setSecretFileRules } from '../../src/extproc';

const withKey = (sessionKey: unknown, patch: (c: ReturnType<typeof sticky>) => void = () => {}) =>
  sticky((c) => {
    c.services[0]!.affinity = { sessionKey };
    patch(c);
  });

describe('affinity.sessionKey', () => {
  it('fills header names and failure mode; keys may be left out; extProc gets its defaults', () => {
    const config = configOf(withKey({ sources: [{ header: 'x-session-id' }, { jsonBody: { path: 'user' } }] }));
    expect(config.services[0]!.affinity).toStrictEqual({
      keys: [],
      sessionKey: {
        sources: [{ header: 'x-session-id' }, { jsonBody: { path: 'user' } }],
        targetHeader: 'x-tether-session',
        bucketHeader: 'x-tether-bucket',
        failureMode: 'open',
      },
    });
    expect(config.extProc).toStrictEqual({ cluster: 'tether-extproc', failureModeAllow: true, messageTimeoutMs: 200 });
    // A sticky service: its backends get a hashing balancer by default.
    expect(config.backends[0]!.balancer.type).toBe('ring_hash');
  });

  it('keeps what is written (bucketHeader false, mintCookie, failureMode closed, jwt verify)', () => {
    const key = {
      sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecret: 'a-secret-of-16-chars-or-more' } } }],
      targetHeader: 'x-user-key',
      bucketHeader: false,
      mintCookie: { name: 'sid', ttlSeconds: 3600 },
      failureMode: 'closed',
      hashKey: true,
    };
    const spec = configOf(withKey(key, (c) => ((c.services[0]!.affinity as Loose).keys = [{ header: 'x-user' }]))).services[0]!.affinity!;
    expect(spec.sessionKey).toStrictEqual(key);
    expect(spec.keys).toEqual([{ kind: 'header', name: 'x-user', terminal: true }]);
  });

  it('a config without any sessionKey or extProc has no extProc in its model', () => {
    expect(configOf(sticky()).extProc).toBeUndefined();
  });

  it('every policy problem is reported at its full path, with the ext_proc server’s own message', () => {
    expect(
      errorsOf(
        withKey({
          sources: [{ jwtClaim: { claim: '' } }, { header: 'X-Bad' }, { bogus: 1 }, { jsonBody: { path: 'user', maxBytes: 1 } }],
          targetHeader: 'host',
          mintCookie: { name: 'a b', sameSite: 'None' },
          failureMode: 'sometimes',
          extra: 1,
        }),
      ),
    ).toEqual([
      { path: 'services[0].affinity.sessionKey.extra', message: 'unknown field' },
      { path: 'services[0].affinity.sessionKey.sources[0].jwtClaim.claim', message: 'must be a claim name or dot path such as "sub"' },
      { path: 'services[0].affinity.sessionKey.sources[1].header', message: 'must be lower case (Envoy lower-cases header names)' },
      { path: 'services[0].affinity.sessionKey.sources[2]', message: 'must have exactly one of header, cookie, query, jwtClaim, jsonBody' },
      { path: 'services[0].affinity.sessionKey.sources[3].jsonBody.maxBytes', message: 'must be an integer in [2, 16777216]' },
      { path: 'services[0].affinity.sessionKey.targetHeader', message: 'Envoy does not let ext_proc set pseudo-headers or host' },
      { path: 'services[0].affinity.sessionKey.failureMode', message: 'must be "open" or "closed"' },
      { path: 'services[0].affinity.sessionKey.mintCookie.name', message: 'must be a cookie name' },
      { path: 'services[0].affinity.sessionKey.mintCookie.sameSite', message: 'SameSite=None requires secure: true (browsers drop the cookie otherwise)' },
    ]);
    expectOnlyError(withKey('x-user'), 'services[0].affinity.sessionKey', 'a session key policy must be an object');
  });

  it('key files are checked for the directory rule only: validation reads nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-secrets-'));
    try {
      setSecretFileRules({ dir, refuse: [path.join(dir, '.tether')] });
      const jwksAt = 'services[0].affinity.sessionKey.sources[0].jwtClaim.verify.jwksFile';
      // Missing, or not even JSON: still a valid config (the ext_proc side reads it, and keeps old keys).
      expect(configOf(withKey({ sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile: 'missing.json' } } }] })).services).toHaveLength(1);
      fs.writeFileSync(path.join(dir, 'jwks.json'), '{"keys": "none"}');
      expect(configOf(withKey({ sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile: path.join(dir, 'jwks.json') } } }] })).services).toHaveLength(1);
      // Elsewhere: the same message whether the file exists (/etc/passwd) or not.
      const outside = (file: string) => errorsOf(withKey({ sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile: file } } }] }));
      expect(outside('/etc/passwd')).toEqual(outside('/etc/no-such-file-here'));
      expectOnlyError(withKey({ sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile: '../x.json' } } }] }), jwksAt, `must name a file inside the secrets directory ${dir} (set by --secrets-dir or TETHER_SECRETS_DIR)`);
      expectOnlyError(
        withKey({ sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecretFile: '.tether/admin-token' } } }] }),
        'services[0].affinity.sessionKey.sources[0].jwtClaim.verify.hmacSecretFile',
        "must not name Tether's own files (data dir, admin token)",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('affinity needs keys or a sessionKey', () => {
    expectOnlyError(
      sticky((c) => (c.services[0]!.affinity = {})),
      'services[0].affinity.keys',
      'required (at least one key), unless a sessionKey finds the key',
    );
    expectOnlyError(sticky((c) => (c.services[0]!.affinity = { keys: [] })), 'services[0].affinity.keys', 'must have at least one key');
  });

  it('header-mode stickySplit defaults to the sessionKey’s bucket header and needs the route re-match', () => {
    const twoBackends = (c: ReturnType<typeof sticky>) => {
      c.backends.push({ name: 'shop-v2', endpoints: ['10.0.1.1:8080'] });
      c.services[0]!.routes[0] = {
        backends: [
          { name: 'shop-v1', weight: 9 },
          { name: 'shop-v2', weight: 1 },
        ],
        stickySplit: { mode: 'header' },
      };
    };
    const config = configOf(withKey({ sources: [{ header: 'x-user' }], bucketHeader: 'x-canary-bucket' }, twoBackends));
    expect(config.services[0]!.routes[0]!.stickySplit).toEqual({ mode: 'header', header: 'x-canary-bucket' });

    expectOnlyError(
      withKey({ sources: [{ header: 'x-user' }], clearRouteCache: false }, twoBackends),
      'services[0].affinity.sessionKey.clearRouteCache',
      'must be true: routes[0].stickySplit picks the version from x-tether-bucket, which Envoy sees only after a route re-match',
    );
    expectOnlyError(
      withKey({ sources: [{ header: 'x-user' }], bucketHeader: false }, twoBackends),
      'services[0].routes[0].stickySplit',
      "needs a header: the service's sessionKey sets no bucket header (bucketHeader: false)",
    );
    expectOnlyError(
      withKey({ sources: [{ header: 'x-user' }], clearRouteCache: false }, (c) =>
        c.services[0]!.routes.unshift({ match: { headers: { 'x-tether-bucket': { range: { start: 0, end: 1000 } } } }, backends: [{ name: 'shop-v1' }] }),
      ),
      'services[0].affinity.sessionKey.clearRouteCache',
      'must be true: routes[0] matches on x-tether-bucket, which Envoy sees only after a route re-match',
    );
  });
});

describe('extProc', () => {
  it('fills defaults and parses the address', () => {
    const config = configOf(sticky((c) => ((c as unknown as Loose).extProc = { address: 'extproc.internal:9002', failureModeAllow: false, messageTimeout: '150ms' })));
    expect(config.extProc).toStrictEqual({
      cluster: 'tether-extproc',
      address: { host: 'extproc.internal', port: 9002 },
      failureModeAllow: false,
      messageTimeoutMs: 150,
    });
  });

  it('reports each field’s problem at its path', () => {
    expect(
      errorsOf(sticky((c) => ((c as unknown as Loose).extProc = { cluster: 'Bad_Name', address: 'nowhere', failureModeAllow: 'yes', messageTimeout: '0s', timeout: 1 }))),
    ).toEqual([
      { path: 'extProc.cluster', message: "must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit" },
      { path: 'extProc.address', message: 'missing port (e.g. nowhere:8080)' },
      { path: 'extProc.failureModeAllow', message: 'must be true or false' },
      { path: 'extProc.messageTimeout', message: 'must be greater than 0' },
      { path: 'extProc', message: "unknown field 'timeout'" },
    ]);
    expectOnlyError(sticky((c) => ((c as unknown as Loose).extProc = { messageTimeout: '2h' })), 'extProc.messageTimeout', 'must be at most 1h (Envoy refuses more)');
  });

  it('the ext_proc cluster must not share a backend’s name', () => {
    expectOnlyError(
      withKey({ sources: [{ header: 'x-user' }] }, (c) => {
        c.backends.push({ name: 'tether-extproc', endpoints: ['10.0.9.9:18002'] });
      }),
      'extProc',
      "cluster 'tether-extproc' is also a backend's name; name the ext_proc cluster or the backend differently",
    );
    expectOnlyError(
      sticky((c) => ((c as unknown as Loose).extProc = { cluster: 'shop-v1' })),
      'extProc.cluster',
      "cluster 'shop-v1' is also a backend's name; name the ext_proc cluster or the backend differently",
    );
  });
});

describe('policyPathSegments', () => {
  it('turns the policy checker’s paths into segments formatPath prints back', () => {
    expect(policyPathSegments('sources[0].jwtClaim.verify.algorithms[12]')).toEqual(['sources', 0, 'jwtClaim', 'verify', 'algorithms', 12]);
    expect(policyPathSegments('mintCookie')).toEqual(['mintCookie']);
    expect(policyPathSegments('')).toEqual([]);
  });
});
