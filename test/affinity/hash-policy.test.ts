import { beforeAll, describe, expect, it } from 'vitest';
import type { AffinityKey } from '../../src/model/types';
import { createPicker, equalEndpoints, hex64, initHashing, requestHash, xxh64 } from './helpers';
import { combineHashes, xxh64 as referenceXxh64 } from '../support/ring-hash-reference';

beforeAll(() => initHashing());

const header = (name: string, terminal = false): AffinityKey => ({ kind: 'header', name, terminal });
const cookie = (name: string, ttlMs?: number, path?: string): AffinityKey => ({
  kind: 'cookie',
  name,
  terminal: false,
  ...(ttlMs === undefined ? {} : { ttlMs }),
  ...(path === undefined ? {} : { path }),
});
const clientIp: AffinityKey = { kind: 'clientIp', terminal: false };
const query = (name: string): AffinityKey => ({ kind: 'queryParameter', name, terminal: false });

describe('header keys', () => {
  it('hash one value with XXH64 seed 0, the name matched case-insensitively', () => {
    for (const flavour of ['envoy', 'grpc'] as const) {
      const r = requestHash([header('X-User')], { headers: { 'x-user': 'abc' } }, flavour);
      expect(r.hash).toBe(0x44bc2cf5ad770999n);
      expect(r.usedKeys).toEqual(['header:x-user']);
    }
  });

  it('Envoy: several values are sorted (bytewise) and chained, each hashed with the previous hash as seed', () => {
    const r = requestHash([header('x-user')], { headers: { 'X-User': ['b', 'a', 'c'] } }, 'envoy');
    // Envoy 1.40 HashUtil::xxHash64(Span): not XXH64("abc") (measured through Envoy, test/envoy-real/affinity.test.ts).
    expect(r.hash).toBe(referenceXxh64('c', referenceXxh64('b', referenceXxh64('a'))));
    expect(r.hash).not.toBe(referenceXxh64('abc'));
    expect(r.steps[0]).toMatchObject({ outcome: 'hashed', input: 'a, b, c' });
    const reordered = requestHash([header('x-user')], { headers: { 'x-user': ['c', 'a', 'b'] } }, 'envoy');
    expect(reordered.hash).toBe(r.hash);
  });

  it('gRPC: several values are joined with "," in arrival order', () => {
    const r = requestHash([header('x-user')], { headers: { 'x-user': ['b', 'a'] } }, 'grpc');
    expect(r.hash).toBe(referenceXxh64('b,a'));
  });

  it('an empty value still hashes (the header is present)', () => {
    expect(requestHash([header('x-user')], { headers: { 'x-user': '' } }, 'envoy').hash).toBe(xxh64(''));
  });

  it('gRPC: "-bin" headers never yield; content-type always hashes "application/grpc"', () => {
    expect(requestHash([header('trace-bin')], { headers: { 'trace-bin': 'x' } }, 'grpc').hash).toBeUndefined();
    expect(requestHash([header('content-type')], { headers: { 'content-type': 'application/grpc+proto' } }, 'grpc').hash).toBe(
      xxh64('application/grpc'),
    );
  });
});

