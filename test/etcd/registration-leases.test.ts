/**
 * Self-registration tied to liveness on a shared etcd history (issue 15, proof 7): a replica
 * (`tether sample --register-ttl`) killed with -9 leaves its backend within the TTL, with nobody
 * calling RemoveEndpoint, on every instance; a replica that keeps its registration alive keeps
 * it when the instance it talked to dies (its keep-alives reach another instance).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/cli/admin-client';
import { startRegistration, type Registration } from '../../src/cli/endpoint-registration';
import { silentLogger } from '../../src/log';
import type { Tether } from '../../src/server/tether';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { startEtcdTethers, type EtcdTethers } from '../support/etcd-tethers';
import { ADMIN_TOKEN, waitFor } from '../support/harness';
import { TETHER_BIN } from '../support/tether-process';

const TTL = 2;
let cluster: EtcdCluster;
let group: EtcdTethers;
const children: ChildProcess[] = [];
let kept: Registration | undefined;

function endpointsOf(t: Tether, backend: string): string[] {
  return t.manager.current().config.backends.find((b) => b.name === backend)!.endpoints.filter((e) => !e.drain).map((e) => `${e.host}:${e.port}`);
}

function everywhere(address: string, present: boolean): boolean {
  return group.tethers.filter((t) => t.adminPort !== undefined && !closed.has(t)).every((t) => endpointsOf(t, 'v1').includes(address) === present);
}
const closed = new Set<Tether>();

describe.skipIf(!etcdAvailable() || !fs.existsSync(TETHER_BIN))('endpoint registrations on etcd leases', () => {
  beforeAll(async () => {
    cluster = await startEtcdCluster();
    group = await startEtcdTethers(cluster.url('leases'), 3);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await kept?.deregister();
    await group?.close();
    await cluster?.stop();
  });

  it('a replica killed with -9 leaves EDS within the TTL, on every instance', async () => {
    const [a, b] = group.tethers as [Tether, Tether];
    const child = spawn(
      process.execPath,
      [TETHER_BIN, 'sample', '--id', 'dying', '--http-port', '0', '--grpc-port', '0', '--register-backend', 'v1', '--admin', `ipv4:127.0.0.1:${a.adminPort},127.0.0.1:${b.adminPort}`, '--register-ttl', `${TTL}s`, '--log-level', 'info'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TETHER_ADMIN_TOKEN: ADMIN_TOKEN } },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const address = await waitFor('the replica registered', () => (/"msg":"registered endpoint on a lease"/.test(out) ? /"address":"([^"]+)"/.exec(out)?.[1] : undefined), 20_000);
    await waitFor('its endpoint on every instance', () => everywhere(address, true) || undefined);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor('its endpoint gone from every instance', () => everywhere(address, false) || undefined, (TTL + 5) * 1000, 50);
    const gone = Date.now() - killedAt;
    console.log(`[lease] a killed replica left EDS on every instance ${gone} ms after kill -9 (TTL ${TTL} s)`);
    // The lease's TTL, one reconciliation pass (200 ms here) and the watch: well under TTL + 2 s.
    expect(gone).toBeLessThan((TTL + 2) * 1000);
    const last = (await a.manager.history())[0]!;
    expect(last.source).toBe('lease-expired');
  }, 40_000);

  it('a replica that keeps its registration alive survives the death of the instance it talked to', async () => {
    const [a, b, c] = group.tethers as [Tether, Tether, Tether];
    const client = createAdminClient({ address: `ipv4:127.0.0.1:${a.adminPort},127.0.0.1:${b.adminPort},127.0.0.1:${c.adminPort}`, token: ADMIN_TOKEN, deadlineMs: 2000 });
    const address = '127.0.0.1:4242';
    kept = startRegistration({ client, backend: 'v1', address, logger: silentLogger(), leaseTtlSeconds: TTL, drainGraceMs: 0 });
    expect(await kept.registered).toBe(true);
    await waitFor('registered everywhere', () => everywhere(address, true) || undefined);
    // A dies (its admin server and its share of the election go away).
    closed.add(a);
    await a.close();
    // Three TTLs later the registration is still there: its keep-alives reach B or C.
    const until = Date.now() + 3 * TTL * 1000;
    while (Date.now() < until) {
      expect(everywhere(address, true)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
    }
    await kept.deregister();
    kept = undefined;
    await waitFor('deregistered', () => everywhere(address, false) || undefined);
  }, 40_000);
});
