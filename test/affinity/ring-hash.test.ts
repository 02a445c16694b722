import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  balancerHosts,
  buildRing,
  createPicker,
  envoyTestEndpoints,
  equalEndpoints,
  initHashing,
  ringIndex,
  ringPick,
  ringShares,
  syntheticHashes,
  xxh64,
  type AffinityEndpoint,
  type HashRing,
} from './helpers';
import { buildRing as referenceRing, pick as referencePick } from '../support/ring-hash-reference';
import { createGrpcRingOracle, type GrpcRingOracle } from '../support/ring-hash-reference.grpc-oracle';

beforeAll(() => initHashing());

const MAX = 8_388_608;
const ports = [90, 91, 92, 93, 94, 95];

function envoyRing(endpoints: AffinityEndpoint[], minRingSize: number, maxRingSize = MAX): HashRing {
  return buildRing(balancerHosts(endpoints, 'envoy'), { flavour: 'envoy', minRingSize, maxRingSize });
}

function ringTable(ring: HashRing): Array<[string, bigint]> {
  return [...ring.hashes].map((h, i) => [ring.hosts[ring.owners[i]!]!.key, h]);
}

// test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc
describe('Envoy known vectors (ring_hash_lb_test.cc)', () => {
  it('Basic: 6 hosts, minimum_ring_size 12 → the listed ring, and its picks', () => {
    const ring = envoyRing(envoyTestEndpoints(ports), 12);
    expect(ring.pointsPerHost).toEqual([2, 2, 2, 2, 2, 2]);
    expect(ringTable(ring)).toEqual([
      ['127.0.0.1:94', 833437586790550860n],
      ['127.0.0.1:92', 928266305478181108n],
      ['127.0.0.1:90', 1033482794131418490n],
      ['127.0.0.1:95', 3551244743356806947n],
      ['127.0.0.1:93', 3851675632748031481n],
      ['127.0.0.1:91', 5583722120771150861n],
      ['127.0.0.1:91', 6311230543546372928n],
      ['127.0.0.1:93', 7700377290971790572n],
      ['127.0.0.1:95', 13144177310400110813n],
      ['127.0.0.1:92', 13444792449719432967n],
      ['127.0.0.1:94', 15516499411664133160n],
      ['127.0.0.1:90', 16117243373044804889n],
    ]);
    expect(ringPick(ring, 0n)).toBe('127.0.0.1:94');
    expect(ringPick(ring, 0xffffffffffffffffn)).toBe('127.0.0.1:94');
    expect(ringPick(ring, 3551244743356806947n)).toBe('127.0.0.1:95');
    expect(ringPick(ring, 3551244743356806948n)).toBe('127.0.0.1:93');
    expect(ringPick(ring, 16117243373044804880n)).toBe('127.0.0.1:90');
  });

  it('BasicWithHostname / BasicWithMetadataHashKey: hosts keyed "90".."95"', () => {
    const keyed = envoyTestEndpoints(ports).map((e) => ({ ...e, hashKey: String(e.port) }));
    const ring = envoyRing(keyed, 12);
    expect(ringTable(ring)).toEqual([
      ['95', 1975508444536362413n],
      ['95', 2376063919839173711n],
      ['93', 2386806903309390596n],
      ['94', 6749904478991551885n],
      ['93', 6803900775736438537n],
      ['92', 7225015537174310577n],
      ['90', 8787465352164086522n],
      ['92', 11282020843382717940n],
      ['91', 13723418369486627818n],
      ['90', 13776502110861797421n],
      ['91', 14338313586354474791n],
      ['94', 15364271037087512980n],
    ]);
    expect(ringPick(ring, 0n)).toBe('127.0.0.1:95');
    expect(ringPick(ring, 7225015537174310577n)).toBe('127.0.0.1:92');
    expect(ringPick(ring, 6803900775736438537n)).toBe('127.0.0.1:93');
  });

  it('UnevenHosts: 2 hosts, minimum 3 → 4 entries', () => {
    const ring = envoyRing(envoyTestEndpoints([80, 81]), 3);
    expect(ringTable(ring)).toEqual([
      ['127.0.0.1:80', 5454692015285649509n],
      ['127.0.0.1:81', 7859399908942313493n],
      ['127.0.0.1:80', 13838424394637650569n],
      ['127.0.0.1:81', 16064866803292627174n],
    ]);
    const next = envoyRing(envoyTestEndpoints([81, 82]), 3);
    expect(ringTable(next)).toEqual([
      ['127.0.0.1:81', 7859399908942313493n],
      ['127.0.0.1:82', 8241336090459785962n],
      ['127.0.0.1:82', 12882406409176325258n],
      ['127.0.0.1:81', 16064866803292627174n],
    ]);
    expect(ringPick(next, 0n)).toBe('127.0.0.1:81');
  });

  it('HostWeightedTinyRing: weights 1, 2, 3 in a ring of exactly 6', () => {
    const ring = envoyRing(envoyTestEndpoints([90, 91, 92], [1, 2, 3]), 6, 6);
    expect(ring.pointsPerHost).toEqual([1, 2, 3]);
    const expected: Array<[bigint, number]> = [
      [928266305478181108n, 92],
      [4443673547860492590n, 92],
      [5583722120771150861n, 91],
      [6311230543546372928n, 91],
      [13444792449719432967n, 92],
      [16117243373044804889n, 90],
    ];
    for (const [hash, port] of expected) expect(ringPick(ring, hash)).toBe(`127.0.0.1:${port}`);
  });

  it('rejects minimum_ring_size > maximum_ring_size like Envoy', () => {
    expect(() => envoyRing(envoyTestEndpoints(ports), 20, 10)).toThrow('ring hash: minimum_ring_size (20) > maximum_ring_size (10)');
  });
});

