/** The console's ring drawing: its arcs add up to each replica's exact share, exact or binned. */
import { beforeAll, describe, expect, it } from 'vitest';
import { createPicker, initHashing, type AffinityEndpoint } from '../../src/affinity';
import { arcsFromFlat, flatArcs, MAX_BINNED_ARCS, ringArcs } from '../../src/affinity/ring-layout';

const endpoints: AffinityEndpoint[] = [
  { ip: '10.0.0.1', port: 8080, weight: 1 },
  { ip: '10.0.0.2', port: 8080, weight: 2 },
  { ip: '10.0.0.3', port: 8080, weight: 1 },
];

function lengths(arcs: ReadonlyArray<[number, number, number]>, hosts: number): number[] {
  const out = new Array<number>(hosts).fill(0);
  for (const [start, end, owner] of arcs) out[owner]! += end - start;
  return out;
}

describe('ring layout', () => {
  beforeAll(() => initHashing());

  for (const balancer of [
    { type: 'ring_hash' as const, minRingSize: 1024, maxRingSize: 1024 },
    { type: 'maglev' as const, tableSize: 65537 },
  ]) {
    it(`${balancer.type}: arcs cover the circle once, in order, and add up to the exact shares`, () => {
      const picker = createPicker(endpoints, balancer, { flavour: 'envoy' })!;
      const shares = picker.shares();
      for (const maxArcs of [1_000_000, 100]) {
        const { arcs, binned } = ringArcs(picker, maxArcs);
        expect(binned).toBe(maxArcs === 100);
        expect(arcs[0]![0]).toBe(0);
        expect(arcs[arcs.length - 1]![1]).toBeCloseTo(1, 12);
        for (let i = 1; i < arcs.length; i++) expect(arcs[i]![0]).toBeCloseTo(arcs[i - 1]![1], 12);
        const total = lengths(arcs, picker.hosts.length);
        picker.hosts.forEach((h, i) => expect(total[i]).toBeCloseTo(shares.get(h.address)!, 9));
      }
    });
  }

  it('many replicas: fewer bins, at most MAX_BINNED_ARCS arcs, still each replica\'s exact share; flat arcs round-trip', () => {
    const many: AffinityEndpoint[] = Array.from({ length: 400 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}`, port: 8080, weight: 1 }));
    const picker = createPicker(many, { type: 'ring_hash', minRingSize: 400 * 64, maxRingSize: 400 * 64 }, { flavour: 'envoy' })!;
    const { arcs, binned, bins } = ringArcs(picker);
    expect(binned).toBe(true);
    expect(bins).toBe(Math.floor(MAX_BINNED_ARCS / 400));
    expect(arcs.length).toBeLessThanOrEqual(MAX_BINNED_ARCS);
    const total = lengths(arcs, picker.hosts.length);
    const shares = picker.shares();
    picker.hosts.forEach((h, i) => expect(total[i]).toBeCloseTo(shares.get(h.address)!, 9));
    expect(arcsFromFlat(flatArcs(arcs))).toEqual(arcs);
  });

  it('a ring entry owns the hash space up to and including its hash (Envoy: first entry >= hash)', () => {
    const picker = createPicker(endpoints, { type: 'ring_hash', minRingSize: 64, maxRingSize: 64 }, { flavour: 'envoy' })!;
    const { arcs } = ringArcs(picker);
    for (const hash of [0n, 1n, 12345678901234567890n, (1n << 64n) - 1n, 1n << 63n]) {
      const at = Number(hash) / 2 ** 64;
      const arc = arcs.find(([s, e]) => at >= s && at <= e)!;
      expect(picker.hosts[arc[2]]!.address).toBe(picker.pick(hash));
    }
  });
});
