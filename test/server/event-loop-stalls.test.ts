/**
 * Issue 13: no metric or admin call holds the event loop, at the benchmark's sizes. A
 * 2,000-endpoint stable ring (2,048,000 entries on Envoy) took 4.4–7 s on the loop for its
 * session shares, and WhatIf with a million samples 8.4 s: ext_proc missed Envoy's 200 ms
 * timeout meanwhile. Both now run on the compute worker thread (src/compute).
 *
 * The event loop's delay is measured with perf_hooks.monitorEventLoopDelay (10 ms resolution:
 * its max includes that 10 ms timer period). The target is 50 ms on an idle machine
 * (bench/RESULTS.md records the measurements: 70–220 ms here at load ~10, where an idle timer
 * alone shows up to ~30 ms). The assertion allows LOOP_BOUND_MS = 1 s because on the shared
 * 2-core test machine (load 10–15, two test files at once) the OS and the worker thread
 * deschedule the loop for up to ~0.5 s even while it has nothing to do. Before the fix the
 * same calls held the loop 4.4–8.4 s, so the bound still tells the two apart.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancerHosts, initHashing, nominalShares } from '../../src/affinity';
import { MAX_WHAT_IF_SAMPLES } from '../../src/control/explain';
import type { ExplainRequest } from '../../src/generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../src/generated/tether/tether/admin/v1/ExplainResponse';
import type { WhatIfRequest } from '../../src/generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../../src/generated/tether/tether/admin/v1/WhatIfResponse';
import { createTetherMetrics } from '../../src/metrics';
import { staticEndpoints } from '../../src/translate';
import { AdminHarness, badRequest, bearer, failure } from '../admin/harness';
import { validConfig } from '../control/explain-helpers';
import { samples } from '../metrics/exposition';
import { servedResources } from '../metrics/served-resources';
import * as grpc from '@grpc/grpc-js';

const LOOP_BOUND_MS = 1000;
const ENDPOINTS = 2000;

/** One sticky service on a 2,000-endpoint stable ring (Envoy: 1,024 entries per endpoint). */
const bigDoc = () => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [{ name: 'shop', domains: ['shop'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] }],
  backends: [
    {
      name: 'shop-v1',
      endpoints: Array.from({ length: ENDPOINTS }, (_, i) => `10.1.${i >> 8}.${i & 255}:8080`),
      balancer: { type: 'ring_hash' },
    },
  ],
});

/** Runs `fn`, returning its result and the longest the event loop waited meanwhile, ms. */
async function withLoopDelay<T>(fn: () => Promise<T>): Promise<{ result: T; maxMs: number; ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  const start = performance.now();
  histogram.enable();
  try {
    const result = await fn();
    return { result, maxMs: histogram.max / 1e6, ms: performance.now() - start };
  } finally {
    histogram.disable();
  }
}

beforeAll(() => initHashing());

describe('the event loop stays free', () => {
  it('while the session shares of a 2,000-endpoint ring-hash backend are computed', async () => {
    const config = validConfig(bigDoc());
    const served = servedResources(config);
    const metrics = createTetherMetrics({ processMetrics: false });
    const { maxMs, ms } = await withLoopDelay(async () => {
      metrics.servedConfigChanged(served);
      await metrics.sessionSharesSettled();
    });
    console.log(`session shares, ${ENDPOINTS}-endpoint stable ring: ${ms.toFixed(0)} ms in all, event loop max delay ${maxMs.toFixed(1)} ms`);
    expect(maxMs).toBeLessThanOrEqual(LOOP_BOUND_MS);

    // The exact arcs were computed (they differ from the nominal 1/2000 by a few per cent).
    const shares = new Map(samples(await metrics.registry.metrics(), 'tether_replica_session_share').map((s) => [s.labels.replica!, s.value]));
    expect(shares.size).toBe(ENDPOINTS);
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const nominal = nominalShares(balancerHosts([...staticEndpoints(config).get('shop-v1')!], 'envoy'));
    expect(Math.max(...[...shares].map(([a, s]) => Math.abs(s - nominal.get(a)!)))).toBeGreaterThan(1e-5);
  });

  describe('during admin calls on the 2,000-endpoint ring', () => {
    let h: AdminHarness;
    beforeAll(async () => {
      h = await AdminHarness.start({ config: bigDoc() });
    });
    afterAll(async () => {
      await h?.close();
    });
    const whatIf = (req: WhatIfRequest): Promise<WhatIfResponse__Output> =>
      new Promise((resolve, reject) => {
        h.client.WhatIf(req, bearer(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
      });

    it('Explain: the ring is built on the worker (once), the pick is on it', async () => {
      const explain = (req: ExplainRequest): Promise<ExplainResponse__Output> =>
        new Promise((resolve, reject) => {
          h.client.Explain(req, bearer(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
        });
      const { result, maxMs, ms } = await withLoopDelay(() => explain({ service: 'shop', node_kind: 'envoy', headers: [{ name: 'x-user', value: 'alice' }] }));
      console.log(`Explain, ${ENDPOINTS}-endpoint stable ring: ${ms.toFixed(0)} ms in all, event loop max delay ${maxMs.toFixed(1)} ms`);
      expect(maxMs).toBeLessThanOrEqual(LOOP_BOUND_MS);
      expect(result.pick).toMatchObject({ cluster: 'shop-v1', balancer: 'ring_hash', backends: ['shop-v1'], size: ENDPOINTS * 1024 });
      expect(result.pick!.address).toMatch(/^10\.1\.\d+\.\d+:8080$/);
    });

    it(`WhatIf with the most samples (${MAX_WHAT_IF_SAMPLES}) on the 2,000-endpoint ring; more are refused naming the field`, { timeout: 90_000 }, async () => {
      const change = { add_endpoint: { backend: 'shop-v1', address: '10.2.0.1:8080' }, node_kind: 'envoy' };
      const { result, maxMs, ms } = await withLoopDelay(() => whatIf({ ...change, samples: MAX_WHAT_IF_SAMPLES }));
      console.log(`WhatIf, ${MAX_WHAT_IF_SAMPLES} samples, ${ENDPOINTS}-endpoint stable ring: ${ms.toFixed(0)} ms in all, event loop max delay ${maxMs.toFixed(1)} ms`);
      expect(maxMs).toBeLessThanOrEqual(LOOP_BOUND_MS);
      expect(result.samples).toBe(MAX_WHAT_IF_SAMPLES);
      const [route] = result.routes;
      // A stable ring only gains the new replica's entries: the movers are its share (~1/2001).
      expect(route!.ideal).toBeCloseTo(1 / (ENDPOINTS + 1), 9);
      expect(route!.moved).toBeGreaterThan(0.5 / (ENDPOINTS + 1));
      expect(route!.moved).toBeLessThan(2 / (ENDPOINTS + 1));

      const tooMany = await failure(whatIf({ ...change, samples: MAX_WHAT_IF_SAMPLES + 1 }));
      expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequest(tooMany).violations.map((v) => v.field)).toEqual(['samples']);
    });
  });
});
