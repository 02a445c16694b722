import { beforeAll, describe, expect, it } from 'vitest';
import {
  balancerHosts,
  buildMaglev,
  envoyTestEndpoints,
  equalEndpoints,
  initHashing,
  isPrime,
  maglevPick,
  maglevShares,
  xxh64,
  type AffinityEndpoint,
} from './helpers';

beforeAll(() => initHashing());

const ports = [90, 91, 92, 93, 94, 95];

/** The port picked for hashes 0 .. size-1, repeated three times as Envoy's tests check. */
function picks(endpoints: AffinityEndpoint[], tableSize: number): number[] {
  const table = buildMaglev(balancerHosts(endpoints, 'envoy'), tableSize);
  const out: number[] = [];
  for (let i = 0; i < 3 * tableSize; i++) out.push(Number(maglevPick(table, BigInt(i))!.split(':')[1]));
  return out;
}

const repeat3 = (ports: number[]): number[] => [...ports, ...ports, ...ports];

// test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc
describe('Envoy known vectors (maglev_lb_test.cc)', () => {
  it('Basic: 6 hosts, table 7 → 92 94 90 91 95 90 93', () => {
    expect(picks(envoyTestEndpoints(ports), 7)).toEqual(repeat3([92, 94, 90, 91, 95, 90, 93]));
  });

  it('BasicWithHostName / BasicWithMetadataHashKey: keys "90".."95" → 92 95 90 93 94 91 90', () => {
    const keyed = envoyTestEndpoints(ports).map((e) => ({ ...e, hashKey: String(e.port) }));
    expect(picks(keyed, 7)).toEqual(repeat3([92, 95, 90, 93, 94, 91, 90]));
  });

  it('BasicStability: the table does not depend on host order', () => {
    const shuffled = envoyTestEndpoints([93, 90, 95, 92, 91, 94]);
    expect(picks(shuffled, 7)).toEqual(repeat3([92, 94, 90, 91, 95, 90, 93]));
  });

  it('Weighted: :90 weight 1, :91 weight 2, table 17 (6 and 11 entries)', () => {
    const endpoints = envoyTestEndpoints([90, 91], [1, 2]);
    const expected = [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1].map((i) => 90 + i);
    expect(picks(endpoints, 17)).toEqual(repeat3(expected));
    expect(buildMaglev(balancerHosts(endpoints, 'envoy'), 17).entriesPerHost).toEqual([6, 11]);
  });

  it('SingleHost / WeightedSingleHost: one host serves every slot', () => {
    expect(new Set(picks(envoyTestEndpoints([90], [7]), 17))).toEqual(new Set([90]));
  });

  it('rejects a table size that is not prime', () => {
    expect(() => buildMaglev(balancerHosts(envoyTestEndpoints(ports), 'envoy'), 8)).toThrow(/prime/);
  });
});

describe('maglev table', () => {
  it('gives each host its first preference, XXH64(key, 0) % M, in key order', () => {
    const hosts = balancerHosts(envoyTestEndpoints([91, 90]), 'envoy');
    const table = buildMaglev(hosts, 17);
    const first = (key: string) => Number(xxh64(key, 0n) % 17n);
    // 127.0.0.1:90 sorts first, so it claims its offset before :91 can.
    expect(table.hosts[table.slots[first('127.0.0.1:90')]!]!.address).toBe('127.0.0.1:90');
    if (first('127.0.0.1:91') !== first('127.0.0.1:90')) {
      expect(table.hosts[table.slots[first('127.0.0.1:91')]!]!.address).toBe('127.0.0.1:91');
    }
  });

  it('fills the default 65537 table evenly for equal hosts (within one entry)', () => {
    const table = buildMaglev(balancerHosts(equalEndpoints(10), 'envoy'));
    expect(table.tableSize).toBe(65537);
    expect(Math.max(...table.entriesPerHost) - Math.min(...table.entriesPerHost)).toBeLessThanOrEqual(1);
    const shares = [...maglevShares(table).values()];
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('follows weights: 1:3 gives about a quarter', () => {
    const table = buildMaglev(balancerHosts(equalEndpoints(2).map((e, i) => ({ ...e, weight: i === 0 ? 1 : 3 })), 'envoy'));
    expect(table.entriesPerHost[0]! / table.tableSize).toBeCloseTo(0.25, 3);
  });

  it('small prime helper', () => {
    expect([2, 3, 7, 17, 65537, 5000011].every(isPrime)).toBe(true);
    expect([0, 1, 8, 65535].some(isPrime)).toBe(false);
  });
});
