/**
 * Issue 13: no metric or admin call holds the event loop more than 50 ms at a time, at the
 * benchmark's size: one sticky service on 2,000 endpoints with the default stable ring
 * (Envoy: 1,024 entries per endpoint, 2,048,000 in all). Its session shares took 4.4–7 s on
 * the loop, WhatIf with a million samples 8.4 s, and ext_proc missed Envoy's 200 ms timeout
 * meanwhile. Rings, tables, sampling and text diffs now run on the compute worker thread
 * (src/compute), the rest in ~10–20 ms turns; so does a DNS refresh of 2,000 addresses, and the
 * web console's drawing of the ring (src/console/views.ts).
 *
 * What is bounded is the CPU one loop iteration takes (test/support/loop-stalls.ts), not the
 * wall-clock delay: on the shared 2-core box (load 15) the OS alone leaves the loop waiting
 * 0.1–0.5 s while it has nothing to do. The bound is LOOP_HOLD_BOUND_MS (50) plus
 * LOOP_HOLD_MARGIN_MS, documented there. The wall-clock figures (monitorEventLoopDelay, as in
 * nodejs_eventloop_lag_max_seconds) are printed for bench/RESULTS.md.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancerHosts, initHashing, nominalShares } from '../../src/affinity';
import { MAX_WHAT_IF_SAMPLES } from '../../src/explain';
import type { ExplainRequest } from '../../src/generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../src/generated/tether/tether/admin/v1/ExplainResponse';
import type { WhatIfRequest } from '../../src/generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../../src/generated/tether/tether/admin/v1/WhatIfResponse';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { createPublisher, type ServedConfig } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import { createExplainSource } from '../../src/admin/explain-source';
import { rings } from '../../src/console/views';
import { createTetherMetrics } from '../../src/metrics';
import { staticEndpoints } from '../../src/translate';
import { AdminHarness, badRequest, bearer, failure } from '../admin/harness';
import { validConfig } from '../explain/explain-helpers';
import { requestHeaders, setHeaders, startHarness, type Harness } from '../extproc/helpers';
import { samples } from '../metrics/exposition';
import { servedResources } from '../metrics/served-resources';
import { describeStalls, LOOP_HOLD_BOUND_MS, LOOP_HOLD_MARGIN_MS, watchLoop, withLoopWatch, type LoopStalls } from '../support/loop-stalls';

const HOLD_LIMIT_MS = LOOP_HOLD_BOUND_MS + LOOP_HOLD_MARGIN_MS;
const ENDPOINTS = 2000;
/** Envoy's default ext_proc message_timeout. */
const ENVOY_EXT_PROC_TIMEOUT_MS = 200;

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

function expectHeld(label: string, stalls: LoopStalls): void {
  console.log(`${label}: ${describeStalls(stalls)}`);
  expect(stalls.maxHoldMs, label).toBeLessThanOrEqual(HOLD_LIMIT_MS);
}

/**
 * Plays Envoy's ext_proc filter until `stop()`: one stream per HTTP request, its headers in,
 * the session key out; each exchange timed in wall and this thread's CPU.
 */
