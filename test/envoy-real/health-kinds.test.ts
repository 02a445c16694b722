/**
 * The health-check kinds and slow start, through a real Envoy 1.40 (replica-failure.test.ts
 * covers HTTP health checks, outlier detection, retries, breakers and zones). Three sample
 * replicas as processes: SIGUSR2 flips their grpc.health.v1 status (and /healthz) while they
 * keep serving, so a host Envoy stops using was taken out by its health check, nothing else.
 * - gRPC health check: a NOT_SERVING replica is marked failed_active_health_check and gets no
 *   gRPC call through Envoy; SERVING again, it gets them back.
 * - TCP health check: a connect is the probe, so a killed replica is taken out, a hung one
 *   (SIGSTOP: the kernel still accepts) is not.
 * - Slow start (round robin): a replica added to a backend gets a share ramping up over the
 *   window, where the same backend without slow start gives it a third at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSampleClient, type SampleServiceClient } from '../../src/sample/sample-proto';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness, waitFor } from '../support/harness';
import { ReplicaProcess } from '../support/replica-process';
import { StickyTraffic } from '../support/sticky-traffic';
import { hasBuild } from '../cli/harness';

if (!hasBuild && process.env.CI === 'true') throw new Error('CI=true and dist/ is missing: this suite runs sample replicas from the build (npm run build)');

const PROBES = { interval: '200ms', timeout: '300ms', unhealthyThreshold: 2, healthyThreshold: 1 };
const SLOW_START_MS = 4000;
const FAILED = 'failed_active_health_check';

describe.skipIf(!envoyAvailable() || !hasBuild)('health-check kinds and slow start (real Envoy)', () => {
  const h = new Harness();
  const replicas: ReplicaProcess[] = [];
  let envoy: EnvoyProcess;
  let port = 0;
  let client: SampleServiceClient | undefined;
  /** Whether the third replica is in the round-robin backends yet (the slow-start test adds it). */
  let withThird = false;

  const config = () => {
    const http = replicas.map((r) => r.address);
    const grpcs = replicas.map((r) => `127.0.0.1:${r.grpcPort}`);
    const rr = withThird ? http : http.slice(0, 2);
    return {
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        {
          name: 'plain',
          routes: [
            { name: 'grpc', match: { prefix: '/tether.sample.v1.SampleService/' }, backends: [{ name: 'grpc-hc' }] },
            { name: 'tcp', match: { prefix: '/tcp' }, backends: [{ name: 'tcp-hc' }] },
            { name: 'slow', match: { prefix: '/slow' }, backends: [{ name: 'slow' }] },
            { name: 'main', backends: [{ name: 'fast' }] },
          ],
        },
      ],
      backends: [
        { name: 'grpc-hc', protocol: 'http2', endpoints: grpcs, healthCheck: { grpc: true, ...PROBES } },
        { name: 'tcp-hc', endpoints: http, healthCheck: { tcp: true, ...PROBES } },
        { name: 'slow', endpoints: rr, slowStart: { window: `${SLOW_START_MS}ms`, aggression: 1, minWeightPercent: 10 } },
        { name: 'fast', endpoints: rr },
      ],
    };
  };

  const health = async (cluster: string) => {
    const flags = await envoy.hostHealth(cluster);
    return replicas.map((r) => flags.get(cluster === 'grpc-hc' ? `127.0.0.1:${r.grpcPort}` : r.address)?.join(',') ?? 'absent');
  };
  const healthIs = (cluster: string, want: string[]) =>
    waitFor(`${cluster} health ${want.join(' | ')}`, async () => JSON.stringify(await health(cluster)) === JSON.stringify(want) || undefined, 15_000, 50);

  const hello = (user: string) =>
    new Promise<string>((resolve) => {
      client!.Hello({ user }, { deadline: Date.now() + 3000 }, (err, reply) => resolve(err ? `error ${err.code}` : reply!.replica_id));
    });
  /** Replica ids answering `n` gRPC calls through Envoy (round robin over the healthy ones). */
  const helloSpread = async (n: number) => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const id = await hello(`grpc-user-${i}`);
      counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  };

  beforeAll(async () => {
    for (const id of ['r1', 'r2', 'r3']) replicas.push(await ReplicaProcess.start(id, 0));
    port = await freePort();
    await h.start(config());
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    client = createSampleClient(`127.0.0.1:${port}`);
  }, 60_000);

  afterEach(async () => {
    await envoy.expectNoRejections();
  });

  afterAll(async () => {
    client?.close();
    await envoy?.close();
    await Promise.all(replicas.map((r) => r.close()));
    await h.close();
  });

  it('gRPC health check (grpc.health.v1): a NOT_SERVING replica is taken out and gets no call through Envoy; SERVING, it is back', async () => {
    await healthIs('grpc-hc', ['', '', '']);
    expect(Object.keys(await helloSpread(30)).sort()).toEqual(['r1', 'r2', 'r3']);
    const r1 = replicas[0]!;
    const flippedAt = Date.now();
    r1.toggleHealth();
    await healthIs('grpc-hc', [FAILED, '', '']);
    const detectionMs = Date.now() - flippedAt;
    const out = await helloSpread(30);
    expect(out).toEqual({ r2: expect.any(Number), r3: expect.any(Number) });
    const backAt = Date.now();
    r1.toggleHealth();
    await healthIs('grpc-hc', ['', '', '']);
    const returnMs = Date.now() - backAt;
    // Envoy hands a health change to its balancers at once, unless another came within
    // common_lb_config.update_merge_window (1 s): then at the end of it.
    await waitFor('calls reach r1 again', async () => ((await helloSpread(9)).r1 ?? 0) > 0 || undefined, 5_000, 50);
    const trafficReturnMs = Date.now() - backAt;
    expect(Object.keys(await helloSpread(30)).sort()).toEqual(['r1', 'r2', 'r3']);
    const failures = (await envoy.stat('cluster.grpc-hc.health_check.failure')) ?? 0;
    console.log(`grpc health check figures: ${JSON.stringify({ detectionMs, returnMs, trafficReturnMs, callsWhileOut: out, healthCheckFailures: failures })}`);
    expect(failures).toBeGreaterThan(0);
  }, 30_000);

  it('TCP health check: a killed replica is taken out and comes back on restart; a hung one (SIGSTOP) passes, as a connect is the whole probe', async () => {
    await healthIs('tcp-hc', ['', '', '']);
    const r2 = replicas[1]!;
    const killedAt = Date.now();
    await r2.kill();
    await healthIs('tcp-hc', ['', FAILED, '']);
    const detectionMs = Date.now() - killedAt;
    const restartAt = Date.now();
    await r2.restart();
    await healthIs('tcp-hc', ['', '', '']);
    const returnMs = Date.now() - restartAt;
    // Hung: the kernel completes the handshake, so probes keep passing (use http or grpc to see a hang).
    const before = (await envoy.stat('cluster.tcp-hc.health_check.success')) ?? 0;
    r2.pause();
    try {
      await envoy.waitForStat('cluster.tcp-hc.health_check.success', before + 3 * 3, 15_000);
      expect(await health('tcp-hc')).toEqual(['', '', '']);
    } finally {
      r2.resume();
    }
    console.log(`tcp health check figures: ${JSON.stringify({ detectionMs, returnMs })}`);
  }, 30_000);

  it('slow start (round robin): an added replica ramps up over the window; without slow start it gets its third at once', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `rr-user-${i}`);
    const slow = new StickyTraffic({ port, users, path: '/slow', workers: 2 });
    const fast = new StickyTraffic({ port, users, path: '/', workers: 2 });
    try {
      await waitFor('traffic flowing', () => slow.samples.length > 50 && fast.samples.length > 50, 10_000);
      withThird = true;
      h.writeConfig(config());
      // The window starts when Envoy adds the host; the backend without slow start shows when that was.
      const addedAt = (await waitFor('r3 answers without slow start', () => fast.samples.find((s) => s.replica === 'r3'), 10_000)).at;
      await waitFor('a second past the window', () => (Date.now() > addedAt + SLOW_START_MS + 1200 ? true : undefined), SLOW_START_MS + 10_000, 50);
    } finally {
      await Promise.all([slow.stop(), fast.stop()]);
    }
    const t0 = fast.samples.find((s) => s.replica === 'r3')!.at;
    const share = (t: StickyTraffic, from: number, to: number) => {
      const xs = t.samples.filter((s) => s.at >= t0 + from && s.at < t0 + to);
      return { n: xs.length, r3: xs.length ? xs.filter((s) => s.replica === 'r3').length / xs.length : NaN };
    };
    const seconds = Array.from({ length: Math.ceil(SLOW_START_MS / 1000) + 1 }, (_, i) => [i * 1000, (i + 1) * 1000] as const);
    const ramp = seconds.map(([a, b]) => ({ from: a, slow: share(slow, a, b), fast: share(fast, a, b) }));
    console.log(`slow start figures (r3's share per second after it was added, window ${SLOW_START_MS} ms): ${JSON.stringify(ramp.map((r) => ({ s: r.from / 1000, slow: +r.slow.r3.toFixed(3), fast: +r.fast.r3.toFixed(3), n: r.slow.n })))}`);
    for (const r of ramp) expect(r.slow.n, `requests in second ${r.from / 1000}`).toBeGreaterThan(20);
    for (const s of [...slow.samples, ...fast.samples]) expect(s.status).toBe(200);
    // Expected shares of r3 (weight max(10 %, t / window) against two of weight 1): ~6 % in the
    // first second, a third after the window; without slow start a third throughout.
    expect(ramp[0]!.slow.r3).toBeLessThan(0.15);
    expect(ramp[0]!.fast.r3).toBeGreaterThan(0.25);
    expect(ramp.at(-1)!.slow.r3).toBeGreaterThan(0.25);
    expect(ramp[1]!.slow.r3).toBeGreaterThan(ramp[0]!.slow.r3);
    // Envoy holds the ramp in the cluster it was sent (round_robin_lb_config.slow_start_config).
    const dump = JSON.stringify(await envoy.configDump());
    expect(dump).toContain('"slow_start_window":"4s"');
  }, 40_000);
});
