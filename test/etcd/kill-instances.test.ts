/**
 * kill -9 of Tether instances sharing a real etcd (issue 15, proofs 2 and 6), with the built
 * binary as three processes:
 * - a real Envoy (envoy/sidecar-ha.yaml, every instance listed) and grpc-js-xds clients (the xDS
 *   server as a list of addresses) lose the instance they stream from: they reconnect to another,
 *   are sent nothing new (Envoy's listener and cluster counters do not move), and traffic through
 *   them does not fail at all (the data plane keeps its config; see README for the window);
 * - 20 rounds of kill -9 during edits lose no acknowledged edit (history checker).
 * The history starts in a data dir and is moved into etcd with `tether store migrate`, and back.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import type { CliError } from '../../src/cli/errors';
import { silentLogger } from '../../src/log';
import { startTether } from '../../src/server/tether';
import { createSampleClient } from '../../src/sample/sample-proto';
import { startReplica, type Replica } from '../../src/sample/replica';
import { createFileStore } from '../../src/store/file-store';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { hello, registerXds, waitFor, type SampleClient } from '../support/harness';
import { checkHistory, type Attempt } from '../support/history-checker';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { PROCESS_TOKEN, startTetherProcess, TETHER_BIN, type TetherProcess } from '../support/tether-process';

let cluster: EtcdCluster;
let dir: string;
let store: string;
let listenerPort: number;
const instances: (TetherProcess | undefined)[] = [];
let xdsPorts: number[] = [];
const replicas: Replica[] = [];
const clients: SampleClient[] = [];
const admins: AdminClient[] = [];
let envoy: EnvoyProcess | undefined;

function adminOf(t: TetherProcess): AdminClient {
  const c = createAdminClient({ address: `127.0.0.1:${t.adminPort}`, token: PROCESS_TOKEN, deadlineMs: 5000 });
  admins.push(c);
  return c;
}

function start(i: number): Promise<TetherProcess> {
  return startTetherProcess({ name: `t${i}`, store, xdsPort: xdsPorts[i]!, configPath: path.join(dir, 'config.yaml'), dataDir: path.join(dir, `data-${i}`), extraArgs: ['--history-limit', '100000'] }).then((t) => (instances[i] = t));
}

function live(): TetherProcess[] {
  return instances.filter((t): t is TetherProcess => !!t && t.child.exitCode === null && t.child.signalCode === null);
}

/** A grpc-js-xds client whose xDS server is every instance, `first` first (pick_first: that one). */
function haClient(nodeId: string, order: number[]): SampleClient {
  registerXds();
  const bootstrap = {
    xds_servers: [{ server_uri: `ipv4:${order.map((i) => `127.0.0.1:${xdsPorts[i]}`).join(',')}`, channel_creds: [{ type: 'insecure' }], server_features: [] }],
    node: { id: nodeId, locality: {} },
  };
  const c = createSampleClient('xds:///app', grpc.credentials.createInsecure(), { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) });
  clients.push(c);
  return c;
}

const canRun = fs.existsSync(TETHER_BIN) && etcdAvailable();

