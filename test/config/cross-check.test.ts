import { describe, expect, it } from 'vitest';
import { configOf, errorsOf, expectOnlyError, sticky } from './helpers';

describe('cross-reference checks', () => {
  it('unknown backend and listener references', () => {
    const c = sticky((c) => {
      c.services[0]!.listeners = ['http', 'admin'];
      c.services[0]!.routes[0]!.backends = [{ name: 'cart' }];
    });
    expect(errorsOf(c)).toEqual([
      { path: 'services[0].listeners[1]', message: "unknown listener 'admin'" },
      { path: 'services[0].routes[0].backends[0].name', message: "unknown backend 'cart'" },
    ]);
  });

  it('names a missing section when nothing is defined', () => {
    expectOnlyError(
      { services: [{ name: 'a', listeners: ['http'], routes: [{ backends: [{ name: 'b' }] }] }], backends: [{ name: 'b', endpoints: ['b:1'] }] },
      'services[0].listeners[0]',
      "unknown listener 'http' (no listeners are defined)",
    );
  });

  it('duplicate names in each list', () => {
    const c = sticky((c) => {
      c.listeners.push({ name: 'http', port: 10001 });
      c.backends.push({ name: 'shop-v1', endpoints: ['10.0.0.2:80'] });
      c.services.push({ name: 'shop', domains: ['other'], listeners: [], routes: [{ backends: [{ name: 'shop-v1' }] }] });
    });
    expect(errorsOf(c)).toEqual([
      { path: 'listeners[1].name', message: "duplicate listener name 'http' (also listeners[0])" },
      { path: 'services[1].name', message: "duplicate service name 'shop' (also services[0])" },
      { path: 'backends[1].name', message: "duplicate backend name 'shop-v1' (also backends[0])" },
    ]);
  });

  it('route names unique within a service, including default names', () => {
    const c = sticky((c) => {
      c.services[0]!.routes = [
        { name: 'shop-1', backends: [{ name: 'shop-v1' }] },
        { backends: [{ name: 'shop-v1' }] }, // default name shop-1
        { name: 'shop-1', backends: [{ name: 'shop-v1' }] },
      ];
    });
    expect(errorsOf(c)).toEqual([
      { path: 'services[0].routes[1]', message: "default route name 'shop-1' (also services[0].routes[0])" },
      { path: 'services[0].routes[2].name', message: "duplicate route name 'shop-1' (also services[0].routes[0])" },
    ]);
  });

  it('weights: required in a split, must sum above 0', () => {
    const c = sticky((c) => {
      c.backends.push({ name: 'shop-v2', endpoints: ['10.0.0.2:80'] });
      c.services[0]!.routes = [
        { backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2' }] },
        { backends: [{ name: 'shop-v1', weight: 0 }, { name: 'shop-v2', weight: 0 }] },
      ];
    });
    expect(errorsOf(c)).toEqual([
      { path: 'services[0].routes[0].backends[1].weight', message: 'required when a route has more than one backend' },
      { path: 'services[0].routes[1].backends', message: 'weights must add up to more than 0' },
    ]);
  });

  it('a 0-weight backend next to a positive one is fine (a parked canary)', () => {
    const config = configOf(
      sticky((c) => {
        c.backends.push({ name: 'shop-v2', endpoints: ['10.0.0.2:80'] });
        c.services[0]!.routes[0]!.backends = [{ name: 'shop-v1', weight: 100 }, { name: 'shop-v2', weight: 0 }];
      }),
    );
    expect(config.services[0]!.routes[0]!.backends.map((b) => b.weight)).toEqual([100, 0]);
  });

  it('listeners cannot share a port on the same or a wildcard address', () => {
    const c = sticky((c) => {
      c.listeners.push({ name: 'local', address: '127.0.0.1', port: 10000 });
      c.listeners.push({ name: 'a', address: '127.0.0.1', port: 10001 });
      c.listeners.push({ name: 'b', address: '127.0.0.2', port: 10001 });
    });
    expectOnlyError(c, 'listeners[1].port', "port 10000 is already used by listener 'http'");
  });

  it('services on one listener cannot share a domain (Envoy rejects the route table)', () => {
    const c = sticky((c) => {
      c.services.push({ name: 'cart', routes: [{ backends: [{ name: 'shop-v1' }] }] });
      c.services.push({ name: 'blog', domains: ['blog.example.com', 'SHOP.example.com'], routes: [{ backends: [{ name: 'shop-v1' }] }] });
      c.services[0]!.domains = ['shop.example.com'];
    });
    // cart takes the default "*"; blog repeats shop's domain in another case.
    expectOnlyError(
      c,
      'services[2].domains[1]',
      "domain 'SHOP.example.com' is also served by service 'shop' on listener 'http'",
    );
    expectOnlyError(
      sticky((c) => c.services.push({ name: 'cart', routes: [{ backends: [{ name: 'shop-v1' }] }] })),
      'services[1].domains',
      "default domain '*' is also served by service 'shop' on listener 'http'",
    );
  });

  it('the same domain on different listeners is fine', () => {
    configOf(
      sticky((c) => {
        c.listeners.push({ name: 'admin', port: 9000 });
        c.services[0]!.listeners = ['http'];
        c.services.push({ name: 'cart', listeners: ['admin'], routes: [{ backends: [{ name: 'shop-v1' }] }] });
      }),
    );
  });

  it('a sticky service cannot use a non-hashing balancer', () => {
    for (const type of ['round_robin', 'least_request', 'random']) {
      expectOnlyError(
        sticky((c) => (c.backends[0]!.balancer = { type })),
        'backends[0].balancer.type',
        "service 'shop' has affinity; use ring_hash or maglev",
      );
    }
    expect(configOf(sticky((c) => (c.backends[0]!.balancer = { type: 'maglev' }))).backends[0]!.balancer).toEqual({
      type: 'maglev',
      tableSize: 65537,
    });
  });

  it('a listener listed twice by a service', () => {
    expectOnlyError(sticky((c) => (c.services[0]!.listeners = ['http', 'http'])), 'services[0].listeners[1]', "listener 'http' is listed twice");
  });
});