describe('ring construction', () => {
  it('spreads fractional shares with running totals (Envoy’s comment: 4 hosts, max 6 → 2,1,2,1)', () => {
    expect(envoyRing(equalEndpoints(4), 5, 6).pointsPerHost).toEqual([2, 1, 2, 1]);
  });

  it('gRPC clamps min and max to the cap (4096 by default) and lets max win over min', () => {
    const hosts = balancerHosts(equalEndpoints(2), 'grpc');
    expect(buildRing(hosts, { flavour: 'grpc', minRingSize: 10_000, maxRingSize: 20_000 }).hashes).toHaveLength(4096);
    expect(buildRing(hosts, { flavour: 'grpc', minRingSize: 10_000, maxRingSize: 20_000, ringSizeCap: 16_384 }).hashes).toHaveLength(10_000);
    expect(buildRing(hosts, { flavour: 'grpc', minRingSize: 64, maxRingSize: 16 }).hashes).toHaveLength(16);
    expect(buildRing(hosts, { flavour: 'envoy', minRingSize: 10_000, maxRingSize: 20_000 }).hashes).toHaveLength(10_000);
  });

  it('leaves drained endpoints out and merges duplicate addresses', () => {
    const hosts = balancerHosts(
      [
        { ip: '10.0.0.1', port: 80, weight: 1 },
        { ip: '10.0.0.2', port: 80, weight: 5, drain: true },
        { ip: '10.0.0.1', port: 80, weight: 2 },
      ],
      'envoy',
    );
    expect(hosts).toEqual([{ address: '10.0.0.1:80', key: '10.0.0.1:80', weight: 3 }]);
  });

  it('finds the first entry >= the hash, wrapping past the last (ketama search)', () => {
    const ring = envoyRing(equalEndpoints(3), 30);
    const h = ring.hashes;
    for (let i = 0; i < h.length; i++) {
      expect(ringIndex(ring, h[i]!)).toBe(i);
      expect(ringIndex(ring, h[i]! - 1n)).toBe(i === 0 || h[i - 1] !== h[i]! - 1n ? i : i - 1);
      expect(ringIndex(ring, h[i]! + 1n)).toBe((i + 1) % h.length);
    }
    expect(ringIndex(ring, 0n)).toBe(0);
    expect(ringIndex(ring, 0xffffffffffffffffn)).toBe(0);
  });

  it('shares of the hash space sum to 1 and follow the weights', () => {
    const ring = envoyRing(equalEndpoints(2).map((e, i) => ({ ...e, weight: i + 1 })), 1024);
    const shares = [...ringShares(ring).values()];
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(shares[0]!).toBeGreaterThan(0.28);
    expect(shares[0]!).toBeLessThan(0.39);
  });
});

describe('agreement with the independent reference (test/support/ring-hash-reference.ts)', () => {
  const configs: Array<{ name: string; endpoints: AffinityEndpoint[]; min: number; max: number; cap: number }> = [
    { name: '3 equal, defaults, gRPC cap', endpoints: equalEndpoints(3), min: 1024, max: MAX, cap: 4096 },
    { name: '7 weighted, min 100', endpoints: equalEndpoints(7).map((e, i) => ({ ...e, weight: (i % 3) + 1 })), min: 100, max: 1000, cap: 4096 },
    { name: '10 equal, stable 10240, no cap', endpoints: equalEndpoints(10), min: 10_240, max: MAX, cap: Infinity },
    { name: 'IPv6 hosts', endpoints: [1, 2, 3].map((i) => ({ ip: `2001:db8::${i}`, port: 443, weight: i })), min: 1024, max: MAX, cap: 4096 },
  ];

  it.each(configs)('$name: same ring and same picks for 2000 keys', ({ endpoints, min, max, cap }) => {
    const flavour = cap === Infinity ? 'envoy' : 'grpc';
    const ours = buildRing(balancerHosts(endpoints, flavour), {
      flavour,
      minRingSize: min,
      maxRingSize: max,
      ...(cap === Infinity ? {} : { ringSizeCap: cap }),
    });
    const reference = referenceRing(
      endpoints.map((e) => ({ address: e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`, weight: e.weight })),
      { minRingSize: min, maxRingSize: max, ringSizeCap: cap },
    );
    expect([...ours.hashes]).toEqual(reference.entries.map((e) => e.hash));
    for (const h of syntheticHashes(2000, 'agree')) expect(ringPick(ours, h)).toBe(referencePick(reference, h));
  });
});

describe('agreement with grpc-js-xds itself (its ring_hash balancer, fake subchannels)', () => {
  let oracle: GrpcRingOracle;
  const endpoints = equalEndpoints(4).map((e, i) => ({ ...e, weight: i + 1 }));
  beforeAll(async () => {
    oracle = await createGrpcRingOracle(endpoints, { minRingSize: 1024, maxRingSize: MAX });
  });
  afterAll(() => oracle?.close());

  it('picks the same address for 1000 request hashes', async () => {
    const picker = createPicker(endpoints, { type: 'ring_hash', minRingSize: 1024, maxRingSize: MAX }, { flavour: 'grpc' })!;
    for (const h of syntheticHashes(1000, 'oracle')) expect(picker.pick(h)).toBe(await oracle.pick(h));
    expect(picker.pick(xxh64('user-1'))).toBe(await oracle.pick(xxh64('user-1')));
  });
});
