/**
 * Explain's fallback: where a request goes while its replica is out (ejected by outlier
 * detection, failing health checks, drained). It must be exactly the pick of a ring built
 * without that replica (what Envoy and gRPC rebuild from their healthy hosts), and, with
 * priorities, stay in the replica's own priority until it is the last one there.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../src/affinity';
import { explainRequest, type ExplainQuery } from '../../src/explain';
import { served, stickyDoc } from './explain-helpers';

beforeAll(() => initHashing());

const users = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);
const q = (kind: 'envoy' | 'grpc', user: string): ExplainQuery => ({ service: 'shop', kind, headers: { 'x-user': user } });

function drained(n: number, address: string, balancer: Record<string, unknown> = { type: 'ring_hash' }) {
  const doc = stickyDoc(n, balancer);
  const backend = (doc.backends as Array<{ endpoints: unknown[] }>)[0]!;
  backend.endpoints = backend.endpoints.map((e) => (e === address ? { address: e, drain: true } : e));
  return doc;
}

describe('explain: the fallback replica', () => {
  // Fixed rings: a drain in the config re-sizes a stable ring (it follows the live replicas),
  // an ejection does not (Envoy rebuilds the configured ring from the healthy hosts).
  for (const [kind, balancer] of [
    ['envoy', { type: 'ring_hash', minRingSize: 3072 }],
    ['envoy', { type: 'maglev', tableSize: 211 }],
  ] as const) {
    it(`${kind} ${balancer.type}: is the pick of the same config with the replica drained (Envoy rebuilds from the healthy ones)`, () => {
      const ctx = { ...served(stickyDoc(3, balancer), kind), pickers: new Map() };
      const without = new Map<string, ReturnType<typeof served> & { pickers: Map<string, unknown> }>();
      for (const user of users(150)) {
        const pick = explainRequest(q(kind, user), ctx).pick!;
        expect(pick.fallback).toBeDefined();
        expect(pick.fallback!.address).not.toBe(pick.address);
        expect(pick.fallback!.backends).toEqual(['shop-v1']);
        if (!without.has(pick.address)) without.set(pick.address, { ...served(drained(3, pick.address, balancer), kind), pickers: new Map() });
        expect(explainRequest(q(kind, user), without.get(pick.address)!).pick!.address).toBe(pick.fallback!.address);
      }
    });
  }

  it('grpc: the next ring entry of another replica (grpc-js walks its ring to a READY subchannel); other users keep theirs', () => {
    const ctx = { ...served(stickyDoc(3), 'grpc'), pickers: new Map() };
    for (const user of users(150)) {
      const pick = explainRequest(q('grpc', user), ctx).pick!;
      expect(pick.fallback!.address).not.toBe(pick.address);
      expect(pick.retry).toBeUndefined();
    }
  });

  it('a single replica has no fallback', () => {
    expect(explainRequest(q('envoy', 'alice'), served(stickyDoc(1), 'envoy')).pick!.fallback).toBeUndefined();
  });

  it('priorities: sessions stay in priority 0 (zone a); its last replica falls back to priority 1 (zone b)', () => {
    const doc = (zoneA: string[]) => ({
      ...stickyDoc(1),
      backends: [
        {
          name: 'shop-v1',
          endpoints: [
            ...zoneA.map((address) => ({ address, zone: 'zone-a' })),
            { address: '10.0.1.1:8080', zone: 'zone-b', priority: 1 },
            { address: '10.0.1.2:8080', zone: 'zone-b', priority: 1 },
          ],
        },
      ],
    });
    for (const kind of ['envoy', 'grpc'] as const) {
      const two = { ...served(doc(['10.0.0.1:8080', '10.0.0.2:8080']), kind), pickers: new Map() };
      const one = { ...served(doc(['10.0.0.1:8080']), kind), pickers: new Map() };
      for (const user of users(100)) {
        const pick = explainRequest(q(kind, user), two).pick!;
        expect(pick.address).toMatch(/^10\.0\.0\./);
        expect(pick.fallback!.address).toMatch(/^10\.0\.0\./);
        const last = explainRequest(q(kind, user), one).pick!;
        expect(last.address).toBe('10.0.0.1:8080');
        expect(last.fallback!.address).toMatch(/^10\.0\.1\./);
      }
    }
  });
});
