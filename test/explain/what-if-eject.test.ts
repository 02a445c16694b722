/**
 * What-if for a replica failing (WhatIfSide.ejected): Envoy rebuilds its ring from the healthy
 * replicas (the failed one's sessions move, and a few others), a gRPC client walks its ring
 * past it (only the failed one's sessions move). The real-Envoy side of this is
 * test/envoy-real/replica-failure.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../src/affinity';
import { explainRequest, routeImpacts } from '../../src/explain';
import { served, stickyDoc } from './explain-helpers';

beforeAll(() => initHashing());

const sessions = Array.from({ length: 300 }, (_, i) => `user-${i}`);
const VICTIM = '10.0.0.2:8080';

describe('what-if eject', () => {
  for (const kind of ['envoy', 'grpc'] as const) {
    it(`${kind}: the failed replica's sessions all move, to explain's fallback`, () => {
      const side = { ...served(stickyDoc(3), kind), pickers: new Map() };
      const [impact] = routeImpacts(side, { ...side, ejected: new Set([VICTIM]) }, { kind, samples: 20_000, sessions });
      if (!impact) throw new Error('no route is affected');
      const victims = impact.sessions.filter((s) => s.before === VICTIM);
      expect(victims.length).toBeGreaterThan(50);
      for (const s of victims) {
        expect(s.moved).toBe(true);
        expect(s.after).toBe(explainRequest({ service: 'shop', kind, headers: { 'x-user': s.value } }, side).pick!.fallback!.address);
      }
      expect(impact.replicas.find((r) => r.address === VICTIM)!.after).toBe(0);
      const others = impact.sessions.filter((s) => s.before !== VICTIM && s.moved);
      // gRPC walks its unchanged ring: nobody else moves. Envoy's rebuilt ring moves a few others.
      if (kind === 'grpc') expect(others).toEqual([]);
      else expect(others.length / (sessions.length - victims.length)).toBeLessThan(0.25);
      expect(impact.moved).toBeGreaterThan(0.25);
    });
  }

  it('an address no cluster lists changes nothing', () => {
    const side = served(stickyDoc(3), 'envoy');
    expect(routeImpacts(side, { ...side, ejected: new Set(['10.9.9.9:1']) }, { kind: 'envoy', samples: 1000 })).toEqual([]);
  });
});
