/**
 * Issue 4's config fields: ring sizing (stable/fixed, pointsPerHost), bounded load, endpoint
 * hash keys, stickySplit, mirror and strong stickiness — accepted forms, defaults in the
 * model, and every error with its exact path and message.
 */
import { describe, expect, it } from 'vitest';
import { configOf, errorsOf, expectOnlyError, sticky } from './helpers';

const balancerOf = (balancer: Record<string, unknown>) => configOf(sticky((c) => (c.backends[0]!.balancer = balancer))).backends[0]!.balancer;

describe('ring_hash sizing', () => {
  it('stable by default (derived or explicit without sizes); sizes make it fixed', () => {
    expect(configOf(sticky()).backends[0]!.balancer).toStrictEqual({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' });
    expect(balancerOf({ type: 'ring_hash' })).toStrictEqual({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' });
    expect(balancerOf({ type: 'ring_hash', pointsPerHost: 64 })).toStrictEqual({
      type: 'ring_hash',
      minRingSize: 1024,
      maxRingSize: 8388608,
      ring: 'stable',
      pointsPerHost: 64,
    });
    expect(balancerOf({ type: 'ring_hash', minRingSize: 2048 })).toStrictEqual({ type: 'ring_hash', minRingSize: 2048, maxRingSize: 8388608, ring: 'fixed' });
    expect(balancerOf({ type: 'ring_hash', maxRingSize: 4096 })).toStrictEqual({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 4096, ring: 'fixed' });
    expect(balancerOf({ type: 'ring_hash', ring: 'fixed' })).toStrictEqual({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'fixed' });
  });

  it('sizes belong to a fixed ring, pointsPerHost to a stable one', () => {
    expect(errorsOf(sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', ring: 'stable', minRingSize: 2048, maxRingSize: 4096 })))).toEqual([
      { path: 'backends[0].balancer.minRingSize', message: 'only applies to ring: fixed (a stable ring is sized from the endpoints)' },
      { path: 'backends[0].balancer.maxRingSize', message: 'only applies to ring: fixed (a stable ring is sized from the endpoints)' },
    ]);
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', ring: 'fixed', pointsPerHost: 256 })),
      'backends[0].balancer.pointsPerHost',
      'only applies to ring: stable',
    );
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', minRingSize: 2048, pointsPerHost: 256 })),
      'backends[0].balancer.pointsPerHost',
      'only applies to ring: stable (minRingSize/maxRingSize make the ring fixed)',
    );
  });

  it('ring and pointsPerHost: values and types', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', ring: 'consistent' })),
      'backends[0].balancer.ring',
      'must be one of: stable, fixed',
    );
    expectOnlyError(sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', pointsPerHost: 0 })), 'backends[0].balancer.pointsPerHost', 'must be >= 1');
    expectOnlyError(sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', pointsPerHost: 65537 })), 'backends[0].balancer.pointsPerHost', 'must be <= 65536');
    expectOnlyError(sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', pointsPerHost: 1.5 })), 'backends[0].balancer.pointsPerHost', 'must be a whole number');
    expectOnlyError(sticky((c) => (c.backends[0]!.balancer = { type: 'maglev', ring: 'stable' })), 'backends[0].balancer.ring', 'only applies to type ring_hash');
  });
});

describe('bounded load: hashBalanceFactor', () => {
  it('ring_hash and maglev carry it', () => {
    expect(balancerOf({ type: 'ring_hash', hashBalanceFactor: 150 })).toMatchObject({ type: 'ring_hash', ring: 'stable', hashBalanceFactor: 150 });
    expect(balancerOf({ type: 'maglev', hashBalanceFactor: 100 })).toStrictEqual({ type: 'maglev', tableSize: 65537, hashBalanceFactor: 100 });
  });

  it('>= 100, a whole number, hashing balancers only', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', hashBalanceFactor: 99 })),
      'backends[0].balancer.hashBalanceFactor',
      'must be >= 100 (a percentage of the average load)',
    );
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'maglev', hashBalanceFactor: 120.5 })),
      'backends[0].balancer.hashBalanceFactor',
      'must be a whole number',
    );
    expectOnlyError(
      { backends: [{ name: 'a', endpoints: ['10.0.0.1:80'], balancer: { type: 'round_robin', hashBalanceFactor: 150 } }] },
      'backends[0].balancer.hashBalanceFactor',
      'only applies to type ring_hash or maglev',
    );
  });
});

