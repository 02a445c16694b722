/**
 * Outlier detection with the real proxyless client (@grpc/grpc-js-xds, gRFC A50): a sticky
 * service over three sample replicas (processes), one of them hung (SIGSTOP). Its calls time
 * out; failure-percentage ejection takes it out, and only its users move, each to the replica
 * `explain --kind grpc` names as its fallback (grpc-js walks its ring past the ejected
 * subchannel). Without ejection a hung replica would keep its users waiting: its connection
 * stays open. After SIGCONT and the ejection time, they come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBuild } from '../cli/harness';
import { Harness, hello, waitFor, type SampleClient } from '../support/harness';
import { ReplicaProcess } from '../support/replica-process';
import { servedExplainer } from '../support/served-explain';

if (!hasBuild && process.env.CI === 'true') throw new Error('CI=true and dist/ is missing: this suite runs sample replicas from the build (npm run build)');

const USERS = Array.from({ length: 20 }, (_, i) => `grpc-user-${i}`);

describe.skipIf(!hasBuild)('grpc-js-xds outlier detection: a hung replica is ejected and only its users move', () => {
  const h = new Harness();
  const replicas: ReplicaProcess[] = [];
  let client: SampleClient;

  const replicaOf = async (user: string, timeoutMs = 300) => {
    try {
      return (await hello(client, { 'x-user': user }, timeoutMs)).replica_id;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    for (const id of ['g1', 'g2', 'g3']) replicas.push(await ReplicaProcess.start(id, 0));
    await h.start({
      services: [{ name: 'chat', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'chat' }] }] }],
      backends: [
        {
          name: 'chat',
          endpoints: replicas.map((r) => ({ address: r.address, grpcPort: r.grpcPort })),
          outlierDetection: { consecutive5xxErrors: 0, interval: '500ms', baseEjectionTime: '2s', maxEjectionPercent: 34, failurePercentage: { threshold: 50, minimumHosts: 3, requestVolume: 4 } },
        },
      ],
    });
    client = h.client('chat');
    await waitFor('every user answered', async () => (await Promise.all(USERS.map((u) => replicaOf(u, 2000)))).every(Boolean) || undefined, 20_000, 100);
  }, 60_000);

  afterAll(async () => {
    await h.close();
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('hang → ejected within the interval; its users on their fallback, the others unmoved; back after SIGCONT', async () => {
    const ex = await servedExplainer(h.tether, 'grpc');
    const byGrpcAddress = new Map(replicas.map((r) => [`127.0.0.1:${r.grpcPort}`, r.id]));
    const pick = (u: string) => ex.explain({ service: 'chat', headers: { 'x-user': u } }).pick!;
    const home = new Map(USERS.map((u) => [u, byGrpcAddress.get(pick(u).address)!]));
    for (const u of USERS) expect(await replicaOf(u, 2000)).toBe(home.get(u));
    const victim = replicas.find((r) => r.id === home.get(USERS[0]!))!;
    const movers = USERS.filter((u) => home.get(u) === victim.id);
    const fallback = new Map(movers.map((u) => [u, byGrpcAddress.get(pick(u).fallback!.address)!]));

    const stayers = USERS.filter((u) => home.get(u) !== victim.id);
    const failedAt = Date.now();
    victim.pause();
    let failed = 0;
    try {
      await waitFor(
        'the hung replica ejected',
        async () => {
          // The other users keep calling too, as real traffic does: failure-percentage ejection
          // needs request volume on at least minimumHosts replicas in the interval.
          const [got] = await Promise.all([Promise.all(movers.map((u) => replicaOf(u))), Promise.all(stayers.map((u) => replicaOf(u)))]);
          failed += got.filter((g) => g === undefined).length;
          return got.every((g, i) => g === fallback.get(movers[i]!)) || undefined;
        },
        20_000,
        50,
      );
      const detectionMs = Date.now() - failedAt;
      for (const u of USERS.filter((x) => home.get(x) !== victim.id)) expect(await replicaOf(u, 2000)).toBe(home.get(u));
      console.log(`grpc outlier detection figures: ${JSON.stringify({ users: USERS.length, moved: movers.length, detectionMs, failedCalls: failed })}`);
    } finally {
      victim.resume();
    }
    const resumedAt = Date.now();
    await waitFor('its users back', async () => (await Promise.all(movers.map((u) => replicaOf(u, 1000)))).every((g) => g === victim.id) || undefined, 20_000, 100);
    console.log(`grpc outlier detection return: ${Date.now() - resumedAt} ms after SIGCONT`);
  }, 60_000);
});
