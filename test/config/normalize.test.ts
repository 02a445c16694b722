import { describe, expect, it } from 'vitest';
import type { TetherConfig } from '../../src/model/types';
import { configOf, errorsOf, sticky } from './helpers';

describe('normalisation fills every default', () => {
  it('a minimal non-sticky service', () => {
    const text = `
listeners:
  - { name: http, port: 10000 }
services:
  - name: shop
    routes:
      - backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:8080", { address: "[::1]:8081", weight: 3 }, "replica-2.shop.svc:8080"]
`;
    const expected: TetherConfig = {
      listeners: [
        {
          name: 'http',
          address: '0.0.0.0',
          port: 10000,
          // Envoy's edge-proxy guide and its own defaults (config/listener-schema.ts).
          clientAddress: { trustedHops: 0 },
          limits: { connectionBufferBytes: 32768, maxHeaders: 100, maxRequestHeadersKb: 60 },
          timeouts: { idleMs: 3_600_000, streamIdleMs: 300_000, requestMs: 300_000, requestHeadersMs: 10_000 },
          accessLog: { format: 'json' },
        },
      ],
      services: [
        {
          name: 'shop',
          domains: ['*'],
          listeners: ['http'],
          routes: [
            {
              name: 'shop-0',
              match: { path: { prefix: '/' }, headers: [], queryParams: [] },
              backends: [
                {
                  backend: 'shop-v1',
                  weight: 1,
                  requestHeaders: { set: [], add: [], remove: [] },
                  responseHeaders: { set: [], add: [], remove: [] },
                },
              ],
              requestHeaders: { set: [], add: [], remove: [] },
              responseHeaders: { set: [], add: [], remove: [] },
            },
          ],
        },
      ],
      backends: [
        {
          name: 'shop-v1',
          endpoints: [
            { host: '10.0.0.1', port: 8080, weight: 1, drain: false },
            { host: '::1', port: 8081, weight: 3, drain: false },
            { host: 'replica-2.shop.svc', port: 8080, weight: 1, drain: false },
          ],
          balancer: { type: 'round_robin' },
          connectTimeoutMs: 1000,
          protocol: 'http1',
        },
      ],
    };
    // toStrictEqual: no stray `affinity: undefined` or `timeoutMs: undefined` keys.
    expect(configOf(text)).toStrictEqual(expected);
  });

  it('affinity keys: order kept, terminal defaults to true, cookie shorthand and ttl 0', () => {
    const config = configOf(
      sticky((c) => {
        c.services[0]!.affinity = {
          keys: [
            { header: 'X-User', terminal: false },
            { cookie: { name: 'shop-session', ttl: '1h30m', path: '/' } },
            { cookie: { name: 'session-only', ttl: 0 } },
            { cookie: 'existing' },
            { clientIp: true },
            { queryParameter: 'User' },
          ],
        };
      }),
    );
    expect(config.services[0]!.affinity).toStrictEqual({
      keys: [
        { kind: 'header', name: 'x-user', terminal: false },
        { kind: 'cookie', name: 'shop-session', ttlMs: 5_400_000, path: '/', terminal: true },
        { kind: 'cookie', name: 'session-only', ttlMs: 0, terminal: true },
        { kind: 'cookie', name: 'existing', terminal: true },
        { kind: 'clientIp', terminal: true },
        // Query parameter names are case-sensitive; only header names are lower-cased.
        { kind: 'queryParameter', name: 'User', terminal: true },
      ],
    });
  });

  it('affinity errors: empty keys, no source, two sources, clientIp false', () => {
    expect(errorsOf(sticky((c) => (c.services[0]!.affinity = {})))).toEqual([
      { path: 'services[0].affinity.keys', message: 'required (at least one key), unless a sessionKey finds the key' },
    ]);
    expect(
      errorsOf(sticky((c) => (c.services[0]!.affinity = { keys: [{ terminal: true }, { header: 'a', clientIp: true }, { clientIp: false }] }))),
    ).toEqual([
      { path: 'services[0].affinity.keys[0]', message: 'an affinity key needs one of: header, cookie, clientIp, queryParameter' },
      {
        path: 'services[0].affinity.keys[1]',
        message: 'an affinity key takes only one of header, cookie, clientIp, queryParameter (found header and clientIp)',
      },
      { path: 'services[0].affinity.keys[2].clientIp', message: 'must be true (leave the key out to not hash on the client IP)' },
    ]);
  });

  it('matchers and route fields normalise to the model shapes', () => {
    const config = configOf(
      sticky((c) => {
        c.services[0]!.routes[0] = {
          name: 'canary',
          match: {
            exact: '/checkout',
            headers: {
              UserHash: { prefix: '101' },
              'x-tier': { exact: 'Gold', ignoreCase: true, invert: true },
              'x-n': { range: { start: -5, end: 10 } },
              'x-debug': { present: false },
            },
            queryParams: { debug: { exact: '1' }, trace: { present: true } },
          },
          backends: [{ name: 'shop-v1' }],
          timeout: 15,
        };
      }),
    );
    const route = config.services[0]!.routes[0]!;
    expect(route.name).toBe('canary');
    expect(route.timeoutMs).toBe(15_000);
    expect(route.match).toStrictEqual({
      path: { exact: '/checkout' },
      headers: [
        { name: 'userhash', invert: false, ignoreCase: false, prefix: '101' },
        { name: 'x-tier', invert: true, ignoreCase: true, exact: 'Gold' },
        { name: 'x-n', invert: false, ignoreCase: false, range: { start: -5, end: 10 } },
        { name: 'x-debug', invert: false, ignoreCase: false, present: false },
      ],
      queryParams: [
        { name: 'debug', exact: '1' },
        { name: 'trace', present: true },
      ],
    });
  });

  it('backend fields: connectTimeout, protocol, explicit balancers with defaults', () => {
    const config = configOf({
      backends: [
        { name: 'a', endpoints: ['a:1'], connectTimeout: '250ms', protocol: 'http2', balancer: { type: 'ring_hash', minRingSize: 4096 } },
        { name: 'b', endpoints: ['b:1'], balancer: { type: 'least_request' } },
        { name: 'c', endpoints: ['c:1'], balancer: { type: 'random' } },
        { name: 'd', endpoints: ['d:1'], balancer: { type: 'maglev', tableSize: 5000011 } },
      ],
    });
    expect(config.backends.map((b) => [b.connectTimeoutMs, b.protocol, b.balancer])).toStrictEqual([
      [250, 'http2', { type: 'ring_hash', minRingSize: 4096, maxRingSize: 8388608, ring: 'fixed' }],
      [1000, 'http1', { type: 'least_request', choiceCount: 2 }],
      [1000, 'http1', { type: 'random' }],
      [1000, 'http1', { type: 'maglev', tableSize: 5000011 }],
    ]);
  });

  it('connectTimeout must be > 0; route timeout 0 is allowed (Envoy: no timeout)', () => {
    expect(errorsOf(sticky((c) => (c.backends[0]!.connectTimeout = 0)))).toEqual([
      { path: 'backends[0].connectTimeout', message: 'must be greater than 0' },
    ]);
    expect(configOf(sticky((c) => (c.services[0]!.routes[0]!.timeout = '0s'))).services[0]!.routes[0]!.timeoutMs).toBe(0);
  });

  it('service listeners default to all listeners; an explicit empty list means none', () => {
    const config = configOf(
      sticky((c) => {
        c.listeners.push({ name: 'admin', address: '[::]', port: 9000 });
        c.services.push({ name: 'grpc-only', listeners: [], routes: [{ backends: [{ name: 'shop-v1' }] }] });
      }),
    );
    expect(config.services.map((s) => s.listeners)).toEqual([['http', 'admin'], []]);
    expect(config.listeners[1]!.address).toBe('::');
  });
});

describe('balancer derivation', () => {
  const text = `
services:
  - name: sticky
    listeners: []
    affinity: { keys: [{ header: x-user }] }
    routes:
      - backends: [{ name: a, weight: 1 }, { name: b, weight: 1 }]
  - name: plain
    listeners: []
    routes:
      - backends: [{ name: b, weight: 1 }, { name: c, weight: 1 }]
backends:
  - { name: a, endpoints: ["a:1"] }
  - { name: b, endpoints: ["b:1"] }
  - { name: c, endpoints: ["c:1"] }
  - { name: unused, endpoints: ["d:1"] }
`;
  it('ring_hash where any sticky service routes, round_robin elsewhere', () => {
    expect(configOf(text).backends.map((b) => [b.name, b.balancer])).toStrictEqual([
      ['a', { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' }],
      ['b', { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' }],
      ['c', { type: 'round_robin' }],
      ['unused', { type: 'round_robin' }],
    ]);
  });
});
