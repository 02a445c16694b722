import { describe, expect, it } from 'vitest';
import { formatErrors, parseConfigText, validateConfig } from '../../src/config';
import { errorsOf, expectOnlyError, sticky } from './helpers';

describe('schema errors: path and message', () => {
  it('negative backend weight', () => {
    const c = sticky((c) => {
      c.services[0]!.routes.push({ backends: [{ name: 'shop-v1', weight: -1 }] });
    });
    expectOnlyError(c, 'services[0].routes[1].backends[0].weight', 'must be >= 0');
  });

  it('fractional weights (Ray Serve style) are refused', () => {
    const c = sticky((c) => {
      c.services[0]!.routes[0]!.backends = [
        { name: 'shop-v1', weight: 0.9 },
        { name: 'shop-v1', weight: 0.1 },
      ];
    });
    expect(errorsOf(c)).toEqual([
      { path: 'services[0].routes[0].backends[0].weight', message: 'must be a whole number' },
      { path: 'services[0].routes[0].backends[1].weight', message: 'must be a whole number' },
    ]);
  });

  it('misspelled field, with a suggestion', () => {
    const c = sticky((c) => {
      c.services[0]!.routes[0]!.backends = [{ name: 'shop-v1', weigth: 2 }];
    });
    expectOnlyError(c, 'services[0].routes[0].backends[0]', "unknown field 'weigth'; did you mean 'weight'?");
  });

  it('__proto__ (YAML and JSON keep it as a key) is an unknown field, not a silently dropped prototype', () => {
    const yaml = [
      '__proto__: { polluted: true }',
      'services:',
      '  - name: s',
      '    __proto__: { x: 1 }',
      '    routes: [{ backends: [{ name: b }] }]',
      'backends: [{ name: b, endpoints: ["127.0.0.1:1"] }]',
    ].join('\n');
    for (const result of [parseConfigText(yaml), validateConfig(JSON.parse('{"__proto__": {"polluted": true}, "services": []}'))]) {
      expect(result.ok).toBe(false);
      const messages = result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
      expect(messages).toContain(": unknown field '__proto__'");
      expect(messages.join('\n')).not.toContain('polluted');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('unknown field far from any known one gets no suggestion', () => {
    expectOnlyError(sticky((c) => (c.backends[0]!.zzz = 1)), 'backends[0]', "unknown field 'zzz'");
  });

  it('Istio names point to the Tether name', () => {
    const c = sticky((c) => {
      c.services[0]!.affinity = { keys: [{ httpHeaderName: 'x-user' }] };
    });
    expect(errorsOf(c)).toEqual([
      { path: 'services[0].affinity.keys[0]', message: "unknown field 'httpHeaderName'; use 'header'" },
      { path: 'services[0].affinity.keys[0]', message: 'an affinity key needs one of: header, cookie, clientIp, queryParameter' },
    ]);
  });

  it('required fields', () => {
    expect(errorsOf({ listeners: [{}], services: [{}], backends: [{}] })).toEqual([
      { path: 'listeners[0].name', message: 'required' },
      { path: 'listeners[0].port', message: 'required' },
      { path: 'services[0].name', message: 'required' },
      { path: 'services[0].routes', message: 'required' },
      { path: 'backends[0].name', message: 'required' },
      { path: 'backends[0].endpoints', message: 'required' },
    ]);
  });

  it('type messages are short and hint at YAML quoting', () => {
    const text = `
listeners:
  - name: http
    port: "10000"
services:
  - name: shop
    routes:
      - match:
          headers:
            userhash: { prefix: 101 }
        backends: shop-v1
`;
    expect(errorsOf(text)).toEqual([
      { path: 'listeners[0].port', message: 'must be a number (remove the quotes)' },
      { path: 'services[0].routes[0].match.headers.userhash.prefix', message: 'must be a string (quote the value)' },
      { path: 'services[0].routes[0].backends', message: 'must be a list' },
    ]);
  });

  it('service name must be DNS-1123-ish', () => {
    expectOnlyError(
      sticky((c) => (c.services[0]!.name = 'Shop_1')),
      'services[0].name',
      "must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
    );
  });

  it('domains: non-empty list, wildcard only at an end', () => {
    expectOnlyError(sticky((c) => (c.services[0]!.domains = [])), 'services[0].domains', 'must have at least one domain (default is ["*"])');
    expectOnlyError(
      sticky((c) => (c.services[0]!.domains = ['*.example.com', 'shop.*', 'shop.example.com:8080', 'a.*.com'])),
      'services[0].domains[3]',
      "must be a host name, optionally with a port or a leading/trailing '*' wildcard",
    );
  });

  it('cookie keys: valid name, path starting with /', () => {
    expect(errorsOf(sticky((c) => (c.services[0]!.affinity = { keys: [{ cookie: { name: 'my session', path: 'app' } }] })))).toEqual([
      { path: 'services[0].affinity.keys[0].cookie.name', message: 'invalid cookie name' },
      { path: 'services[0].affinity.keys[0].cookie.path', message: "must start with '/'" },
    ]);
  });

  it('affinity keys must be objects', () => {
    expectOnlyError(sticky((c) => (c.services[0]!.affinity = { keys: ['x-user'] })), 'services[0].affinity.keys[0]', 'must be an object');
  });

  it('port range', () => {
    expectOnlyError(sticky((c) => (c.listeners[0]!.port = 0)), 'listeners[0].port', 'must be a port number from 1 to 65535');
    expectOnlyError(sticky((c) => (c.listeners[0]!.port = 65536)), 'listeners[0].port', 'must be a port number from 1 to 65535');
  });

  it('listener address must be an IP', () => {
    expectOnlyError(
      sticky((c) => (c.listeners[0]!.address = 'localhost')),
      'listeners[0].address',
      'must be an IP address, e.g. 0.0.0.0, 127.0.0.1 or ::',
    );
  });

  it('a service needs at least one route; a route at least one backend', () => {
    expectOnlyError(sticky((c) => (c.services[0]!.routes = [])), 'services[0].routes', 'must have at least one route');
    expectOnlyError(
      sticky((c) => (c.services[0]!.routes[0]!.backends = [])),
      'services[0].routes[0].backends',
      'must have at least one backend',
    );
  });

  it('a backend needs at least one endpoint', () => {
    expectOnlyError(sticky((c) => (c.backends[0]!.endpoints = [])), 'backends[0].endpoints', 'must have at least one endpoint');
  });

  it('endpoint weight >= 1', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:80', weight: 0 }])),
      'backends[0].endpoints[0].weight',
      'must be >= 1',
    );
  });

  it('malformed endpoints, each at its own index', () => {
    const c = sticky((c) => {
      c.backends[0]!.endpoints = ['10.0.0.1', '::1:8080', '[::1]:8080', '999.1.1.1:80', 'a_b:80', 'host:0', '[fe80::zz]:80', 'x y:80'];
    });
    expect(errorsOf(c)).toEqual([
      { path: 'backends[0].endpoints[0].address', message: 'missing port (e.g. 10.0.0.1:8080)' },
      { path: 'backends[0].endpoints[1].address', message: 'IPv6 addresses need brackets, e.g. [::1]:8080' },
      { path: 'backends[0].endpoints[3].address', message: "'999.1.1.1' is not a valid IPv4 address" },
      { path: 'backends[0].endpoints[4].address', message: "'a_b' is not a valid IP address or DNS name" },
      { path: 'backends[0].endpoints[5].address', message: "port '0' must be a number from 1 to 65535" },
      { path: 'backends[0].endpoints[6].address', message: "'fe80::zz' is not a valid IPv6 address" },
      { path: 'backends[0].endpoints[7].address', message: 'must not contain spaces' },
    ]);
  });

  it('duplicate endpoints in one backend', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.endpoints = ['10.0.0.1:80', 'a.example:80', '10.0.0.1:80'])),
      'backends[0].endpoints[2]',
      'duplicates endpoints[0]',
    );
  });

  it('balancer: tuning fields belong to their type, maglev table must be prime', () => {
    const c = sticky((c) => {
      c.backends[0]!.balancer = { type: 'maglev', tableSize: 65536, minRingSize: 10, choiceCount: 3 };
    });
    expect(errorsOf(c)).toEqual([
      { path: 'backends[0].balancer.tableSize', message: 'must be a prime number (e.g. 65537 or 5000011)' },
      { path: 'backends[0].balancer.minRingSize', message: 'only applies to type ring_hash' },
      { path: 'backends[0].balancer.choiceCount', message: 'only applies to type least_request' },
    ]);
  });

  it('balancer: minRingSize <= maxRingSize (explicit and default max)', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', minRingSize: 2048, maxRingSize: 1024 })),
      'backends[0].balancer.minRingSize',
      'must be <= maxRingSize (1024)',
    );
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'ring_hash', minRingSize: 8388609 })),
      'backends[0].balancer.minRingSize',
      'must be <= 8388608',
    );
  });

  it('balancer: type names from other tools get a suggestion', () => {
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'RING_HASH' })),
      'backends[0].balancer.type',
      "must be one of: ring_hash, maglev, round_robin, least_request, random; did you mean 'ring_hash'?",
    );
    expectOnlyError(
      sticky((c) => (c.backends[0]!.balancer = { type: 'LeastRequest' })),
      'backends[0].balancer.type',
      "must be one of: ring_hash, maglev, round_robin, least_request, random; did you mean 'least_request'?",
    );
  });

  it('enum values without a clear nearest one get no guess', () => {
    expectOnlyError(sticky((c) => (c.backends[0]!.protocol = 'http3')), 'backends[0].protocol', 'must be one of: http1, http2');
  });

  it('formatErrors prints one "path: message" per line', () => {
    expect(
      formatErrors([
        { path: 'a[0].b', message: 'required' },
        { path: '', message: 'line 1:1: bad' },
      ]),
    ).toBe('a[0].b: required\nline 1:1: bad');
  });
});

