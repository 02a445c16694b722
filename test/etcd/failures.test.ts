/**
 * What each failure does to several Tether instances on a real three-member etcd (issue 15,
 * proofs 3 and 4, and status across instances): a member down changes nothing; without a
 * quorum edits are refused with UNAVAILABLE naming etcd while every instance keeps serving its
 * last version and says why it is stale; an instance cut off from etcd (TCP links cut) refuses
 * edits and catches up when the links return.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import type { CliError } from '../../src/cli/errors';
import type { Tether } from '../../src/server/tether';
import { STORE_HEALTH_SERVICE } from '../../src/admin/server';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { startEtcdTethers, type EtcdTethers } from '../support/etcd-tethers';
import { ADMIN_TOKEN, waitFor, xdsSampleClient, type SampleClient } from '../support/harness';
import { startTcpLink, type TcpLink } from '../support/tcp-link';

let cluster: EtcdCluster;
let group: EtcdTethers;
let links: TcpLink[] = [];
const admins: AdminClient[] = [];
const clients: SampleClient[] = [];
const healthClients: grpc.Client[] = [];

function admin(t: Tether): AdminClient {
  const c = createAdminClient({ address: `127.0.0.1:${t.adminPort}`, token: ADMIN_TOKEN, deadlineMs: 8000 });
  admins.push(c);
  return c;
}

function setSplit(t: Tether, v2: number) {
  return admin(t).call('SetSplit', { service: 'app', route: 'main', weights: { v1: 100 - v2, v2 } });
}

async function refusal(p: Promise<unknown>): Promise<CliError> {
  return p.then(
    () => {
      throw new Error('expected the edit to be refused');
    },
    (err: unknown) => err as CliError,
  );
}

function storeHealth(t: Tether): Promise<string> {
  const Ctor = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
  const client = new Ctor(`127.0.0.1:${t.adminPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  };
  healthClients.push(client);
  return new Promise((resolve, reject) => client.Check({ service: STORE_HEALTH_SERVICE }, (err, res) => (err ? reject(err) : resolve(res!.status))));
}

/** A new grpc-js-xds client on `t`: resolves once `t` sees it applied `version`. */
async function freshClientApplies(t: Tether, nodeId: string, version: number): Promise<void> {
  const client = xdsSampleClient('app', t.xdsPort, nodeId);
  clients.push(client);
  client.Hello({}, { deadline: Date.now() + 300 }, () => undefined);
  await waitFor(`${nodeId} applied v${version}`, () => t.registry.list().find((n) => n.nodeId === nodeId && n.appliedConfigVersion === String(version)), 15_000);
}

describe.skipIf(!etcdAvailable())('several instances through etcd failures', () => {
  beforeAll(async () => {
    cluster = await startEtcdCluster();
    group = await startEtcdTethers(cluster.url('failures'), 2);
    // C reaches every member through a TCP link the test can cut.
    links = await Promise.all(cluster.endpoints.map((e) => startTcpLink({ host: '127.0.0.1', port: Number(e.split(':')[1]) })));
    const viaLinks = `etcd://${links.map((l) => l.address).join(',')}/failures`;
    const { parseEtcdUrl } = await import('../../src/store/etcd-connection');
    await group.add({ etcd: { connection: { target: parseEtcdUrl(viaLinks), callTimeoutMs: 1000 }, probeIntervalMs: 200, nodeStatusTtlSeconds: 2, leaderTtlSeconds: 2, leaderIntervalMs: 200 } });
  }, 60_000);

  afterAll(async () => {
    for (const c of [...admins, ...clients, ...healthClients]) c.close();
    await group?.close();
    await Promise.all(links.map((l) => l.close()));
    await cluster?.stop();
  });

  it('status on any instance lists the nodes of every instance', async () => {
    const [a, b, c] = group.tethers as [Tether, Tether, Tether];
    const version = a.manager.current().version;
    await freshClientApplies(a, 'on-a', version);
    await freshClientApplies(c, 'on-c', version);
    const status = await waitFor('B sees the nodes of A and C', async () => {
      const s = await admin(b).call('GetStatus', { node_kind: '' });
      return s.nodes.some((n) => n.node_id === 'on-a') && s.nodes.some((n) => n.node_id === 'on-c') ? s : undefined;
    });
    expect(status.instance).not.toBe('');
    expect(status.store).toMatch(/^etcd:\/\//);
    expect(status.stale).toBe('');
    const onA = status.nodes.find((n) => n.node_id === 'on-a')!;
    expect(onA.instance).not.toBe(status.instance);
    expect(onA.applied_version).toBe(String(version));
  }, 30_000);

  it('one member down: edits go on; the quorum lost: UNAVAILABLE naming etcd, serving goes on, health says why; quorum back: edits resume, nothing lost', async () => {
    const [a, b] = group.tethers as [Tether, Tether];
    await cluster.kill(2);
    const first = await setSplit(a, 10);
    expect(first.changed).toBe(true);
    await waitFor('B serves the edit made with a member down', () => b.manager.current().version === Number(first.version) || undefined);

    await cluster.kill(1);
    const refused = await refusal(setSplit(a, 20));
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.message).toMatch(/etcd/);
    const stale = await waitFor('A reports itself stale', async () => {
      const s = await admin(a).call('GetStatus', { node_kind: '' });
      return s.stale ? s : undefined;
    });
    expect(stale.stale).toMatch(/etcd/);
    expect(await storeHealth(a)).toBe('NOT_SERVING');
    // Serving goes on: a proxy that connects now still gets the last version.
    expect(a.manager.current().version).toBe(Number(first.version));
    await freshClientApplies(b, 'during-outage', Number(first.version));

    await cluster.restart(1);
    await cluster.restart(2);
    const resumed = await waitFor('edits resume', () => setSplit(a, 30).catch(() => undefined), 20_000, 200);
    expect(Number(resumed.version)).toBe(Number(first.version) + 1);
    await waitFor('A in touch again', async () => (await storeHealth(a)) === 'SERVING' || undefined);
    // B learns of A's edit through its watch on the head: read its history once it serves it.
    await waitFor('B serves the resumed edit', () => b.manager.current().version === Number(resumed.version) || undefined);
    const history = await b.manager.history();
    expect(history.map((v) => v.version).slice(0, 2)).toEqual([Number(resumed.version), Number(first.version)]);
  }, 90_000);

  it('an instance cut off from etcd refuses edits, reports itself stale, and catches up when the link returns', async () => {
    const [a, , c] = group.tethers as [Tether, Tether, Tether];
    await waitFor('C in touch', () => (c.manager.current().version === a.manager.current().version && (c as Tether).adminPort ? true : undefined));
    for (const l of links) l.cut();
    const refused = await refusal(setSplit(c, 40));
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.message).toMatch(/etcd/);
    await waitFor('C reports itself stale', async () => (await admin(c).call('GetStatus', { node_kind: '' })).stale || undefined);
    expect(await storeHealth(c)).toBe('NOT_SERVING');

    const meanwhile = await setSplit(a, 50);
    expect(c.manager.current().version).toBe(Number(meanwhile.version) - 1);

    for (const l of links) l.restore();
    await waitFor('C catches up', () => c.manager.current().version === Number(meanwhile.version) || undefined, 20_000);
    await waitFor('C no longer stale', async () => (await admin(c).call('GetStatus', { node_kind: '' })).stale === '' || undefined, 20_000);
    expect(await storeHealth(c)).toBe('SERVING');
    const again = await setSplit(c, 60);
    expect(Number(again.version)).toBe(Number(meanwhile.version) + 1);
  }, 60_000);
});
