import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import xxhashWasm from 'xxhash-wasm';
import {
  buildRing,
  combineHashes,
  DEFAULT_MAX_RING_SIZE,
  DEFAULT_MIN_RING_SIZE,
  hashHeader,
  hashHeaderValues,
  hostKey,
  pick,
  type Ring,
  type RingHost,
  xxh64,
} from './ring-hash-reference';
import { createGrpcRingOracle } from './ring-hash-reference.grpc-oracle';

type XXHashAPI = Awaited<ReturnType<typeof xxhashWasm>>;

const GRPC_DEFAULTS = { minRingSize: DEFAULT_MIN_RING_SIZE, maxRingSize: DEFAULT_MAX_RING_SIZE };

function hosts(n: number, weight = 1): RingHost[] {
  return Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}:8080`, weight }));
}

function users(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user-${i}`);
}

function movedFraction(before: Ring, after: Ring, keys: readonly string[]): number {
  let moved = 0;
  for (const key of keys) if (pick(before, hashHeader(key)) !== pick(after, hashHeader(key))) moved++;
  return moved / keys.length;
}

describe('xxh64 (BigInt reference)', () => {
  // Published vectors (xxHash's own sanity tests and the ports that copy them).
  const vectors: Array<[string, bigint, bigint]> = [
    ['', 0n, 0xef46db3751d8e999n],
    ['', 1n, 0xd5afba1336a3be4bn],
    ['a', 0n, 0xd24ec4f1a98c6e5bn],
    ['abc', 0n, 0x44bc2cf5ad770999n],
    ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
    ['Nobody inspects the spammish repetition', 123n, 0xa8ba45551f24b7aen],
    ['The quick brown fox jumps over the lazy dog', 0n, 0x0b242d361fda71bcn], // 43 bytes: stripes + tail
  ];
  it.each(vectors)('xxh64(%j, %i)', (input, seed, expected) => {
    expect(xxh64(input, seed)).toBe(expected);
  });

  it('hashes strings as UTF-8 and accepts bytes', () => {
    expect(xxh64('é')).toBe(xxh64(new Uint8Array([0xc3, 0xa9])));
    expect(xxh64(new Uint8Array())).toBe(0xef46db3751d8e999n);
  });

  describe('agrees with xxhash-wasm (the copy grpc-js-xds hashes with)', () => {
    let wasm: XXHashAPI;
    beforeAll(async () => {
      wasm = await xxhashWasm();
    });

    it('for every length 0..160 (all tail and stripe paths), several seeds', () => {
      let state = 0x12345678;
      const bytes = new Uint8Array(160);
      for (let i = 0; i < bytes.length; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      for (const seed of [0n, 1n, 0xffffffffffffffffn, 0x9e3779b185ebca87n]) {
        for (let len = 0; len <= bytes.length; len++) {
          const slice = bytes.subarray(0, len);
          expect(xxh64(slice, seed), `len ${len} seed ${seed}`).toBe(wasm.h64Raw(slice, seed));
        }
      }
    });

    it('for ring keys and header values, including non-ASCII', () => {
      for (const s of ['10.0.0.1:8080_0', '[::1]:9090_4095', 'user-42', 'Zoë ✓ 用户', 'x'.repeat(1000)]) {
        expect(xxh64(s)).toBe(wasm.h64(s, 0n));
      }
    });
  });
});

describe('buildRing', () => {
  it('gives equal hosts ceil(min/n) entries each: 3 hosts → 1026 entries', () => {
    const ring = buildRing(hosts(3), GRPC_DEFAULTS);
    expect(ring.entries).toHaveLength(1026);
    expect([...ring.countByAddress.values()]).toEqual([342, 342, 342]);
    for (let i = 1; i < ring.entries.length; i++) expect(ring.entries[i - 1]!.hash <= ring.entries[i]!.hash).toBe(true);
  });

  it('hashes "<ip:port>_<i>" with XXH64 seed 0', () => {
    const ring = buildRing([{ address: '10.0.0.1:8080', weight: 1 }], { minRingSize: 3, maxRingSize: 3 });
    const expected = [0, 1, 2].map((i) => xxh64(`10.0.0.1:8080_${i}`, 0n)).sort((a, b) => (a < b ? -1 : 1));
    expect(ring.entries.map((e) => e.hash)).toEqual(expected);
  });

  it('spreads fractional shares with running totals (Envoy’s 4 hosts, max ring 6 example)', () => {
    const ring = buildRing(hosts(4), { minRingSize: 1024, maxRingSize: 6 });
    expect(ring.scale).toBe(6);
    expect([...ring.countByAddress.values()]).toEqual([2, 1, 2, 1]);
  });

  it('scales so the lightest host gets a whole number of entries', () => {
    const ring = buildRing(
      [
        { address: 'a:1', weight: 1 },
        { address: 'b:1', weight: 2 },
        { address: 'c:1', weight: 4 },
      ],
      { minRingSize: 100, maxRingSize: 1000 },
    );
    // minNorm = 1/7 → ceil(100/7) = 15 → scale 105: 15, 30, 60.
    expect(ring.entries).toHaveLength(105);
    expect([...ring.countByAddress.values()]).toEqual([15, 30, 60]);
  });

  it('caps both sizes at grpc-js-xds’s ring_size_cap (4096) unless told otherwise', () => {
    expect(buildRing(hosts(2), { minRingSize: 10_000, maxRingSize: 20_000 }).entries).toHaveLength(4096);
    expect(buildRing(hosts(2), { minRingSize: 10_000, maxRingSize: 20_000, ringSizeCap: Infinity }).entries).toHaveLength(10_000);
    // Envoy would reject min > max; grpc-js-xds lets the maximum win.
    expect(buildRing(hosts(2), { minRingSize: 64, maxRingSize: 16 }).entries).toHaveLength(16);
  });

  it('merges duplicate addresses, summing their weights, at the first position', () => {
    const ring = buildRing(
      [
        { address: 'a:1', weight: 1 },
        { address: 'b:1', weight: 1 },
        { address: 'a:1', weight: 2 },
      ],
      { minRingSize: 8, maxRingSize: 8 },
    );
    expect([...ring.countByAddress.entries()]).toEqual([
      ['a:1', 6],
      ['b:1', 2],
    ]);
  });

  it('has no entries and refuses to pick without hosts', () => {
    const ring = buildRing([], GRPC_DEFAULTS);
    expect(ring.entries).toHaveLength(0);
    expect(() => pick(ring, 1n)).toThrow(/empty ring/);
  });
});

describe('pick', () => {
  const ring = buildRing(hosts(3), { minRingSize: 6, maxRingSize: 6 });
  const e = ring.entries;

  it('takes the first entry whose hash is >= the request hash', () => {
    expect(pick(ring, e[2]!.hash)).toBe(e[2]!.address);
    expect(pick(ring, e[2]!.hash - 1n)).toBe(e[2]!.address);
    expect(pick(ring, e[2]!.hash + 1n)).toBe(e[3]!.address);
    expect(pick(ring, 0n)).toBe(e[0]!.address);
  });

  it('wraps past the last entry to the first', () => {
    expect(pick(ring, e[e.length - 1]!.hash + 1n)).toBe(e[0]!.address);
    expect(pick(ring, 0xffffffffffffffffn)).toBe(e[0]!.address);
  });
});

describe('request hashes', () => {
  it('hashes one header value with XXH64 seed 0', () => {
    expect(hashHeader('abc')).toBe(0x44bc2cf5ad770999n);
  });

  it('joins repeated values with "," for gRPC, sorts and concatenates for Envoy', () => {
    expect(hashHeaderValues(['b', 'a'])).toBe(xxh64('b,a'));
    expect(hashHeaderValues(['b', 'a'], 'envoy')).toBe(xxh64('ab'));
    expect(hashHeaderValues(['only'], 'envoy')).toBe(hashHeader('only'));
  });

  it('folds several policies with rotl64(h, 1) ^ h_i', () => {
    expect(combineHashes([5n])).toBe(5n);
    expect(combineHashes([0x8000000000000001n, 1n])).toBe(0x3n ^ 1n);
  });

  it('brackets IPv6 host keys', () => {
    expect(hostKey('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(hostKey('::1', 80)).toBe('[::1]:80');
  });
});

describe('distribution', () => {
  const keys = users(20_000);

  it('respects weights approximately (1:3 → ~25 % / 75 %)', () => {
    const ring = buildRing(
      [
        { address: '10.0.0.1:8080', weight: 1 },
        { address: '10.0.0.2:8080', weight: 3 },
      ],
      GRPC_DEFAULTS,
    );
    const light = keys.filter((k) => pick(ring, hashHeader(k)) === '10.0.0.1:8080').length / keys.length;
    expect(light).toBeGreaterThan(0.2);
    expect(light).toBeLessThan(0.3);
  });

  it('moves about a third of the keys going from 3 to 4 equal hosts with the default ring', () => {
    const moved = movedFraction(buildRing(hosts(3), GRPC_DEFAULTS), buildRing(hosts(4), GRPC_DEFAULTS), keys);
    // Field notes §3 measured 33.5 %; the ideal (only the new host's share) is 25 %.
    expect(moved).toBeGreaterThan(0.3);
    expect(moved).toBeLessThan(0.37);
  });

  it('moves close to the ideal share when the ring grows with the total weight', () => {
    const sized = (n: number) => ({ minRingSize: 1024 * n, maxRingSize: DEFAULT_MAX_RING_SIZE, ringSizeCap: Infinity });
    const moved = movedFraction(buildRing(hosts(3), sized(3)), buildRing(hosts(4), sized(4)), keys);
    expect(moved).toBeGreaterThan(0.22);
    expect(moved).toBeLessThan(0.28);
  });

  it('also moves keys between old hosts, because every old host loses points', () => {
    const before = buildRing(hosts(3), GRPC_DEFAULTS);
    const after = buildRing(hosts(4), GRPC_DEFAULTS);
    let toNew = 0;
    let betweenOld = 0;
    for (const key of keys) {
      const a = pick(before, hashHeader(key));
      const b = pick(after, hashHeader(key));
      if (a === b) continue;
      if (b === '10.0.0.4:8080') toNew++;
      else betweenOld++;
    }
    // A host's points are "<addr>_0".."<addr>_{k-1}": shrinking k from 342 to 256 removes
    // points, and a key whose point vanished falls through to the next one, often an old host.
    expect(toNew / keys.length).toBeGreaterThan(0.2);
    expect(betweenOld / keys.length).toBeGreaterThan(0.03);
  });
});

describe('matches the real @grpc/grpc-js-xds ring_hash balancer pick for pick', () => {
  const cases: Array<{
    name: string;
    hosts: Array<{ ip: string; port: number; weight: number }>;
    config: { minRingSize: number; maxRingSize: number; ringSizeCap?: number };
  }> = [
    {
      name: '3 equal IPv4 hosts, default sizes',
      hosts: [1, 2, 3].map((i) => ({ ip: `10.0.0.${i}`, port: 8080, weight: 1 })),
      config: GRPC_DEFAULTS,
    },
    {
      name: '4 hosts, weights 1/2/3/5, IPv6 among them',
      hosts: [
        { ip: '10.1.0.1', port: 9090, weight: 1 },
        { ip: '::1', port: 9091, weight: 2 },
        { ip: '10.1.0.3', port: 9092, weight: 3 },
        { ip: 'fd00::4', port: 9093, weight: 5 },
      ],
      config: GRPC_DEFAULTS,
    },
    {
      name: 'tiny ring with fractional shares',
      hosts: [1, 2, 3, 4].map((i) => ({ ip: `127.0.0.${i}`, port: 7000 + i, weight: 1 })),
      config: { minRingSize: 5, maxRingSize: 6 },
    },
    {
      name: 'raised ring_size_cap',
      hosts: [1, 2, 3].map((i) => ({ ip: `192.168.0.${i}`, port: 80, weight: i })),
      config: { minRingSize: 6000, maxRingSize: 8000, ringSizeCap: 10_000 },
    },
  ];

  const closers: Array<() => void> = [];
  afterAll(() => closers.forEach((close) => close()));

  it.each(cases)('$name', async ({ hosts: hs, config }) => {
    const oracle = await createGrpcRingOracle(hs, config);
    closers.push(() => oracle.close());
    const ring = buildRing(
      hs.map((h) => ({ address: hostKey(h.ip, h.port), weight: h.weight })),
      config,
    );
    // Request hashes of real session keys, plus every ring point and its neighbours (the
    // boundaries are where an off-by-one in the lookup would show).
    const probes = users(3000).map(hashHeader);
    for (const entry of ring.entries.slice(0, 300)) probes.push(entry.hash - 1n, entry.hash, entry.hash + 1n);
    probes.push(0n, 1n, 0xffffffffffffffffn);
    let mismatches = 0;
    for (const h of probes) if ((await oracle.pick(h)) !== pick(ring, h)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('is discriminating: a ring of another size disagrees with it', async () => {
    const { hosts: hs, config } = cases[0]!;
    const oracle = await createGrpcRingOracle(hs, config);
    closers.push(() => oracle.close());
    const ring = buildRing(
      hs.map((h) => ({ address: hostKey(h.ip, h.port), weight: h.weight })),
      { ...config, minRingSize: config.minRingSize * 2 },
    );
    let mismatches = 0;
    for (const h of users(3000).map(hashHeader)) if ((await oracle.pick(h)) !== pick(ring, h)) mismatches++;
    expect(mismatches).toBeGreaterThan(0);
  });
});