describe('endpoint hashKey', () => {
  it('is carried into the model; absent stays absent', () => {
    const c = configOf(sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', hashKey: 'shop-0' }, '10.0.0.2:8080'])));
    expect(c.backends[0]!.endpoints).toStrictEqual([
      { host: '10.0.0.1', port: 8080, weight: 1, drain: false, hashKey: 'shop-0' },
      { host: '10.0.0.2', port: 8080, weight: 1, drain: false },
    ]);
  });

  it('not empty, unique within the backend', () => {
    expectOnlyError(sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', hashKey: '' }])), 'backends[0].endpoints[0].hashKey', 'must not be empty');
    expectOnlyError(
      sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', hashKey: 'a' }, '10.0.0.2:8080', { address: '10.0.0.3:8080', hashKey: 'a' }])),
      'backends[0].endpoints[2].hashKey',
      'duplicates endpoints[0].hashKey',
    );
  });
});

type RouteDoc = Record<string, unknown> & { backends: Array<Record<string, unknown>> };

/** shop (sticky) splitting shop-v1/shop-v2. */
function canary(patch: (route: RouteDoc, c: ReturnType<typeof sticky>) => void = () => {}) {
  return sticky((c) => {
    c.backends.push({ name: 'shop-v2', endpoints: ['10.0.1.1:8080'] });
    const route: RouteDoc = {
      name: 'main',
      stickySplit: true,
      backends: [
        { name: 'shop-v1', weight: 90 },
        { name: 'shop-v2', weight: 10 },
      ],
    };
    c.services[0]!.routes = [route];
    patch(route, c);
  });
}

describe('stickySplit', () => {
  it('true is ring mode; false or absent is none; header mode defaults to x-tether-bucket', () => {
    expect(configOf(canary()).services[0]!.routes[0]!.stickySplit).toStrictEqual({ mode: 'ring' });
    expect(configOf(canary((r) => (r.stickySplit = { mode: 'ring' }))).services[0]!.routes[0]!.stickySplit).toStrictEqual({ mode: 'ring' });
    expect('stickySplit' in configOf(canary((r) => (r.stickySplit = false))).services[0]!.routes[0]!).toBe(false);
    expect(configOf(canary((r) => (r.stickySplit = { mode: 'header' }))).services[0]!.routes[0]!.stickySplit).toStrictEqual({
      mode: 'header',
      header: 'x-tether-bucket',
    });
    expect(configOf(canary((r) => (r.stickySplit = { mode: 'header', header: 'X-Bucket' }))).services[0]!.routes[0]!.stickySplit).toStrictEqual({
      mode: 'header',
      header: 'x-bucket',
    });
  });

  it('shape errors', () => {
    expectOnlyError(canary((r) => (r.stickySplit = 'yes')), 'services[0].routes[0].stickySplit', 'must be true, false or { mode: ring | header, header? }');
    expectOnlyError(canary((r) => (r.stickySplit = { mode: 'hash' })), 'services[0].routes[0].stickySplit.mode', 'must be one of: ring, header');
    expectOnlyError(canary((r) => (r.stickySplit = { mode: 'ring', header: 'x-b' })), 'services[0].routes[0].stickySplit.header', 'only applies to mode: header');
    expectOnlyError(
      canary((r) => (r.stickySplit = { mode: 'header', header: ':path' })),
      'services[0].routes[0].stickySplit.header',
      "pseudo-header ':path' is not allowed here",
    );
  });

  it('needs the service to have affinity', () => {
    expectOnlyError(
      canary((_, c) => delete c.services[0]!.affinity),
      'services[0].routes[0].stickySplit',
      "needs the service's affinity (its keys place each user on the ring that picks the version)",
    );
  });

  it('ring mode: no per-backend headers (or host rewrite), named per backend; header mode keeps them', () => {
    const message =
      'cannot differ by backend on a stickySplit route: every version is in one cluster, so Envoy cannot tell which version a request ' +
      'reaches; move them to the route, or use stickySplit: { mode: header } (Envoy)';
    expect(
      errorsOf(
        canary((r) => {
          r.backends[0]!.headers = { response: { set: { version: 'v1' } } };
          r.backends[1]!.headers = { request: { set: { Host: 'v2.internal' } } };
        }),
      ),
    ).toEqual([
      { path: 'services[0].routes[0].backends[0].headers', message },
      { path: 'services[0].routes[0].backends[1].headers', message },
    ]);
    configOf(
      canary((r) => {
        r.stickySplit = { mode: 'header' };
        r.backends[1]!.headers = { response: { set: { version: 'v2' } } };
      }),
    );
    configOf(canary((r) => (r.headers = { response: { set: { 'x-split': 'sticky' } } })));
  });

  it('ring mode: the backends share one protocol', () => {
    expectOnlyError(
      canary((_, c) => (c.backends[1]!.protocol = 'http2')),
      'services[0].routes[0].backends[1].name',
      "'shop-v2' uses protocol http2 and 'shop-v1' http1: a stickySplit route puts every version in one cluster, with one protocol",
    );
    configOf(canary((r, c) => ((r.stickySplit = { mode: 'header' }), (c.backends[1]!.protocol = 'http2'))));
  });

  it('a one-backend stickySplit route is fine (the end of a rollout)', () => {
    configOf(canary((r) => (r.backends = [{ name: 'shop-v2', weight: 100 }])));
  });
});

describe('mirror', () => {
  it('percent defaults to 100; order kept; no mirror → no field', () => {
    const c = configOf(
      canary((r, c) => {
        c.backends.push({ name: 'shadow', endpoints: ['10.0.9.1:8080'] });
        r.mirror = [{ backend: 'shadow', percent: 12.3456 }, { backend: 'shop-v2' }];
      }),
    );
    expect(c.services[0]!.routes[0]!.mirrors).toStrictEqual([
      { backend: 'shadow', percent: 12.3456 },
      { backend: 'shop-v2', percent: 100 },
    ]);
    expect('mirrors' in configOf(canary((r) => (r.mirror = []))).services[0]!.routes[0]!).toBe(false);
  });

  it('percent 0–100 with at most 4 decimals; the backend must exist, once', () => {
    expectOnlyError(canary((r) => (r.mirror = [{ backend: 'shop-v2', percent: 100.5 }])), 'services[0].routes[0].mirror[0].percent', 'must be <= 100');
    expectOnlyError(canary((r) => (r.mirror = [{ backend: 'shop-v2', percent: -1 }])), 'services[0].routes[0].mirror[0].percent', 'must be >= 0');
    expectOnlyError(canary((r) => (r.mirror = [{ backend: 'shop-v2', percent: 0.00001 }])), 'services[0].routes[0].mirror[0].percent', 'must have at most 4 decimals');
    expectOnlyError(canary((r) => (r.mirror = [{ backend: 'shop-v3' }])), 'services[0].routes[0].mirror[0].backend', "unknown backend 'shop-v3'");
    expectOnlyError(
      canary((r) => (r.mirror = [{ backend: 'shop-v2', percent: 1 }, { backend: 'shop-v2', percent: 2 }])),
      'services[0].routes[0].mirror[1].backend',
      'duplicates mirror[0]',
    );
    expectOnlyError(canary((r) => (r.mirror = [{ backend: 'shop-v2', percnt: 1 }])), 'services[0].routes[0].mirror[0]', "unknown field 'percnt'; did you mean 'percent'?");
  });
});

describe('affinity.strong', () => {
  const withStrong = (strong: unknown) => sticky((c) => ((c.services[0]!.affinity as Record<string, unknown>).strong = strong));
  const strongOf = (strong: unknown) => configOf(withStrong(strong)).services[0]!.affinity!.strong;

  it('cookie (full and short form) and header; strict defaults to false', () => {
    expect(strongOf({ cookie: { name: 'shop-pin', ttl: '1h', path: '/', httpOnly: true, secure: false }, strict: true })).toStrictEqual({
      session: { kind: 'cookie', name: 'shop-pin', ttlMs: 3_600_000, path: '/' },
      strict: true,
    });
    expect(strongOf({ cookie: 'shop-pin' })).toStrictEqual({ session: { kind: 'cookie', name: 'shop-pin' }, strict: false });
    expect(strongOf({ header: 'X-Shop-Pin' })).toStrictEqual({ session: { kind: 'header', name: 'x-shop-pin' }, strict: false });
  });

  it('exactly one of cookie and header', () => {
    expectOnlyError(withStrong({ strict: true }), 'services[0].affinity.strong', 'strong stickiness needs one of: cookie, header');
    expectOnlyError(
      withStrong({ cookie: 'a', header: 'b' }),
      'services[0].affinity.strong',
      'strong stickiness takes only one of cookie, header (found cookie and header)',
    );
  });

  it('secure and sameSite become part of the model; SameSite=None needs Secure', () => {
    expect(strongOf({ cookie: { name: 'p', secure: true, sameSite: 'strict' } })).toStrictEqual({
      session: { kind: 'cookie', name: 'p', secure: true, sameSite: 'strict' },
      strict: false,
    });
    expect(strongOf({ cookie: { name: 'p', secure: false } })).toStrictEqual({ session: { kind: 'cookie', name: 'p' }, strict: false });
    expectOnlyError(
      withStrong({ cookie: { name: 'p', sameSite: 'none' } }),
      'services[0].affinity.strong.cookie.sameSite',
      "'none' needs secure: true (browsers refuse a SameSite=None cookie that is not Secure)",
    );
    expect(errorsOf(withStrong({ cookie: { name: 'p', sameSite: 'Lax' } })).map((e) => e.path)).toEqual(['services[0].affinity.strong.cookie.sameSite']);
  });

  it('cookie fields Envoy cannot honour are errors, not silent', () => {
    expectOnlyError(
      withStrong({ cookie: { name: 'p', ttl: '1.5s' } }),
      'services[0].affinity.strong.cookie.ttl',
      'must be a whole number of seconds (Envoy reads only the seconds)',
    );
    expectOnlyError(
      withStrong({ cookie: { name: 'p', httpOnly: false } }),
      'services[0].affinity.strong.cookie.httpOnly',
      'cannot be false: Envoy always marks the stateful-session cookie HttpOnly',
    );
    expectOnlyError(withStrong({ cookie: { name: 'p', path: 'shop' } }), 'services[0].affinity.strong.cookie.path', "must start with '/'");
    expectOnlyError(withStrong({ header: ':authority' }), 'services[0].affinity.strong.header', "pseudo-header ':authority' is not allowed here");
  });
});
