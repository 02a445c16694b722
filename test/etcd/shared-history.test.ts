/**
 * Several Tether instances, one history, a real three-member etcd (issue 15, proofs 1 and 5):
 * an edit through one instance is served by every instance, byte for byte and under the same
 * version string, to real grpc-js-xds clients; concurrent compare-and-set edits over three
 * instances are linearizable (a history checker over what etcd kept).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tether } from '../../src/server/tether';
import { TetherError } from '../../src/config/errors';
import { NODE_KINDS } from '../../src/model/node-targets';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { SHARED_CONFIG, setV2Weight, startEtcdTethers, type EtcdTethers } from '../support/etcd-tethers';
import { ENDPOINT_TYPE } from '../../src/envoy/resource-types';
import { Harness, waitFor, xdsSampleClient, type SampleClient } from '../support/harness';
import { checkHistory, type Attempt } from '../support/history-checker';
import { createEtcdStore } from '../../src/store/etcd-store';
import { parseEtcdUrl } from '../../src/store/etcd-connection';

let cluster: EtcdCluster;
let group: EtcdTethers;
const clients: SampleClient[] = [];

/** Every snapshot of every kind, as bytes: what a node would receive. */
function servedBytes(t: Tether): string {
  return NODE_KINDS.map((kind) => {
    const s = t.cache.get(kind)!;
    return [s.configVersion, ...Object.values(s.sets).flatMap((set) => [set.version, ...set.list.map((r) => `${r.name}=${r.anyBytes.toString('base64')}`)])].join('\n');
  }).join('\n');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe.skipIf(!etcdAvailable())('several instances on one etcd history', () => {
  beforeAll(async () => {
    cluster = await startEtcdCluster();
    // The whole history stays in etcd, for the checker.
    group = await startEtcdTethers(cluster.url('shared'), 3, undefined, { historyLimit: 1000 });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await group?.close();
    await cluster?.stop();
  });

  it('serves an edit made through A from B and C: same version string, byte-identical resources, every client ACKs', async () => {
    const [a, b, c] = group.tethers as [Tether, Tether, Tether];
    // Two grpc-js-xds clients on each instance.
    group.tethers.forEach((t, i) => {
      for (let k = 0; k < 2; k++) {
        const client = xdsSampleClient('app', t.xdsPort, `node-${i}-${k}`);
        clients.push(client);
        // The channel connects (and subscribes over ADS) on its first call; the call itself
        // fails (no replica listens on the config's ports), which is fine here.
        client.waitForReady(Date.now() + 10_000, () => undefined);
        client.Hello({}, { deadline: Date.now() + 200 }, () => undefined);
      }
    });
    const start = a.manager.current().version;
    await waitFor('every client connected and on the first version', () =>
      group.tethers.every((t) => t.registry.list().length === 2 && t.registry.lagging(String(start)).length === 0),
      20_000,
    );

    const latencies: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const t0 = performance.now();
      const res = await a.manager.mutate('test', setV2Weight(i), {});
      expect(res.changed).toBe(true);
      const all = await Promise.all(group.tethers.map((t) => t.registry.waitForConfigVersion(String(res.version), { timeoutMs: 10_000 })));
      latencies.push(performance.now() - t0);
      expect(all).toEqual([true, true, true]);
    }
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(`[bench] etcd, 3 instances, 6 grpc-js-xds clients: edit via A → every client on every instance ACKed: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms (n=${sorted.length})`);

    const version = a.manager.current().version;
    expect(b.manager.current().version).toBe(version);
    expect(c.manager.current().version).toBe(version);
    expect(servedBytes(b)).toBe(servedBytes(a));
    expect(servedBytes(c)).toBe(servedBytes(a));
    expect(await b.manager.history()).toEqual(await a.manager.history());
  }, 60_000);

  // The same measurement on one Tether with the file store, for bench/RESULTS.md (TETHER_BENCH=1).
  it.skipIf(!process.env.TETHER_BENCH)('bench: the same edits on one file-store instance', async () => {
    const h = new Harness();
    try {
      const t = await h.start(SHARED_CONFIG, { watch: false, configSource: 'api' });
      for (let k = 0; k < 6; k++) {
        const client = xdsSampleClient('app', t.xdsPort, `file-${k}`);
        clients.push(client);
        client.Hello({}, { deadline: Date.now() + 200 }, () => undefined);
      }
      await waitFor('6 clients', () => t.registry.list().length === 6 && t.registry.lagging(String(t.manager.current().version)).length === 0, 20_000);
      const latencies: number[] = [];
      for (let i = 1; i <= 20; i++) {
        const t0 = performance.now();
        const res = await t.manager.mutate('test', setV2Weight(i), {});
        expect(await t.registry.waitForConfigVersion(String(res.version), { timeoutMs: 10_000 })).toBe(true);
        latencies.push(performance.now() - t0);
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      console.log(`[bench] file store, 1 instance, 6 grpc-js-xds clients: edit → every client ACKed: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms (n=${sorted.length})`);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('refuses a stale compare-and-set with ABORTED naming the current version, from any instance', async () => {
    const [a, b] = group.tethers as [Tether, Tether];
    const base = a.manager.current().version;
    const won = await a.manager.mutate('test', setV2Weight(40), { expectedVersion: base });
    expect(won.version).toBe(base + 1);
    // B is asked with the version the caller saw before A's edit: it must lose even if its watch lags.
    const lost = await b.manager.mutate('test', setV2Weight(41), { expectedVersion: base }).then(
      () => undefined,
      (err: unknown) => err as TetherError,
    );
    expect(lost?.code).toBe('ABORTED');
    expect(lost?.message).toContain(`current version is ${base + 1}`);
  });

  it('DNS names: instances whose resolvers disagree serve the elected instance\'s answers, byte for byte', async () => {
    const dnsConfig = SHARED_CONFIG.replace('"127.0.0.1:1002"', '"svc.test:1002"');
    const dns = await startEtcdTethers(cluster.url('dns'), 0, dnsConfig);
    try {
      // Each instance's own resolver gives a different answer.
      for (let i = 1; i <= 3; i++) await dns.add({ lookup: async () => [`10.0.0.${i}`] });
      const leaderAnswer = await waitFor('one answer served everywhere', () => {
        const served = dns.tethers.map(servedBytes);
        const v2 = dns.tethers.map((t) => t.cache.get('envoy')!.sets[ENDPOINT_TYPE].list.find((r) => r.name.includes('v2')));
        const text = v2.map((r) => r?.anyBytes.toString('latin1') ?? '');
        const ip = /10\.0\.0\.(\d)/.exec(text[0]!)?.[0];
        return ip && served.every((b) => b === served[0]) && text.every((t) => t.includes(ip)) ? ip : undefined;
      }, 20_000, 100);
      expect(leaderAnswer).toMatch(/^10\.0\.0\.[123]$/);
    } finally {
      await dns.close();
    }
  }, 60_000);

  it('200 concurrent compare-and-set edits over three instances: linearizable history', async () => {
    const attempts: Attempt[] = [];
    const editsPerWorker = 20;
    // 10 workers, each alternating instances, each edit with the version it last saw.
    const worker = async (w: number) => {
      for (let k = 0; k < editsPerWorker; k++) {
        const t = group.tethers[(w + k) % 3]!;
        const base = t.manager.current().version;
        const weight = (w * editsPerWorker + k) % 101;
        const tag = `w${w}-e${k}`;
        try {
          const res = await t.manager.mutate('test', setV2Weight(weight, 2000 + w * editsPerWorker + k), { expectedVersion: base, description: tag });
          attempts.push({ tag, base, acked: res.changed ? res.version : undefined, unchanged: !res.changed });
        } catch (err) {
          const code = (err as TetherError).code;
          expect(['ABORTED']).toContain(code);
          attempts.push({ tag, base, aborted: true });
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, w) => worker(w)));
    expect(attempts).toHaveLength(200);

    // The history as etcd has it, read by a fresh client.
    const store = await createEtcdStore({ connection: { target: parseEtcdUrl(cluster.url('shared')) }, retain: 1000 });
    try {
      const head = (await store.current())!.version;
      const records = [];
      for (let v = 1; v <= head; v++) records.push(await store.get(v));
      const result = checkHistory(attempts, records);
      expect(result.problems).toEqual([]);
      expect(result.acknowledged).toBeGreaterThan(10);
      console.log(`[history] 200 CAS edits over 3 instances: ${result.acknowledged} acknowledged, ${result.aborted} ABORTED, ${result.unchanged} unchanged; head ${head}`);
    } finally {
      await store.close();
    }
    const version = group.tethers[0]!.manager.current().version;
    await waitFor('all instances on the head', () => group.tethers.every((t) => t.manager.current().version === version) || undefined);
  }, 60_000);
});
