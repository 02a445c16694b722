import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalIp, compareBytesForTest, envoyAddress, foldHash, hex64, initHashing, rotl64, splitHostPort, xxh64 } from './helpers';
import { combineHashes, xxh64 as referenceXxh64 } from '../support/ring-hash-reference';

beforeAll(() => initHashing());

describe('xxh64', () => {
  // xxHash's published sanity values.
  const vectors: Array<[string, bigint, bigint]> = [
    ['', 0n, 0xef46db3751d8e999n],
    ['', 1n, 0xd5afba1336a3be4bn],
    ['a', 0n, 0xd24ec4f1a98c6e5bn],
    ['abc', 0n, 0x44bc2cf5ad770999n],
    ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
    ['Nobody inspects the spammish repetition', 123n, 0xa8ba45551f24b7aen],
    ['The quick brown fox jumps over the lazy dog', 0n, 0x0b242d361fda71bcn],
  ];
  it.each(vectors)('xxh64(%j, %i)', (input, seed, expected) => {
    expect(xxh64(input, seed)).toBe(expected);
  });

  it('hashes Envoy’s ring keys to the positions its tests list', () => {
    // ring_hash_lb_test.cc, Basic: 127.0.0.1:90 has 1033482794131418490 and 16117243373044804889.
    const positions = [xxh64('127.0.0.1:90_0'), xxh64('127.0.0.1:90_1')].sort((a, b) => (a < b ? -1 : 1));
    expect(positions).toEqual([1033482794131418490n, 16117243373044804889n]);
  });

  it('agrees with the independent BigInt reference on strings and bytes, all seeds used', () => {
    const inputs = ['', 'x', 'user-42', '10.0.0.1:8080_1023', '[::1]:9090_7', 'Zoë ✓ 用户', 'y'.repeat(257)];
    for (const s of inputs) for (const seed of [0n, 1n, 0xffffffffffffffffn]) expect(xxh64(s, seed)).toBe(referenceXxh64(s, seed));
    const bytes = new Uint8Array(100).map((_, i) => (i * 37) & 0xff);
    for (let len = 0; len <= bytes.length; len += 7) expect(xxh64(bytes.subarray(0, len))).toBe(referenceXxh64(bytes.subarray(0, len)));
  });
});

describe('folding and formatting', () => {
  it('folds as rotl64(h, 1) ^ next, taking the first hash as is', () => {
    expect(rotl64(0x8000000000000001n, 1)).toBe(3n);
    expect(foldHash(undefined, 5n)).toBe(5n);
    const hs = [xxh64('a'), xxh64('b'), xxh64('c')];
    expect(hs.reduce<bigint | undefined>((acc, h) => foldHash(acc, h), undefined)).toBe(combineHashes(hs));
  });

  it('prints uint64 as Envoy’s Hex::uint64ToHex does: 16 lowercase digits, zero-padded', () => {
    expect(hex64(0n)).toBe('0000000000000000');
    expect(hex64(0xabcn)).toBe('0000000000000abc');
    expect(hex64(0xef46db3751d8e999n)).toBe('ef46db3751d8e999');
  });

  it('orders strings by UTF-8 bytes, as std::string_view comparison does', () => {
    expect(compareBytesForTest('a', 'b')).toBeLessThan(0);
    expect(compareBytesForTest('ab', 'a')).toBeGreaterThan(0);
    // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    expect(compareBytesForTest('\uff5e', '😀')).toBeLessThan(0);
    expect('\uff5e' < '😀').toBe(false);
  });
});

describe('addresses', () => {
  it('prints IPs like inet_ntop', () => {
    expect(canonicalIp('10.0.0.1')).toBe('10.0.0.1');
    // An IPv4 literal is already in Envoy's form: node:net refuses leading zeros (so '010.0.0.1'
    // is no IP, returned unchanged, as Envoy would refuse it as an endpoint address).
    expect(canonicalIp('010.0.0.1')).toBe('010.0.0.1');
    expect(canonicalIp('255.0.9.10')).toBe('255.0.9.10');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(canonicalIp('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(canonicalIp('::FFFF:10.1.2.3')).toBe('::ffff:10.1.2.3');
    expect(canonicalIp('::ffff:a01:203')).toBe('::ffff:10.1.2.3');
  });

  it('brackets IPv6 in ip:port', () => {
    expect(envoyAddress('::1', 80)).toBe('[::1]:80');
    expect(envoyAddress('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });

  it('splits host and port', () => {
    expect(splitHostPort('10.0.0.1:8080')).toEqual({ ip: '10.0.0.1', port: 8080 });
    expect(splitHostPort('10.0.0.1')).toEqual({ ip: '10.0.0.1' });
    expect(splitHostPort('[::1]:9')).toEqual({ ip: '::1', port: 9 });
    expect(splitHostPort('::1')).toEqual({ ip: '::1' });
    expect(splitHostPort('example.com:80')).toBeUndefined();
  });
});