describe('many errors at once', () => {
  it('reports schema and cross-reference errors together, each with its path', () => {
    const text = `
listeners:
  - name: http
    port: 70000
  - name: http
    port: 10001
services:
  - name: shop
    listeners: [htp]
    affinity:
      keys: []
    routes:
      - backends:
          - name: shop-v3
            weigth: 1
  - name: shop
    routes:
      - backends: [{ name: shop-v1, weight: 0 }]
backends:
  - name: shop-v1
    endpoints: []
    connectTimeout: 1x
`;
    expect(errorsOf(text)).toEqual([
      { path: 'listeners[0].port', message: 'must be a port number from 1 to 65535' },
      { path: 'services[0].affinity.keys', message: 'must have at least one key' },
      { path: 'services[0].routes[0].backends[0]', message: "unknown field 'weigth'; did you mean 'weight'?" },
      { path: 'backends[0].endpoints', message: 'must have at least one endpoint' },
      { path: 'backends[0].connectTimeout', message: `invalid duration '1x' (use e.g. "1s", "250ms", "1h30m")` },
      { path: 'listeners[1].name', message: "duplicate listener name 'http' (also listeners[0])" },
      { path: 'services[1].name', message: "duplicate service name 'shop' (also services[0])" },
      { path: 'services[0].listeners[0]', message: "unknown listener 'htp'; did you mean 'http'?" },
      { path: 'services[0].routes[0].backends[0].name', message: "unknown backend 'shop-v3'; did you mean 'shop-v1'?" },
      { path: 'services[1].routes[0].backends', message: 'weights must add up to more than 0' },
    ]);
  });
});
