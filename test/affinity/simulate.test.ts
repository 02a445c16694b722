import { beforeAll, describe, expect, it } from 'vitest';
import type { AffinityKey, BalancerSpec } from '../../src/model/types';
import { AffinityError, createPicker, equalEndpoints, explain, initHashing, stableRingSize, whatIf, xxh64 } from './helpers';

beforeAll(() => initHashing());

const MAX = 8_388_608;
const defaultRing: BalancerSpec = { type: 'ring_hash', minRingSize: 1024, maxRingSize: MAX };
const stableRing = (n: number): BalancerSpec => {
  const { minRingSize, maxRingSize } = stableRingSize(Array<number>(n).fill(1), { pointsPerWeight: 1024 });
  return { type: 'ring_hash', minRingSize, maxRingSize };
};
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

describe('whatIf', () => {
  it('scaling 3 → 4 with stable sizing: moved ≈ ideal = 1/4, shares per replica', () => {
    const r = whatIf(
      { endpoints: equalEndpoints(3), balancer: stableRing(3) },
      { endpoints: equalEndpoints(4), balancer: stableRing(4) },
      { flavour: 'envoy' },
    );
    expect(r.samples).toBe(100_000);
    expect(r.ideal).toBeCloseTo(0.25, 12);
    expect(r.moved).toBeLessThanOrEqual(0.25 * 1.05);
    // With a stable ring a session only moves onto the new replica.
    expect(r.moved).toBeCloseTo(r.perHostAfter['10.0.0.4:8080']!, 12);
    expect(Object.keys(r.perHostBefore)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect(sum(r.perHostBefore)).toBeCloseTo(1, 12);
    expect(sum(r.perHostAfter)).toBeCloseTo(1, 12);
  });

  it('is deterministic', () => {
    const before = { endpoints: equalEndpoints(5), balancer: defaultRing };
    const after = { endpoints: equalEndpoints(6), balancer: defaultRing };
    expect(whatIf(before, after, { flavour: 'envoy', samples: 5000 })).toEqual(whatIf(before, after, { flavour: 'envoy', samples: 5000 }));
  });

  it('a weight change: ideal is the total variation between weight shares', () => {
    const before = { endpoints: equalEndpoints(3), balancer: defaultRing };
    const after = { endpoints: equalEndpoints(3).map((e, i) => (i === 0 ? { ...e, weight: 2 } : e)), balancer: defaultRing };
    const r = whatIf(before, after, { flavour: 'envoy', samples: 20_000 });
    expect(r.ideal).toBeCloseTo(1 / 6, 12);
    expect(r.perHostAfter['10.0.0.1:8080']).toBeGreaterThan(0.4);
  });

  it('maglev: draining a replica moves its sessions (and a few more), and drops it from the spread', () => {
    const endpoints = equalEndpoints(4);
    const drained = endpoints.map((e, i) => (i === 3 ? { ...e, drain: true } : e));
    const maglev: BalancerSpec = { type: 'maglev', tableSize: 65537 };
    const r = whatIf({ endpoints, balancer: maglev }, { endpoints: drained, balancer: maglev }, { flavour: 'envoy', samples: 50_000 });
    expect(r.ideal).toBeCloseTo(0.25, 12);
    expect(r.moved).toBeGreaterThanOrEqual(r.perHostBefore['10.0.0.4:8080']!);
    expect(r.moved).toBeLessThan(0.25 * 1.1);
    expect(r.perHostAfter['10.0.0.4:8080']).toBeUndefined();
  });

  it('gRPC clients turn maglev into the default ring hash (1024, capped at 4096)', () => {
    const maglev: BalancerSpec = { type: 'maglev', tableSize: 65537 };
    const grpc = whatIf({ endpoints: equalEndpoints(3), balancer: maglev }, { endpoints: equalEndpoints(4), balancer: maglev }, { flavour: 'grpc' });
    const ring = whatIf({ endpoints: equalEndpoints(3), balancer: defaultRing }, { endpoints: equalEndpoints(4), balancer: defaultRing }, { flavour: 'grpc' });
    expect(grpc).toEqual(ring);
    expect(grpc.moved).toBeGreaterThan(0.3);
  });

  it('refuses balancers that do not hash', () => {
    const call = () =>
      whatIf({ endpoints: equalEndpoints(3), balancer: { type: 'round_robin' } }, { endpoints: equalEndpoints(4), balancer: defaultRing }, { flavour: 'envoy' });
    expect(call).toThrow(AffinityError);
    expect(call).toThrow(/before: balancer round_robin does not hash/);
  });
});

describe('explain', () => {
  const endpoints = equalEndpoints(4);
  const keys: AffinityKey[] = [
    { kind: 'header', name: 'x-user', terminal: true },
    { kind: 'cookie', name: 'sid', ttlMs: 3_600_000, terminal: false },
  ];

  it('a header hit: the hash, the ring entry and the replica', () => {
    const r = explain({ endpoints, balancer: defaultRing, keys, request: { headers: { 'x-user': 'alice' } }, flavour: 'envoy' });
    expect(r.hash).toBe(xxh64('alice'));
    expect(r.usedKeys).toEqual(['header:x-user']);
    expect(r.steps.map((s) => [s.key, s.outcome])).toEqual([
      ['header:x-user', 'hashed'],
      ['cookie:sid', 'skipped'],
    ]);
    const picker = createPicker(endpoints, defaultRing, { flavour: 'envoy' })!;
    expect(r.host).toBe(picker.pick(xxh64('alice')));
    expect(r.location).toMatchObject({ kind: 'ring_hash', ringSize: 1024, address: r.host });
    if (r.location?.kind === 'ring_hash' && r.location.index > 0) expect(r.location.entryHash >= r.hash!).toBe(true);
  });

  it('falls through to a generated cookie, and reports it', () => {
    const r = explain({
      endpoints,
      balancer: defaultRing,
      keys,
      request: { connection: { remote: '198.51.100.7:40000', local: '10.0.0.100:8080' } },
      flavour: 'envoy',
    });
    expect(r.generatedCookie?.name).toBe('sid');
    expect(r.hash).toBe(xxh64(r.generatedCookie!.value));
    expect(r.host).toBeDefined();
    const again = explain({ endpoints, balancer: defaultRing, keys, request: { cookies: { sid: r.generatedCookie!.value } }, flavour: 'envoy' });
    expect(again.host).toBe(r.host);
  });

  it('maglev: the slot is hash % table size', () => {
    const r = explain({ endpoints, balancer: { type: 'maglev', tableSize: 65537 }, keys, request: { headers: { 'x-user': 'bob' } }, flavour: 'envoy' });
    expect(r.location).toMatchObject({ kind: 'maglev', slot: Number(xxh64('bob') % 65537n), tableSize: 65537 });
  });

  it('says why there is no replica', () => {
    const base = { endpoints, balancer: defaultRing, keys, flavour: 'envoy' as const };
    expect(explain({ ...base, request: {} }).reason).toMatch(/connection/);
    expect(explain({ ...base, flavour: 'grpc', request: { cookies: { sid: 'x' } } }).reason).toMatch(/random/);
    expect(explain({ ...base, balancer: { type: 'round_robin' }, request: { headers: { 'x-user': 'a' } } }).reason).toMatch(/does not hash/);
    expect(explain({ ...base, endpoints: endpoints.map((e) => ({ ...e, drain: true })), request: { headers: { 'x-user': 'a' } } }).reason).toMatch(
      /no replica/,
    );
  });
});