describe('folding and terminal keys', () => {
  const keys = [header('a'), header('b'), header('c')];

  it('folds every key that yields, in order, as rotl64(h,1) ^ h_i', () => {
    const r = requestHash(keys, { headers: { a: '1', c: '3' } }, 'envoy');
    expect(r.hash).toBe(combineHashes([xxh64('1'), xxh64('3')]));
    expect(r.usedKeys).toEqual(['header:a', 'header:c']);
    expect(r.steps.map((s) => s.outcome)).toEqual(['hashed', 'absent', 'hashed']);
  });

  it('stops after a terminal key once a hash exists, even if the terminal key itself had no value', () => {
    const withTerminal = [header('a'), header('b', true), header('c')];
    const hit = requestHash(withTerminal, { headers: { b: '2', c: '3' } }, 'envoy');
    expect(hit.hash).toBe(xxh64('2'));
    expect(hit.steps.map((s) => s.outcome)).toEqual(['absent', 'hashed', 'skipped']);
    const earlier = requestHash(withTerminal, { headers: { a: '1', c: '3' } }, 'grpc');
    expect(earlier.hash).toBe(xxh64('1'));
    const none = requestHash(withTerminal, { headers: { c: '3' } }, 'envoy');
    expect(none.hash).toBe(xxh64('3'));
  });

  it('no value at all: no hash (the balancer picks at random)', () => {
    const r = requestHash(keys, {}, 'envoy');
    expect(r.hash).toBeUndefined();
    expect(r.usedKeys).toEqual([]);
  });

  it('gRPC drops non-header keys entirely, their terminal flag included', () => {
    const mixed: AffinityKey[] = [header('a'), { kind: 'clientIp', terminal: true }, header('b')];
    const r = requestHash(mixed, { headers: { a: '1', b: '2' }, clientIp: '10.1.1.1' }, 'grpc');
    expect(r.hash).toBe(combineHashes([xxh64('1'), xxh64('2')]));
    expect(r.steps.map((s) => s.outcome)).toEqual(['hashed', 'ignored', 'hashed']);
    const envoy = requestHash(mixed, { headers: { a: '1', b: '2' }, clientIp: '10.1.1.1' }, 'envoy');
    expect(envoy.hash).toBe(combineHashes([xxh64('1'), xxh64('10.1.1.1')]));
  });
});

describe('client IP and query keys (Envoy)', () => {
  it('hashes the IP alone: no port, IPv6 unbracketed and canonical', () => {
    expect(requestHash([clientIp], { clientIp: '10.1.2.3:51234' }, 'envoy').hash).toBe(xxh64('10.1.2.3'));
    expect(requestHash([clientIp], { clientIp: '[2001:DB8::0:1]:443' }, 'envoy').hash).toBe(xxh64('2001:db8::1'));
    expect(requestHash([clientIp], {}, 'envoy').hash).toBeUndefined();
    expect(requestHash([clientIp], { clientIp: 'unix:/tmp/sock' }, 'envoy').hash).toBeUndefined();
  });

  it('takes the first raw value of a query parameter, undecoded; a bare name is ""', () => {
    expect(requestHash([query('u')], { path: '/p?x=1&u=a%20b&u=2' }, 'envoy').hash).toBe(xxh64('a%20b'));
    expect(requestHash([query('u')], { path: '/p?u' }, 'envoy').hash).toBe(xxh64(''));
    expect(requestHash([query('u')], { path: '/p?x=u=1' }, 'envoy').hash).toBeUndefined();
    expect(requestHash([query('u')], { path: '/p?u=a=b' }, 'envoy').hash).toBe(xxh64('a=b'));
    expect(requestHash([query('u')], { query: { u: 'v' }, path: '/p?u=w' }, 'envoy').hash).toBe(xxh64('v'));
  });

  it('gRPC ignores both (random hash)', () => {
    expect(requestHash([clientIp, query('u')], { clientIp: '10.1.2.3', query: { u: 'v' } }, 'grpc').hash).toBeUndefined();
  });
});