async function driveExtProc(ext: Harness, watch: ReturnType<typeof watchLoop>, stop: () => boolean): Promise<Array<{ wallMs: number; cpuMs: number }>> {
  const rounds: Array<{ wallMs: number; cpuMs: number }> = [];
  for (let user = 0; !stop(); user++) {
    const stream = ext.open({ 'x-tether-service': 'shop' });
    const before = watch.now();
    const reply = await stream.send(requestHeaders({ 'x-user': `user-${user}` }), 30_000);
    const after = watch.now();
    rounds.push({ wallMs: after.wallMs - before.wallMs, cpuMs: after.cpuMs - before.cpuMs });
    expect(setHeaders(reply)).not.toEqual({});
    await stream.end();
    // ~50 requests a second: enough to see every stall, without taking the worker's core.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return rounds;
}

beforeAll(() => initHashing());

describe('the event loop stays free', () => {
  it('while the session shares of a 2,000-endpoint ring-hash backend are computed', async () => {
    const config = validConfig(bigDoc());
    const served = servedResources(config);
    const metrics = createTetherMetrics({ processMetrics: false });
    const { stalls } = await withLoopWatch(async () => {
      metrics.servedConfigChanged(served);
      await metrics.sessionSharesSettled();
    });
    expectHeld(`session shares, ${ENDPOINTS}-endpoint stable ring`, stalls);

    // The exact arcs were computed (they differ from the nominal 1/2000 by a few per cent).
    const shares = new Map(samples(await metrics.registry.metrics(), 'tether_replica_session_share').map((s) => [s.labels.replica!, s.value]));
    expect(shares.size).toBe(ENDPOINTS);
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const nominal = nominalShares(balancerHosts([...staticEndpoints(config).get('shop-v1')!], 'envoy'));
    expect(Math.max(...[...shares].map(([a, s]) => Math.abs(s - nominal.get(a)!)))).toBeGreaterThan(1e-5);
  });

  describe('during admin calls on the 2,000-endpoint ring', () => {
    let h: AdminHarness;
    let ext: Harness;
    beforeAll(async () => {
      h = await AdminHarness.start({ config: bigDoc() });
      ext = await startHarness({ services: new Map([['shop', { sources: [{ header: 'x-user' }] }]]) });
    });
    afterAll(async () => {
      await ext?.close();
      await h?.close();
    });
    const whatIf = (req: WhatIfRequest): Promise<WhatIfResponse__Output> =>
      new Promise((resolve, reject) => {
        h.client.WhatIf(req, bearer(), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
      });

    it("the web console's ring view: the ring is built and laid out on the worker", { timeout: 90_000 }, async () => {
      const source = createExplainSource({ manager: h.manager, logger: silentLogger(), served: () => h.publisher.served() });
      const { result, stalls } = await withLoopWatch(() => rings(source, 'envoy'));
      expectHeld(`console ring view, ${ENDPOINTS}-endpoint stable ring`, stalls);
      const [ring] = result.rings;
      expect(ring).toMatchObject({ cluster: 'shop-v1', balancer: 'ring_hash', size: ENDPOINTS * 1024 });
      expect(ring!.replicas).toHaveLength(ENDPOINTS);
      expect(ring!.replicas.reduce((n, r) => n + r.entries, 0)).toBe(ENDPOINTS * 1024);
      expect(ring!.replicas.reduce((n, r) => n + r.share, 0)).toBeCloseTo(1, 9);
      expect(ring!.binned).toBe(true);
    });

    it('Explain: the ring is built on the worker (once), the pick is on it', { timeout: 90_000 }, async () => {
      const explain = (req: ExplainRequest): Promise<ExplainResponse__Output> =>
        new Promise((resolve, reject) => {
          h.client.Explain(req, bearer(), { deadline: Date.now() + 90_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
        });
      const { result, stalls } = await withLoopWatch(() => explain({ service: 'shop', node_kind: 'envoy', headers: [{ name: 'x-user', value: 'alice' }] }));
      expectHeld(`Explain, ${ENDPOINTS}-endpoint stable ring`, stalls);
      expect(result.pick).toMatchObject({ cluster: 'shop-v1', balancer: 'ring_hash', backends: ['shop-v1'], size: ENDPOINTS * 1024 });
      expect(result.pick!.address).toMatch(/^10\.1\.\d+\.\d+:8080$/);
    });

    it(`WhatIf with the most samples (${MAX_WHAT_IF_SAMPLES}) on the 2,000-endpoint ring, ext_proc answering meanwhile; more samples are refused naming the field`, { timeout: 120_000 }, async () => {
      const change = { add_endpoint: { backend: 'shop-v1', address: '10.2.0.1:8080' }, node_kind: 'envoy' };
      const watch = watchLoop();
      let done = false;
      const call = whatIf({ ...change, samples: MAX_WHAT_IF_SAMPLES }).finally(() => (done = true));
      const rounds = await driveExtProc(ext, watch, () => done);
      const stalls = watch.stop();
      const result = await call;
      expectHeld(`WhatIf, ${MAX_WHAT_IF_SAMPLES} samples, ${ENDPOINTS}-endpoint stable ring`, stalls);
      expect(result.samples).toBe(MAX_WHAT_IF_SAMPLES);
      const [route] = result.routes;
      // A stable ring only gains the new replica's entries: the movers are its share (~1/2001).
      expect(route!.ideal).toBeCloseTo(1 / (ENDPOINTS + 1), 9);
      expect(route!.moved).toBeGreaterThan(0.5 / (ENDPOINTS + 1));
      expect(route!.moved).toBeLessThan(2 / (ENDPOINTS + 1));
      // The resource diffs were written on the worker.
      expect(result.changes.length).toBeGreaterThan(0);
      expect(result.changes.filter((c) => c.action === 'MODIFIED').every((c) => c.diff.length > 0)).toBe(true);

      // ext_proc, as Envoy drives it, all along: what the loop spent while a message waited
      // for its answer (the wall time adds the OS's scheduling of the shared box, which
      // Envoy's own timer would see as well).
      const worst = (key: 'wallMs' | 'cpuMs') => Math.max(...rounds.map((r) => r[key]));
      const wall = rounds.map((r) => r.wallMs).sort((a, b) => a - b);
      console.log(
        `ext_proc during that WhatIf: ${rounds.length} round trips; wall p50 ${wall[Math.floor(wall.length / 2)]!.toFixed(1)} ms, ` +
          `p99 ${wall[Math.floor(wall.length * 0.99)]!.toFixed(1)} ms, max ${worst('wallMs').toFixed(1)} ms; loop CPU within one round trip max ${worst('cpuMs').toFixed(1)} ms`,
      );
      expect(rounds.length).toBeGreaterThan(10);
      expect(worst('cpuMs')).toBeLessThan(ENVOY_EXT_PROC_TIMEOUT_MS);

      const tooMany = await failure(whatIf({ ...change, samples: MAX_WHAT_IF_SAMPLES + 1 }));
      expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequest(tooMany).violations).toEqual([{ field: 'samples', description: `at most ${MAX_WHAT_IF_SAMPLES} (got ${MAX_WHAT_IF_SAMPLES + 1})` }]);
    });

    it('GetConfig, GetStatus, and an endpoint edit (validate, translate, encode, diff, commit, publish)', { timeout: 60_000 }, async () => {
      const get = await withLoopWatch(() => h.api.GetConfig());
      expectHeld(`GetConfig, ${ENDPOINTS} endpoints`, get.stalls);
      expect(get.result.yaml).toContain('10.1.7.207:8080');
      const status = await withLoopWatch(() => h.api.GetStatus());
      expectHeld(`GetStatus, ${ENDPOINTS} endpoints`, status.stalls);
      const edit = await withLoopWatch(() => h.api.AddEndpoint({ backend: 'shop-v1', address: '10.3.0.1:8080' }));
      expectHeld(`AddEndpoint, ${ENDPOINTS}-endpoint stable ring`, edit.stalls);
      expect(edit.result.changed).toBe(true);
      // The text diffs come from the worker: the assignment's names the added endpoint.
      const eds = edit.result.changes.filter((c) => c.type === 'EDS' && c.action === 'MODIFIED');
      expect(eds.length).toBeGreaterThan(0);
      expect(eds.every((c) => c.diff.includes('10.3.0.1'))).toBe(true);
    });
  });
});

describe('a DNS refresh of a 2,000-address name', () => {
  it('re-translates and re-encodes in turns: the loop is not held', { timeout: 60_000 }, async () => {
    let addresses = Array.from({ length: ENDPOINTS }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const served: ServedConfig[] = [];
    const publisher = createPublisher({
      cache: new SnapshotCache(),
      logger: silentLogger(),
      resolveIntervalMs: 100,
      lookup: async () => addresses,
      onServed: (s) => void served.push(s),
    });
    try {
      const doc = { ...bigDoc(), backends: [{ name: 'shop-v1', endpoints: ['app.internal:8080'], balancer: { type: 'ring_hash' } }] };
      (await publisher.prepare(validConfig(doc), 1)).publish();
      const endpointsServed = () => served.at(-1)!.resources.get('envoy')!.endpoints.reduce((n, e) => n + (e.endpoints ?? []).reduce((m, l) => m + (l.lb_endpoints?.length ?? 0), 0), 0);
      expect(endpointsServed()).toBe(ENDPOINTS);
      const { stalls } = await withLoopWatch(async () => {
        addresses = [...addresses, '10.2.0.1'];
        const deadline = Date.now() + 50_000;
        while (endpointsServed() !== ENDPOINTS + 1) {
          if (Date.now() > deadline) throw new Error('the re-resolved addresses were not served within 50 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
      expectHeld(`DNS refresh, ${ENDPOINTS} addresses of one name`, stalls);
      expect(served.at(-1)!.version).toBe(1);
    } finally {
      publisher.close();
    }
  });
});
