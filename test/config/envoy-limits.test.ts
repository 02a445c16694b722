/**
 * Limits Envoy enforces that a config can reach, refused at validation with the field named
 * (test/envoy-real/config-limits.test.ts shows Envoy's side of each on a real Envoy).
 */
import { describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES } from '../../src/config';
import { configOf, errorsOf, expectOnlyError, sticky } from './helpers';

describe("Envoy's limits, checked before anything is served", () => {
  it("endpoint weights of a backend (one locality) add up to at most 4294967295", () => {
    const at = sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:80', weight: 4294967294 }, '10.0.0.2:80']));
    expect(configOf(at).backends[0]!.endpoints.map((e) => e.weight)).toEqual([4294967294, 1]);
    expectOnlyError(
      sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:80', weight: 4294967295 }, '10.0.0.2:80'])),
      'backends[0].endpoints',
      'endpoint weights add up to 4294967296; Envoy takes at most 4294967295 for one backend (one locality)',
    );
  });

  it('header names and values to set or add are at most 16384 bytes (HeaderValue)', () => {
    const value = (n: number) => sticky((c) => (c.services[0]!.routes[0]!.headers = { request: { set: { 'x-a': 'v'.repeat(n) } } }));
    expect(configOf(value(16_384)).services[0]!.routes[0]!.requestHeaders.set[0]!.value).toHaveLength(16_384);
    expectOnlyError(value(16_385), 'services[0].routes[0].headers.request.set.x-a', 'is 16385 bytes long; Envoy takes header values of at most 16384 bytes');
    const name = 'x'.repeat(16_385);
    expect(errorsOf(sticky((c) => (c.services[0]!.routes[0]!.headers = { response: { add: { [name]: 'v' } } })))).toEqual([
      { path: `services[0].routes[0].headers.response.add.${name}`, message: 'is 16385 bytes long; Envoy takes header names of at most 16384 bytes' },
    ]);
    // Multi-byte characters count as bytes, as Envoy counts them.
    expect(errorsOf(sticky((c) => (c.services[0]!.routes[0]!.headers = { request: { add: { 'x-b': 'é'.repeat(8_193) } } })))).toEqual([
      { path: 'services[0].routes[0].headers.request.add.x-b', message: 'is 16386 bytes long; Envoy takes header values of at most 16384 bytes' },
    ]);
  });

  it("durations: at most 9223372035s (~292 years), Envoy's largest", () => {
    // Envoy refuses a Duration from 9223372036 s on ("Duration out-of-range"; bisected on 1.40).
    const route = (timeout: unknown) => sticky((c) => (c.services[0]!.routes[0]!.timeout = timeout));
    expect(configOf(route('9223372035s')).services[0]!.routes[0]!.timeoutMs).toBe(9_223_372_035_000);
    expect(configOf(route(9_223_372_035)).services[0]!.routes[0]!.timeoutMs).toBe(9_223_372_035_000);
    const tooLong = 'is longer than 9223372035s (about 292 years), the longest duration Envoy takes';
    expectOnlyError(route('9223372036s'), 'services[0].routes[0].timeout', tooLong);
    expectOnlyError(route('9223372035001ms'), 'services[0].routes[0].timeout', tooLong);
    const cookie = sticky((c) => (c.services[0]!.affinity = { keys: [{ cookie: { name: 's', ttl: '2562047788015h' } }] }));
    expectOnlyError(cookie, 'services[0].affinity.keys[0].cookie.ttl', tooLong);
  });
});

describe('the size of a whole config', () => {
  it('is at most 16 MiB as JSON (what the admin API can hand back)', () => {
    // Checked before the schema: the first error is the size, alone.
    const set = Object.fromEntries(Array.from({ length: 1_050 }, (_, i) => [`x-h${i}`, 'v'.repeat(16_000)]));
    const big = sticky((c) => (c.services[0]!.routes[0]!.headers = { request: { set } }));
    const bytes = Buffer.byteLength(JSON.stringify(big));
    expect(bytes).toBeGreaterThan(MAX_CONFIG_BYTES);
    expect(errorsOf(big)).toEqual([{ path: '', message: `the config is ${bytes} bytes as JSON; Tether takes at most ${MAX_CONFIG_BYTES} (16 MiB)` }]);
  });
});