describe('cookie keys (Envoy)', () => {
  it('hashes a present cookie’s value, quotes removed', () => {
    expect(requestHash([cookie('sid')], { cookies: { sid: 'abc' } }, 'envoy').hash).toBe(xxh64('abc'));
    expect(requestHash([cookie('sid')], { cookies: { sid: '"abc"' } }, 'envoy').hash).toBe(xxh64('abc'));
  });

  it('parses Cookie headers like Envoy: first match, leading spaces skipped, value to the end', () => {
    const h = (v: string | string[]) => requestHash([cookie('sid')], { headers: { cookie: v } }, 'envoy').hash;
    expect(h('a=1; sid=abc; sid=zzz')).toBe(xxh64('abc'));
    expect(h(['a=1', 'sid="abc"'])).toBe(xxh64('abc'));
    expect(h('sid =abc')).toBeUndefined(); // the name is "sid "
    expect(h('a=1;sid=x y ')).toBe(xxh64('x y '));
  });

  it('without ttl, an absent or empty cookie yields nothing', () => {
    expect(requestHash([cookie('sid')], {}, 'envoy').hash).toBeUndefined();
    expect(requestHash([cookie('sid')], { cookies: { sid: '' } }, 'envoy').hash).toBeUndefined();
  });

  const connection = { remote: '10.9.8.7:51234', local: '10.0.0.100:8080' };

  it('with ttl, Envoy generates hex(XXH64(remote + local)) and hashes that value', () => {
    const r = requestHash([cookie('sid', 3_600_000, '/')], { connection }, 'envoy');
    const value = referenceXxh64('10.9.8.7:5123410.0.0.100:8080').toString(16).padStart(16, '0');
    expect(r.generatedCookie).toEqual({ name: 'sid', value, setCookie: `sid="${value}"; Max-Age=3600; Path=/; HttpOnly` });
    expect(r.hash).toBe(xxh64(value));
    expect(r.steps[0]!.outcome).toBe('generated');
  });

  it('brackets IPv6 connection addresses, and reads the ttl as whole seconds (0 → session cookie)', () => {
    const v6 = requestHash([cookie('sid', 0)], { connection: { remote: '[2001:db8::9]:5000', local: '[::1]:80' } }, 'envoy');
    expect(v6.generatedCookie!.value).toBe(hex64(xxh64('[2001:db8::9]:5000[::1]:80')));
    expect(v6.generatedCookie!.setCookie).toBe(`sid="${v6.generatedCookie!.value}"; HttpOnly`);
    const sub = requestHash([cookie('sid', 1999)], { connection }, 'envoy');
    expect(sub.generatedCookie!.setCookie).toMatch(/; Max-Age=1; HttpOnly$/);
    const subSecond = requestHash([cookie('sid', 999)], { connection }, 'envoy');
    expect(subSecond.generatedCookie!.setCookie).not.toMatch(/Max-Age/);
  });

  it('the first request (cookie generated) and later ones (cookie sent back) land on the same replica', () => {
    const keys = [cookie('sid', 60_000)];
    const picker = createPicker(equalEndpoints(5), { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8_388_608 }, { flavour: 'envoy' })!;
    for (let i = 0; i < 200; i++) {
      const conn = { remote: `192.168.${i >> 8}.${i & 255}:${40000 + i}`, local: '10.0.0.100:8080' };
      const first = requestHash(keys, { connection: conn }, 'envoy');
      const setCookie = first.generatedCookie!.setCookie;
      // What a browser sends back: name=value from the Set-Cookie header, quotes and all.
      const echoed = setCookie.slice(0, setCookie.indexOf(';'));
      const later = requestHash(keys, { headers: { cookie: `other=1; ${echoed}` }, clientIp: '172.16.0.1' }, 'envoy');
      expect(later.steps[0]!.outcome).toBe('hashed');
      expect(later.hash).toBe(first.hash);
      expect(picker.pick(later.hash!)).toBe(picker.pick(first.hash!));
    }
  });

  it('without the connection addresses the generated value is unpredictable, not random', () => {
    const r = requestHash([cookie('sid', 1000), header('x')], { headers: { x: '1' } }, 'envoy');
    expect(r.hash).toBeUndefined();
    expect(r.unpredictable).toMatch(/connection/);
    expect(r.steps.map((s) => s.outcome)).toEqual(['unpredictable', 'skipped']);
  });

  it('gRPC never generates cookies', () => {
    const r = requestHash([cookie('sid', 1000)], { connection }, 'grpc');
    expect(r.hash).toBeUndefined();
    expect(r.generatedCookie).toBeUndefined();
  });
});
