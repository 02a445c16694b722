/**
 * When a replica fails, through a real Envoy 1.40: three sticky replicas (separate processes)
 * under steady traffic, one hung (SIGSTOP) or killed (SIGKILL). Only that replica's users
 * move, each to the replica `tether explain` names as its fallback, within the configured
 * detection time; when it recovers they come back (ring hash is a pure function of the
 * healthy set). Failed requests in the window are counted and printed (bench/RESULTS.md).
 * Then: a retry lands on the fallback when the sticky replica is dead (previous_hosts), the
 * circuit breaker trips under a burst, and a zone (priority 0) fails over to priority 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { ADMIN_TOKEN, Harness, waitFor } from '../support/harness';
import { ReplicaProcess } from '../support/replica-process';
import { servedExplainer, type ServedExplainer } from '../support/served-explain';
import { StickyTraffic } from '../support/sticky-traffic';
import { cleanEnv, hasBuild, runCli } from '../cli/harness';

if (!hasBuild && process.env.CI === 'true') throw new Error('CI=true and dist/ is missing: this suite runs sample replicas from the build (npm run build)');

const USERS = Array.from({ length: 30 }, (_, i) => `failover-user-${i}`);
// Detection: 2 failed probes, each at most interval + timeout apart; or 3 errors in a row.
const HEALTH = { http: '/healthz', interval: '250ms', timeout: '250ms', unhealthyThreshold: 2, healthyThreshold: 1 };
const DETECTION_MS = 2 * (250 + 250);
// A loaded 2-core machine delays probes and requests; this is the allowance on top.
const SCHEDULING_SLACK_MS = 2000;

describe.skipIf(!envoyAvailable() || !hasBuild)('when a replica fails (real Envoy): health checks, outlier detection, retries, breakers, priorities', () => {
  const h = new Harness();
  const replicas: ReplicaProcess[] = [];
  let envoy: EnvoyProcess;
  let port = 0;
  const idOf = new Map<string, string>(); // address → replica id
  const addressOf = (id: string) => replicas.find((r) => r.id === id)!.address;

  const config = () => {
    const [a, b, c] = replicas.map((r) => r.address);
    return {
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        {
          name: 'shop',
          affinity: { keys: [{ header: 'x-user' }] },
          routes: [
            { name: 'retry', match: { prefix: '/retry' }, timeout: '2s', retries: { attempts: 2, retryOn: ['connect-failure', 'reset', 'gateway-error'], perTryTimeout: '300ms' }, backends: [{ name: 'shop-plain' }] },
            { name: 'breaker', match: { prefix: '/breaker' }, backends: [{ name: 'shop-breaker' }] },
            { name: 'zones', match: { prefix: '/zones' }, timeout: '1s', backends: [{ name: 'shop-zones' }] },
            { name: 'main', timeout: '1s', backends: [{ name: 'shop' }] },
          ],
        },
        {
          name: 'shop-pinned',
          domains: ['pinned.local'],
          affinity: { keys: [{ header: 'x-user' }], strong: { cookie: { name: 'tether-pin' } } },
          routes: [{ name: 'main', timeout: '1s', backends: [{ name: 'shop' }] }],
        },
      ],
      backends: [
        {
          name: 'shop',
          endpoints: [a, b, c],
          healthCheck: HEALTH,
          outlierDetection: { consecutive5xxErrors: 3, consecutiveGatewayErrors: 3, interval: '250ms', baseEjectionTime: '1s', maxEjectionPercent: 34 },
        },
        { name: 'shop-plain', endpoints: [a, b, c] },
        { name: 'shop-breaker', endpoints: [a, b, c], circuitBreakers: { maxConnections: 2, maxPendingRequests: 1, maxRequests: 2 } },
        { name: 'shop-zones', endpoints: [{ address: a, zone: 'zone-a' }, { address: b, zone: 'zone-a' }, { address: c, zone: 'zone-b', priority: 1 }], healthCheck: HEALTH },
      ],
    };
  };

  const replicaOf = async (user: string, path = '/') => {
    const reply = await request(port, { headers: { 'x-user': user }, path, timeoutMs: 5000 });
    return reply.status === 200 ? reply.json!.replica : `HTTP ${reply.status}`;
  };
  const measure = (path = '/') => Promise.all(USERS.map((u) => replicaOf(u, path)));
  const pickOf = (ex: ServedExplainer, user: string, path = '/') => ex.explain({ service: 'shop', path, headers: { 'x-user': user } }).pick!;

  beforeAll(async () => {
    // A user's first request on a replica is slow (a cold cache), as it is for real sessions.
    for (const id of ['r1', 'r2', 'r3']) replicas.push(await ReplicaProcess.start(id, 100));
    for (const r of replicas) idOf.set(r.address, r.id);
    port = await freePort();
    await h.start(config());
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.until('every user routed', async () => (await measure()).every((r) => r.startsWith('r')), 20_000, 200);
  }, 60_000);

  afterEach(async () => {
    await envoy.expectNoRejections();
  });

  afterAll(async () => {
    await envoy?.close();
    await Promise.all(replicas.map((r) => r.close()));
    await h.close();
  });

  const cli = async (args: string[]) => {
    const env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    const res = await runCli(args, { env, cwd: h.dir, timeoutMs: 30_000 });
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  };

  /** `tether what-if eject`: where each user goes while `address` is out. */
  async function ejectPrediction(address: string, route: string): Promise<Map<string, string>> {
    const file = path.join(h.dir, 'users.txt');
    fs.writeFileSync(file, USERS.join('\n'));
    const res = JSON.parse(await cli(['what-if', 'eject', address, '--kind', 'envoy', '--sessions-file', file, '--samples', '1000', '-o', 'json']));
    const impact = (res.routes as Array<{ route: string; sessions: Array<{ value: string; after: string }> }>).find((r) => r.route === route)!;
    return new Map(impact.sessions.map((x) => [x.value, idOf.get(x.after)!]));
  }

  interface Scenario {
    label: string;
    fail: (r: ReplicaProcess) => Promise<void> | void;
    mend: (r: ReplicaProcess) => Promise<void> | void;
    /** Strong stickiness (the pinned service): users stay where they were moved. */
    pinned?: boolean;
  }

  /** Breaks the replica of USERS[0], then mends it, under traffic; checks and returns the figures. */
  async function failAndRecover({ label, fail, mend, pinned }: Scenario) {
    const ex = await servedExplainer(h.tether);
    const home = new Map(USERS.map((u) => [u, idOf.get(pickOf(ex, u).address)!]));
    const victim = replicas.find((r) => r.id === home.get(USERS[0]!))!;
    const victims = USERS.filter((u) => home.get(u) === victim.id);
    const fallback = new Map(victims.map((u) => [u, idOf.get(pickOf(ex, u).fallback!.address)!]));
    // Envoy rebuilds the ring from the healthy replicas: what-if eject says who else moves.
    const ejected = await ejectPrediction(victim.address, 'main');
    for (const u of victims) expect(ejected.get(u)).toBe(fallback.get(u));
    const movers = pinned ? victims : USERS.filter((u) => ejected.get(u) !== home.get(u));
    const whileOut = (u: string) => (pinned ? (home.get(u) === victim.id ? fallback.get(u)! : home.get(u)!) : ejected.get(u)!);

    const traffic = new StickyTraffic({ port, users: USERS, ...(pinned ? { host: 'pinned.local', cookies: true } : {}) });
    try {
      await waitFor('traffic flowing', () => traffic.samples.length > 60, 10_000);
      const failedAt = Date.now();
      await fail(victim);
      const moved = await waitFor(
        `${victim.id}'s users on their fallback`,
        () => {
          const firsts = movers.map((u) => traffic.since(failedAt).find((s) => s.user === u && s.replica === whileOut(u)));
          return firsts.every((s) => s !== undefined) ? firsts : undefined;
        },
        15_000,
      );
      const detectedAt = Math.max(...moved.filter((_, i) => home.get(movers[i]!) === victim.id).map((s) => s!.at));
      const window = traffic.since(failedAt).filter((s) => s.at <= detectedAt);
      const mendedAt = Date.now();
      await mend(victim);
      // Ring hash comes back by itself; pinned users stay on the replica their cookie names.
      const settledAt = pinned
        ? await waitFor('a second of traffic after the mend', () => (Date.now() - mendedAt > 1500 ? Date.now() : undefined), 10_000)
        : Math.max(
            ...(await waitFor(
              `${victim.id}'s users back`,
              () => {
                const firsts = movers.map((u) => traffic.since(mendedAt).find((s) => s.user === u && s.replica === home.get(u)));
                return firsts.every((s) => s !== undefined) ? firsts : undefined;
              },
              15_000,
            )).map((s) => s!.at),
          );
      await waitFor('traffic after the return', () => traffic.since(settledAt).length > 60, 10_000);
      await traffic.stop();

      // Every answer came from the user's home or from where it goes while the victim is out.
      for (const s of traffic.samples.filter((x) => x.replica !== undefined)) {
        expect([home.get(s.user)!, whileOut(s.user)], `${s.user} answered by ${s.replica}`).toContain(s.replica);
      }
      const end = traffic.since(settledAt).filter((x) => x.replica !== undefined);
      for (const s of end) expect(s.replica, s.user).toBe(pinned ? whileOut(s.user) : home.get(s.user));
      const failed = window.filter((s) => s.replica === undefined);
      const figures = {
        label,
        replica: victim.id,
        users: USERS.length,
        victimUsers: victims.length,
        otherUsersMoved: movers.length - victims.length,
        detectionMs: detectedAt - failedAt,
        ...(pinned ? {} : { returnMs: settledAt - mendedAt }),
        requestsInWindow: window.length,
        failedInWindow: failed.length,
        failedAfterMend: traffic.since(settledAt).filter((s) => s.replica === undefined).length,
        healthCheckFailures: (await envoy.stat('cluster.shop.health_check.failure')) ?? 0,
        outlierEjections: (await envoy.stat('cluster.shop.outlier_detection.ejections_enforced_total')) ?? 0,
      };
      console.log(`replica failure figures: ${JSON.stringify(figures)}`);
      expect(figures.detectionMs).toBeLessThan(DETECTION_MS + SCHEDULING_SLACK_MS);
      expect(figures.failedAfterMend).toBe(0);
      return { figures, victims, victim };
    } finally {
      await traffic.stop();
    }
  }

  it('a hung replica (SIGSTOP): its users move to the fallback explain names (and what-if eject names the few others), all come back on SIGCONT', async () => {
    const { victims, victim } = await failAndRecover({ label: 'hang', fail: (r) => r.pause(), mend: (r) => r.resume() });
    expect(victims.length).toBeGreaterThan(0);
    // The CLI names the same fallback (the admin API's Explain).
    const out = await cli(['explain', 'shop', '-H', `x-user=${victims[0]}`]);
    const fallback = /^fallback: (\S+) \(backend shop\b/m.exec(out)?.[1];
    expect(fallback, out).toBeDefined();
    expect(idOf.get(fallback!)).not.toBe(victim.id);
    expect(await replicaOf(victims[0]!)).toBe(victim.id);
  }, 60_000);

  it('a killed replica (SIGKILL), then restarted: the same, faster (connections are refused)', async () => {
    await failAndRecover({ label: 'kill', fail: (r) => r.kill(), mend: (r) => r.restart() });
  }, 60_000);

  it('strong stickiness (stateful session cookie): only the failed replica\'s users move, and they stay after it recovers', async () => {
    await failAndRecover({ label: 'hang, pinned', fail: (r) => r.pause(), mend: (r) => r.resume(), pinned: true });
  }, 60_000);

  it('retries (previous_hosts): with its replica dead, every request of its users succeeds on the replica explain names for a retry', async () => {
    const ex = await servedExplainer(h.tether);
    const victim = idOf.get(pickOf(ex, USERS[0]!, '/retry').address)!;
    const users = USERS.filter((u) => idOf.get(pickOf(ex, u, '/retry').address) === victim);
    // Every other replica up in Envoy's view first (the previous tests failed and mended some):
    // the retry must find its replica healthy, not one still coming back.
    await waitFor('every replica healthy in shop-plain', async () => [...(await envoy.hostHealth('shop-plain')).values()].every((flags) => flags.length === 0) || undefined, 20_000, 100);
    const before = (await envoy.stat('cluster.shop-plain.upstream_rq_retry')) ?? 0;
    const replica = replicas.find((r) => r.id === victim)!;
    await replica.kill();
    try {
      for (const u of users) {
        const reply = await request(port, { headers: { 'x-user': u }, path: '/retry', timeoutMs: 5000 });
        expect(reply.status, reply.body).toBe(200);
        // The retry walks the ring from the session's entry: explain's `retry`, not the rebuilt ring's fallback.
        expect(reply.json!.replica).toBe(idOf.get(pickOf(ex, u, '/retry').retry!.address));
      }
      expect(((await envoy.stat('cluster.shop-plain.upstream_rq_retry')) ?? 0) - before).toBeGreaterThanOrEqual(users.length);
    } finally {
      await replica.restart();
    }
    await envoy.until('shop healthy again', async () => (await measure()).every((r) => r.startsWith('r')), 15_000, 200);
  }, 60_000);

  it('circuit breaker: a burst of cold requests beyond maxRequests + maxPendingRequests is refused (503, x-envoy-overloaded)', async () => {
    const burst = Array.from({ length: 40 }, (_, i) => `breaker-user-${i}`);
    const replies = await Promise.all(burst.map((u) => request(port, { headers: { 'x-user': u }, path: '/breaker', timeoutMs: 10_000 })));
    const refused = replies.filter((r) => r.status === 503 && r.headers['x-envoy-overloaded'] === 'true');
    const served = replies.filter((r) => r.status === 200);
    const overflow = ((await envoy.stat('cluster.shop-breaker.upstream_rq_pending_overflow')) ?? 0) + ((await envoy.stat('cluster.shop-breaker.upstream_cx_overflow')) ?? 0);
    console.log(`circuit breaker figures: ${JSON.stringify({ burst: burst.length, served: served.length, refused: refused.length, overflow })}`);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length + refused.length).toBe(burst.length);
    expect((await envoy.stat('cluster.shop-breaker.upstream_rq_pending_overflow')) ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('zones: users stay in zone a (priority 0) while a replica there is left, then fail over to zone b, and come back', async () => {
    const ex = await servedExplainer(h.tether);
    const [a, b, c] = replicas;
    const home = USERS.map((u) => idOf.get(pickOf(ex, u, '/zones').address)!);
    expect(new Set(home)).toEqual(new Set([a!.id, b!.id]));
    // The tests before killed and mended replicas: wait until Envoy's health checks pass them all.
    await waitFor('every user at home in zone a', async () => JSON.stringify(await measure('/zones')) === JSON.stringify(home) || undefined, 20_000, 100);
    const fallback = USERS.map((u) => idOf.get(pickOf(ex, u, '/zones').fallback!.address)!);
    a!.pause();
    try {
      // a's users go to b (their fallback, still in zone a); nobody goes to zone b.
      const expected = home.map((r, i) => (r === a!.id ? fallback[i] : r));
      expect(expected.every((r) => r === b!.id)).toBe(true);
      await waitFor('zone a without a', async () => JSON.stringify(await measure('/zones')) === JSON.stringify(expected) || undefined, 15_000, 100);
      b!.pause();
      await waitFor('zone b takes everyone', async () => (await measure('/zones')).every((r) => r === c!.id) || undefined, 15_000, 100);
    } finally {
      a!.resume();
      b!.resume();
    }
    await waitFor('back in zone a', async () => JSON.stringify(await measure('/zones')) === JSON.stringify(home) || undefined, 15_000, 100);
    expect(addressOf(c!.id)).toBe(c!.address);
  }, 60_000);
});