describe.skipIf(!canRun)('kill -9 of instances on a shared etcd history', () => {
  beforeAll(async () => {
    dir = makeTempDir('etcd-kill');
    cluster = await startEtcdCluster();
    store = cluster.url('kill');
    replicas.push(await startReplica({ id: 'r1', version: 'v1', coldDelayMs: 1 }), await startReplica({ id: 'r2', version: 'v2', coldDelayMs: 1 }));
    listenerPort = await freePort();
    const config = {
      listeners: [{ name: 'http', port: listenerPort, address: '127.0.0.1' }],
      services: [{ name: 'app', routes: [{ name: 'main', backends: [{ name: 'v1', weight: 100 }, { name: 'v2', weight: 0 }] }] }],
      backends: replicas.map((r) => ({ name: r.version, endpoints: [{ address: `127.0.0.1:${r.httpPort}`, grpcPort: r.grpcPort }] })),
    };
    fs.writeFileSync(path.join(dir, 'config.yaml'), JSON.stringify(config));
    // The history starts in a file store (a single Tether before), then moves into etcd.
    const single = await startTether({ configPath: path.join(dir, 'config.yaml'), dataDir: path.join(dir, 'single'), xdsHost: '127.0.0.1', xdsPort: 0, admin: false, logger: silentLogger() });
    await single.manager.mutate('test', (d) => d, { description: 'unchanged' });
    await single.close();
    const out = execFileSync(process.execPath, [TETHER_BIN, 'store', 'migrate', '--from', path.join(dir, 'single'), '--to', store], { encoding: 'utf8', timeout: 30_000 });
    expect(out).toMatch(/migrated 1 version/);
    xdsPorts = [await freePort(), await freePort(), await freePort()];
    await Promise.all([0, 1, 2].map(start));
  }, 90_000);

  afterAll(async () => {
    for (const c of [...clients, ...admins]) c.close();
    await envoy?.close();
    await Promise.all(instances.map((t) => t?.kill()));
    await Promise.all(replicas.map((r) => r.close()));
    await cluster?.stop();
    removeTempDir(dir);
  });

  it.skipIf(!envoyAvailable())('an Envoy and grpc-js-xds clients move to another instance: nothing new sent, no failed request', async () => {
    const version = (await adminOf(instances[0]!).call('GetStatus', { node_kind: '' })).current_version;
    expect(version).toBe('1');
    envoy = await startEnvoy({ xdsPort: 0, xdsPorts, bootstrap: 'sidecar-ha', nodeId: 'envoy-ha' });
    await envoy.waitListening(listenerPort);
    const seen = await waitFor('the Envoy in status', async () => (await adminOf(instances[0]!).call('GetStatus', { node_kind: '' })).nodes.find((n) => n.node_id === 'envoy-ha' && n.applied_version === version));
    const victim = instances.findIndex((t) => t?.name === seen.instance);
    expect(victim).toBeGreaterThanOrEqual(0);
    const order = [victim, ...[0, 1, 2].filter((i) => i !== victim)];
    const grpcClients = [0, 1, 2].map((k) => haClient(`grpc-ha-${k}`, order));
    for (const c of grpcClients) expect((await hello(c, {}, 10_000)).replica_id).toBe('r1');
    const survivor = instances[order[1]!]!;
    await waitFor('the gRPC clients on the victim', async () => {
      const nodes = (await adminOf(survivor).call('GetStatus', { node_kind: '' })).nodes.filter((n) => n.node_id.startsWith('grpc-ha-'));
      return nodes.length === 3 && nodes.every((n) => n.instance === seen.instance && n.applied_version === version);
    });

    const counters = ['listener_manager.listener_added', 'listener_manager.listener_modified', 'cluster_manager.cluster_added', 'cluster_manager.cluster_modified'];
    const before = await Promise.all(counters.map((c) => envoy!.stat(c)));
    let failures = 0;
    let requests = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        const results = await Promise.allSettled([request(listenerPort, { timeoutMs: 3000 }), ...grpcClients.map((c) => hello(c, {}, 3000))]);
        requests += results.length;
        failures += results.filter((r, i) => r.status === 'rejected' || (i === 0 && (r.value as { status: number }).status !== 200)).length;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    await instances[victim]!.kill();
    const moved = await waitFor(
      'every node back on a surviving instance at the same version',
      async () => {
        const nodes = (await adminOf(survivor).call('GetStatus', { node_kind: '' })).nodes.filter((n) => n.node_id === 'envoy-ha' || n.node_id.startsWith('grpc-ha-'));
        return nodes.length === 4 && nodes.every((n) => n.instance !== seen.instance && n.applied_version === version) ? nodes : undefined;
      },
      20_000,
      100,
    );
    expect(moved.map((n) => n.applied_version)).toEqual([version, version, version, version]);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await traffic;
    expect(failures, `${failures} of ${requests} requests failed`).toBe(0);
    expect(requests).toBeGreaterThan(20);
    // Nothing new was applied: no listener or cluster was added or modified by the reconnect.
    expect(await Promise.all(counters.map((c) => envoy!.stat(c)))).toEqual(before);
    expect((await adminOf(survivor).call('GetStatus', { node_kind: '' })).current_version).toBe(version);
    await envoy.expectNoRejections();
    await start(victim);
  }, 90_000);

  it('20 rounds of kill -9 of a random instance during edits: no acknowledged edit is lost', async () => {
    const attempts: Attempt[] = [];
    let stop = false;
    let n = 0;
    const writer = async (w: number) => {
      while (!stop) {
        const targets = live();
        const t = targets[(w + n) % targets.length];
        if (!t) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const tag = `r${w}-e${n++}`;
        const v2 = n % 100;
        try {
          const res = await adminOf(t).call('SetSplit', { options: { description: tag }, service: 'app', route: 'main', weights: { v1: 100 - v2, v2 } });
          attempts.push(res.changed ? { tag, acked: Number(res.version) } : { tag, unchanged: true });
        } catch (err) {
          const e = err as CliError;
          // ABORTED: another instance's edit won the race; anything else (killed mid-call) is unknown.
          attempts.push(e.code === grpc.status.ABORTED ? { tag, aborted: true } : { tag, unknown: true });
        }
      }
    };
    const writers = [0, 1, 2].map(writer);
    const restarts: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      const acked = attempts.filter((a) => a.acked !== undefined).length;
      await waitFor(`an acknowledged edit in round ${round}`, () => attempts.filter((a) => a.acked !== undefined).length > acked || undefined, 20_000);
      const alive = live();
      if (alive.length < 2) {
        await Promise.all(restarts);
        continue;
      }
      const victim = alive[Math.floor(Math.random() * alive.length)]!;
      const index = instances.indexOf(victim);
      await victim.kill();
      restarts.push(start(index));
    }
    await Promise.all(restarts);
    stop = true;
    await Promise.all(writers);

    // The whole history, read back through the migration command (etcd → a data dir).
    const back = path.join(dir, 'back');
    execFileSync(process.execPath, [TETHER_BIN, 'store', 'migrate', '--from', store, '--to', back], { encoding: 'utf8', timeout: 30_000 });
    const copy = await createFileStore({ dir: back, retain: 100_000 });
    const head = (await copy.current())!.version;
    const records = [];
    for (let v = 1; v <= head; v++) records.push(await copy.get(v));
    await copy.close();
    const result = checkHistory(attempts, records);
    expect(result.problems).toEqual([]);
    expect(result.acknowledged).toBeGreaterThanOrEqual(20);
    console.log(`[kill] 20 rounds of kill -9: ${result.acknowledged} acknowledged (none lost), ${result.aborted} ABORTED, ${attempts.filter((a) => a.unknown).length} outcome unknown; head v${head}`);
  }, 120_000);
});
