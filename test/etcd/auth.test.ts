/**
 * etcd with authentication on (etcd's own users, as `etcdctl auth enable` sets it up): an
 * instance with --etcd-user's credentials serves and edits; without them, or with a wrong
 * password, it refuses to start with an error naming etcd.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEtcdUrl } from '../../src/store/etcd-connection';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { setV2Weight, startEtcdTethers, type EtcdTethers } from '../support/etcd-tethers';

let cluster: EtcdCluster;
let group: EtcdTethers | undefined;

function etcdctl(...args: string[]): string {
  return execFileSync(process.env.ETCDCTL_BIN ?? 'etcdctl', [`--endpoints=${cluster.endpoints.join(',')}`, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ETCDCTL_API: '3' } });
}

let etcdctlFound = true;
try {
  execFileSync(process.env.ETCDCTL_BIN ?? 'etcdctl', ['version'], { timeout: 10_000 });
} catch {
  etcdctlFound = false;
}

describe.skipIf(!etcdAvailable() || !etcdctlFound)('etcd with authentication', () => {
  beforeAll(async () => {
    cluster = await startEtcdCluster();
    etcdctl('user', 'add', 'root:rootpw');
    etcdctl('user', 'add', 'tether:s3cret');
    etcdctl('role', 'add', 'tether');
    etcdctl('role', 'grant-permission', 'tether', '--prefix=true', 'readwrite', 'auth/');
    etcdctl('user', 'grant-role', 'tether', 'tether');
    etcdctl('auth', 'enable');
  }, 60_000);

  afterAll(async () => {
    await group?.close();
    await cluster?.stop();
  });

  it('serves and edits with --etcd-user; refuses to start without it or with a wrong password', async () => {
    const target = parseEtcdUrl(cluster.url('auth'));
    const base = { connection: { target, callTimeoutMs: 1000 }, probeIntervalMs: 200, nodeStatusTtlSeconds: 2, leaderTtlSeconds: 2, leaderIntervalMs: 200 };
    group = await startEtcdTethers(cluster.url('auth'), 0);
    const t = await group.add({ etcd: { ...base, connection: { ...base.connection, user: 'tether:s3cret' } } });
    const res = await t.manager.mutate('test', setV2Weight(5), {});
    expect(res.changed).toBe(true);
    for (const user of [undefined, 'tether:wrong']) {
      const failed = await group.add({ etcd: { ...base, connection: { ...base.connection, ...(user ? { user } : {}) } } }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(failed?.message).toMatch(/etcd/);
    }
  }, 60_000);
});
