import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config';
import { rewritePaths } from '../../src/control/document';
import { TetherError, type TetherErrorCode } from '../../src/config/errors';
import { thrownTetherError } from '../support/thrown';
import {
  addEndpoint,
  deleteBackend,
  deleteRoute,
  deleteService,
  drainEndpoint,
  edits,
  promote,
  removeEndpoint,
  setSplit,
  upsertBackend,
  upsertRoute,
  upsertService,
} from '../../src/control/mutations';
import type { ConfigDocument } from '../../src/control/types';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

type Doc = ConfigDocument & { services: any[]; backends: any[] };

/** Frozen, so an edit that modifies its input throws. */
const base = (): Doc =>
  deepFreeze({
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      {
        name: 'shop',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [
          { name: 'canary', match: { headers: { userhash: { prefix: '101' } } }, backends: [{ name: 'shop-v2' }] },
          // default name shop-1
          { backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10, headers: { response: { set: { version: 'v2' } } } }] },
        ],
      },
      { name: 'api', domains: ['api.example.com'], routes: [{ backends: [{ name: 'api' }] }] },
    ],
    backends: [
      { name: 'shop-v1', endpoints: ['10.0.0.1:8080', { address: '[2001:db8::1]:8080', weight: 2 }] },
      { name: 'shop-v2', endpoints: ['10.0.0.3:8080'] },
      { name: 'api', endpoints: ['api.internal:9000'] },
      { name: 'spare', endpoints: ['10.0.0.9:8080'] },
    ],
  });

function valid(doc: ConfigDocument): ConfigDocument {
  const result = validateConfig(doc);
  if (!result.ok) throw new Error(`expected a valid document:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  return doc;
}

function expectCode(fn: () => unknown, code: TetherErrorCode, message?: string | RegExp): TetherError {
  const err = thrownTetherError(fn);
  expect(err.code, err.message).toBe(code);
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

describe('services', () => {
  it('upsertService replaces in place or appends, copying the request', () => {
    const request = { name: 'api', domains: ['api.example.com'], routes: [{ backends: [{ name: 'spare' }] }] };
    const out = valid(upsertService(base(), request)) as Doc;
    expect(out.services.map((s) => s.name)).toEqual(['shop', 'api']);
    expect(out.services[1]).toEqual(request);
    expect(out.services[1]).not.toBe(request);

    const added = valid(upsertService(base(), { name: 'new', domains: ['new.example.com'], routes: [{ backends: [{ name: 'spare' }] }] })) as Doc;
    expect(added.services.map((s) => s.name)).toEqual(['shop', 'api', 'new']);
  });

  it('upsertService into a document without services creates the list', () => {
    const out = upsertService({ backends: [] }, { name: 'x', routes: [] }) as Doc;
    expect(out.services).toEqual([{ name: 'x', routes: [] }]);
  });

  it('upsertService refuses a request without a name or not an object', () => {
    expect(expectCode(() => upsertService(base(), { routes: [] }), 'INVALID_ARGUMENT').fieldErrors).toEqual([{ path: 'service.name', message: 'required' }]);
    expect(expectCode(() => upsertService(base(), 'shop'), 'INVALID_ARGUMENT').fieldErrors).toEqual([{ path: 'service', message: 'must be an object' }]);
  });

  it('deleteService removes it and leaves its backends; NOT_FOUND with a suggestion', () => {
    const out = valid(deleteService(base(), 'api')) as Doc;
    expect(out.services.map((s) => s.name)).toEqual(['shop']);
    expect(out.backends.map((b) => b.name)).toContain('api');
    expectCode(() => deleteService(base(), 'shopp'), 'NOT_FOUND', "unknown service 'shopp'; did you mean 'shop'?");
  });
});

describe('routes', () => {
  it('upsertRoute replaces a route by explicit name, in place', () => {
    const out = valid(upsertRoute(base(), 'shop', { name: 'canary', backends: [{ name: 'spare' }] })) as Doc;
    expect(out.services[0].routes[0]).toEqual({ name: 'canary', backends: [{ name: 'spare' }] });
    expect(out.services[0].routes).toHaveLength(2);
  });

  it('upsertRoute replaces an unnamed route by its default name', () => {
    const out = valid(upsertRoute(base(), 'shop', { name: 'shop-1', backends: [{ name: 'shop-v1' }] }, 0)) as Doc;
    expect(out.services[0].routes.map((r: { name?: string }) => r.name)).toEqual(['canary', 'shop-1']);
    expect(out.services[0].routes[1].backends).toEqual([{ name: 'shop-v1' }]);
  });

  it('upsertRoute inserts at a position and pins the default names of the routes it shifts', () => {
    const out = valid(upsertRoute(base(), 'shop', { name: 'beta', backends: [{ name: 'spare' }] }, 1)) as Doc;
    expect(out.services[0].routes.map((r: { name?: string }) => r.name)).toEqual(['canary', 'beta', 'shop-1']);
    const first = valid(upsertRoute(base(), 'api', { name: 'first', backends: [{ name: 'spare' }] }, 0)) as Doc;
    expect(first.services[1].routes.map((r: { name?: string }) => r.name)).toEqual(['first', 'api-0']);
  });

  it('upsertRoute appends for an absent, negative or one-past-the-end position, without pinning', () => {
    for (const position of [undefined, -1, 2]) {
      const out = upsertRoute(base(), 'shop', { name: 'last', backends: [{ name: 'spare' }] }, position) as Doc;
      expect(out.services[0].routes.map((r: { name?: string }) => r.name)).toEqual(['canary', undefined, 'last']);
    }
  });

  it('upsertRoute errors: unknown service, missing name, position beyond the end', () => {
    expectCode(() => upsertRoute(base(), 'nope', { name: 'x', backends: [] }), 'NOT_FOUND', "unknown service 'nope'");
    expect(expectCode(() => upsertRoute(base(), 'shop', { backends: [] }), 'INVALID_ARGUMENT').fieldErrors).toEqual([
      { path: 'route.name', message: 'required' },
    ]);
    expect(expectCode(() => upsertRoute(base(), 'shop', { name: 'x', backends: [] }, 3), 'INVALID_ARGUMENT').fieldErrors[0]!.path).toBe('position');
  });

  it('deleteRoute by explicit or default name, pinning the names after it', () => {
    const out = valid(deleteRoute(base(), 'shop', 'canary')) as Doc;
    expect(out.services[0].routes).toHaveLength(1);
    expect(out.services[0].routes[0].name).toBe('shop-1');
    const byDefault = valid(deleteRoute(base(), 'shop', 'shop-1')) as Doc;
    expect(byDefault.services[0].routes.map((r: { name?: string }) => r.name)).toEqual(['canary']);
  });

  it('deleteRoute errors: NOT_FOUND for unknown service or route, FAILED_PRECONDITION for the last route', () => {
    expectCode(() => deleteRoute(base(), 'nope', 'x'), 'NOT_FOUND');
    expectCode(() => deleteRoute(base(), 'shop', 'canery'), 'NOT_FOUND', "unknown route 'canery' in service 'shop'; did you mean 'canary'?");
    expectCode(() => deleteRoute(base(), 'api', 'api-0'), 'FAILED_PRECONDITION', "route 'api-0' is the last route of service 'api'");
  });
});

describe('backends', () => {
  it('upsertBackend replaces or appends', () => {
    const out = valid(upsertBackend(base(), { name: 'spare', endpoints: ['10.0.0.10:8080'] })) as Doc;
    expect(out.backends[3]).toEqual({ name: 'spare', endpoints: ['10.0.0.10:8080'] });
    const added = valid(upsertBackend(base(), { name: 'extra', endpoints: ['10.0.0.11:8080'] })) as Doc;
    expect(added.backends.map((b) => b.name)).toEqual(['shop-v1', 'shop-v2', 'api', 'spare', 'extra']);
    expectCode(() => upsertBackend(base(), { endpoints: [] }), 'INVALID_ARGUMENT');
  });

  it('deleteBackend: an unused one goes; a used one is FAILED_PRECONDITION naming every route; unknown is NOT_FOUND', () => {
    expect((valid(deleteBackend(base(), 'spare')) as Doc).backends.map((b) => b.name)).toEqual(['shop-v1', 'shop-v2', 'api']);
    expectCode(() => deleteBackend(base(), 'shop-v2'), 'FAILED_PRECONDITION', "backend 'shop-v2' is still used by routes shop/canary, shop/shop-1");
    expectCode(() => deleteBackend(base(), 'api'), 'FAILED_PRECONDITION', /used by route api\/api-0$/);
    expectCode(() => deleteBackend(base(), 'nope'), 'NOT_FOUND');
  });
});

describe('setSplit', () => {
  it('sets weights, keeps header settings and order, adds new backends by name, drops unlisted ones', () => {
    const out = valid(setSplit(base(), 'shop', 'shop-1', { 'shop-v2': 50, spare: 0, 'shop-v1': 50 })) as Doc;
    expect(out.services[0].routes[1].backends).toEqual([
      { name: 'shop-v1', weight: 50 },
      { name: 'shop-v2', weight: 50, headers: { response: { set: { version: 'v2' } } } },
      { name: 'spare', weight: 0 },
    ]);
    const dropped = valid(setSplit(base(), 'shop', 'shop-1', { 'shop-v1': 1 })) as Doc;
    expect(dropped.services[0].routes[1].backends).toEqual([{ name: 'shop-v1', weight: 1 }]);
  });

  it("'' names the only route of a one-route service", () => {
    const out = valid(setSplit(base(), 'api', '', { api: 90, spare: 10 })) as Doc;
    expect(out.services[1].routes[0].backends).toEqual([
      { name: 'api', weight: 90 },
      { name: 'spare', weight: 10 },
    ]);
  });

  it("errors: '' with several routes, unknown service/route/backend, bad weights", () => {
    expect(expectCode(() => setSplit(base(), 'shop', '', { spare: 1 }), 'INVALID_ARGUMENT').fieldErrors).toEqual([
      { path: 'route', message: "service 'shop' has 2 routes (canary, shop-1); name one" },
    ]);
    expectCode(() => setSplit(base(), 'nope', '', { spare: 1 }), 'NOT_FOUND');
    expectCode(() => setSplit(base(), 'shop', 'nope', { spare: 1 }), 'NOT_FOUND');
    expectCode(() => setSplit(base(), 'shop', 'canary', { ghost: 1 }), 'NOT_FOUND', "unknown backend 'ghost'");
    expect(expectCode(() => setSplit(base(), 'shop', 'canary', { spare: -1, 'shop-v1': 1.5 }), 'INVALID_ARGUMENT').fieldErrors.map((e) => e.path)).toEqual([
      'weights.spare',
      'weights.shop-v1',
    ]);
    expect(expectCode(() => setSplit(base(), 'shop', 'canary', {}), 'INVALID_ARGUMENT').fieldErrors[0]!.path).toBe('weights');
  });
});

describe('promote', () => {
  it('every route that routes to the backend (any weight) becomes 100 % that backend, header settings kept', () => {
    const out = valid(promote(base(), 'shop', 'shop-v2')) as Doc;
    expect(out.services[0].routes[0].backends).toEqual([{ name: 'shop-v2' }]);
    expect(out.services[0].routes[1].backends).toEqual([{ name: 'shop-v2', headers: { response: { set: { version: 'v2' } } } }]);
  });

  it('only the named route, which may not have used the backend before', () => {
    const out = valid(promote(base(), 'shop', 'shop-v1', 'canary')) as Doc;
    expect(out.services[0].routes[0].backends).toEqual([{ name: 'shop-v1' }]);
    expect(out.services[0].routes[1]).toEqual(base().services[0].routes[1]);
  });

  it('NOT_FOUND: no route uses it, unknown backend, service or route', () => {
    expectCode(() => promote(base(), 'shop', 'spare'), 'NOT_FOUND', "no route of service 'shop' routes to backend 'spare'");
    expectCode(() => promote(base(), 'shop', 'ghost'), 'NOT_FOUND', "unknown backend 'ghost'");
    expectCode(() => promote(base(), 'nope', 'spare'), 'NOT_FOUND');
    expectCode(() => promote(base(), 'shop', 'spare', 'nope'), 'NOT_FOUND');
  });
});

describe('endpoints', () => {
  it('addEndpoint appends in the short form, or with a weight', () => {
    expect((valid(addEndpoint(base(), 'shop-v2', '10.0.0.4:8080')) as Doc).backends[1].endpoints).toEqual(['10.0.0.3:8080', '10.0.0.4:8080']);
    expect((valid(addEndpoint(base(), 'shop-v2', '10.0.0.4:8080', 3)) as Doc).backends[1].endpoints[1]).toEqual({ address: '10.0.0.4:8080', weight: 3 });
    expect((valid(addEndpoint(base(), 'shop-v2', '[2001:DB8::9]:80', 0)) as Doc).backends[1].endpoints[1]).toBe('[2001:DB8::9]:80');
  });

  it('addEndpoint of an address already there (any spelling) only updates its weight and undrains it', () => {
    expect(addEndpoint(base(), 'shop-v2', '10.0.0.3:8080')).toEqual(base());
    expect((addEndpoint(base(), 'shop-v2', '10.0.0.3:8080', 4) as Doc).backends[1].endpoints).toEqual([{ address: '10.0.0.3:8080', weight: 4 }]);
    // [2001:db8::1] written in full and upper case is the same address.
    const v6 = addEndpoint(base(), 'shop-v1', '[2001:DB8:0:0:0:0:0:1]:8080', 1) as Doc;
    expect(v6.backends[0].endpoints).toEqual(['10.0.0.1:8080', { address: '[2001:db8::1]:8080', weight: 1 }]);
    const drained = drainEndpoint(base(), 'shop-v1', '10.0.0.1:8080');
    expect((addEndpoint(drained, 'shop-v1', '10.0.0.1:8080') as Doc).backends[0].endpoints[0]).toEqual({ address: '10.0.0.1:8080' });
    expect((addEndpoint(base(), 'api', 'API.internal:9000') as Doc).backends[2].endpoints).toEqual(['api.internal:9000']);
  });

  it('addEndpoint with a gRPC port: object form on a new or string entry; an existing entry keeps its own unless one is given', () => {
    expect((valid(addEndpoint(base(), 'shop-v2', '10.0.0.4:8080', 1, 9090)) as Doc).backends[1].endpoints[1]).toEqual({ address: '10.0.0.4:8080', grpcPort: 9090 });
    expect((valid(addEndpoint(base(), 'shop-v2', '10.0.0.3:8080', 2, 9090)) as Doc).backends[1].endpoints).toEqual([{ address: '10.0.0.3:8080', weight: 2, grpcPort: 9090 }]);
    const withPort = addEndpoint(base(), 'shop-v2', '10.0.0.3:8080', 1, 9090);
    expect((addEndpoint(withPort, 'shop-v2', '10.0.0.3:8080') as Doc).backends[1].endpoints).toEqual([{ address: '10.0.0.3:8080', grpcPort: 9090 }]);
    expect((addEndpoint(withPort, 'shop-v2', '10.0.0.3:8080', 1, 9091) as Doc).backends[1].endpoints).toEqual([{ address: '10.0.0.3:8080', grpcPort: 9091 }]);
  });

  it('addEndpoint errors: unknown backend, bad address, bad weight', () => {
    expectCode(() => addEndpoint(base(), 'ghost', '10.0.0.4:8080'), 'NOT_FOUND');
    expect(expectCode(() => addEndpoint(base(), 'shop-v2', '::1:8080'), 'INVALID_ARGUMENT').fieldErrors).toEqual([
      { path: 'address', message: 'IPv6 addresses need brackets, e.g. [::1]:8080' },
    ]);
    expect(expectCode(() => addEndpoint(base(), 'shop-v2', '10.0.0.4:8080', -2), 'INVALID_ARGUMENT').fieldErrors[0]!.path).toBe('weight');
  });

  it('removeEndpoint by any spelling; NOT_FOUND when absent; FAILED_PRECONDITION for the last one', () => {
    expect((valid(removeEndpoint(base(), 'shop-v1', '[2001:db8:0::1]:8080')) as Doc).backends[0].endpoints).toEqual(['10.0.0.1:8080']);
    expectCode(() => removeEndpoint(base(), 'shop-v1', '10.0.0.7:8080'), 'NOT_FOUND', "backend 'shop-v1' has no endpoint 10.0.0.7:8080");
    expectCode(() => removeEndpoint(base(), 'ghost', '10.0.0.7:8080'), 'NOT_FOUND');
    expectCode(() => removeEndpoint(base(), 'shop-v2', '10.0.0.3:8080'), 'FAILED_PRECONDITION', 'last endpoint');
    expectCode(() => removeEndpoint(base(), 'shop-v2', 'nonsense'), 'INVALID_ARGUMENT');
  });

  it('drainEndpoint marks it drain: true in either form; NOT_FOUND when absent', () => {
    expect((valid(drainEndpoint(base(), 'shop-v2', '10.0.0.3:8080')) as Doc).backends[1].endpoints).toEqual([{ address: '10.0.0.3:8080', drain: true }]);
    expect((valid(drainEndpoint(base(), 'shop-v1', '[2001:db8::1]:8080')) as Doc).backends[0].endpoints[1]).toEqual({
      address: '[2001:db8::1]:8080',
      weight: 2,
      drain: true,
    });
    expectCode(() => drainEndpoint(base(), 'shop-v2', '10.0.0.4:8080'), 'NOT_FOUND');
  });
});

describe('error paths point at the request', () => {
  const errorsOf = (doc: ConfigDocument) => {
    const result = validateConfig(doc);
    if (result.ok) throw new Error('expected errors');
    return result.errors;
  };

  it('rewritePaths matches whole segments only', () => {
    const errors = [
      { path: 'services[1].routes[0]', message: 'a' },
      { path: 'services[10].name', message: 'b' },
      { path: 'services[1]', message: 'c' },
    ];
    expect(rewritePaths(errors, [{ from: 'services[1]', to: 'service' }]).map((e) => e.path)).toEqual(['service.routes[0]', 'services[10].name', 'service']);
  });

  it('upsertService, upsertRoute, upsertBackend, setSplit and addEndpoint', () => {
    const svc = edits.upsertService({ name: 'api', domains: ['api.example.com'], routes: [{ backends: [{ name: 'ghost' }] }] });
    const svcDoc = svc.apply(base());
    expect(rewritePaths(errorsOf(svcDoc), svc.errorPaths!(svcDoc)).map((e) => e.path)).toEqual(['service.routes[0].backends[0].name']);

    const route = edits.upsertRoute('shop', { name: 'beta', backends: [{ name: 'spare', weight: -1 }] }, 0);
    const routeDoc = route.apply(base());
    expect(rewritePaths(errorsOf(routeDoc), route.errorPaths!(routeDoc)).map((e) => e.path)).toEqual(['route.backends[0].weight']);

    const backend = edits.upsertBackend({ name: 'spare', endpoints: ['10.0.0.1:99999'] });
    const backendDoc = backend.apply(base());
    expect(rewritePaths(errorsOf(backendDoc), backend.errorPaths!(backendDoc)).map((e) => e.path)).toEqual(['backend.endpoints[0].address']);

    const split = edits.setSplit('shop', 'shop-1', { 'shop-v1': 0, 'shop-v2': 0 });
    const splitDoc = split.apply(base());
    expect(rewritePaths(errorsOf(splitDoc), split.errorPaths!(splitDoc))).toEqual([{ path: 'weights', message: 'weights must add up to more than 0' }]);

    const grown = edits.addEndpoint('shop-v2', 'replica.svc:8080');
    const unaffected = grown.apply(base());
    expect(validateConfig(unaffected).ok).toBe(true);
    expect(grown.errorPaths!(unaffected)).toEqual([
      { from: 'backends[1].endpoints[1].weight', to: 'weight' },
      { from: 'backends[1].endpoints[1].grpcPort', to: 'grpc_port' },
      { from: 'backends[1].endpoints[1]', to: 'address' },
    ]);
  });

  it('edits without a rewrite keep document paths', () => {
    expect(edits.deleteService('api').errorPaths).toBeUndefined();
  });
});

describe('structural sharing', () => {
  it('an edit copies only the entry it changes; the others are the input\'s own (frozen) objects', () => {
    const doc = base();
    const out = setSplit(doc, 'shop', 'shop-1', { 'shop-v1': 50, 'shop-v2': 50 }) as Doc;
    expect(out.services[0]).not.toBe(doc.services[0]);
    expect(out.services[1]).toBe(doc.services[1]);
    expect(out.backends).not.toBe(doc.backends);
    out.backends.forEach((b, i) => expect(b).toBe(doc.backends[i]));
    const drained = drainEndpoint(doc, 'shop-v2', '10.0.0.3:8080') as Doc;
    expect(drained.backends[1]).not.toBe(doc.backends[1]);
    expect(drained.backends[0]).toBe(doc.backends[0]);
    expect(drained.services[0]).toBe(doc.services[0]);
  });
});
