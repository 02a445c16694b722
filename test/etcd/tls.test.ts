/**
 * etcd over TLS with client certificates (etcd's --client-cert-auth), against a real three-member
 * cluster serving https: the built `tether serve --store etcds://…` with --etcd-cacert/--etcd-cert/
 * --etcd-key commits an admin-API edit that etcdctl, with the same certificates, reads back; a
 * wrong CA or a missing client certificate makes it exit within seconds with an error naming
 * etcd and the TLS problem, instead of hanging.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster';
import { SHARED_CONFIG } from '../support/etcd-tethers';
import { freePort } from '../support/envoy';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { PROCESS_TOKEN, startTetherProcess, type TetherProcess } from '../support/tether-process';
import { hasOpenssl } from '../support/tls-certs';

let cluster: EtcdCluster | undefined;
let dir: string;
let configPath: string;
const instances: TetherProcess[] = [];
const admins: AdminClient[] = [];

let etcdctlFound = true;
try {
  execFileSync(process.env.ETCDCTL_BIN ?? 'etcdctl', ['version'], { timeout: 10_000 });
} catch {
  etcdctlFound = false;
}

function etcdctl(...args: string[]): string {
  const pki = cluster!.pki!;
  return execFileSync(
    process.env.ETCDCTL_BIN ?? 'etcdctl',
    [`--endpoints=${cluster!.endpoints.map((e) => `https://${e}`).join(',')}`, `--cacert=${pki.ca}`, `--cert=${pki.clientCert}`, `--key=${pki.clientKey}`, '--command-timeout=5s', ...args],
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ETCDCTL_API: '3' } },
  );
}

async function serve(name: string, tlsArgs: string[], store = cluster!.url('tls')): Promise<TetherProcess> {
  const t = await startTetherProcess({ name, store, xdsPort: await freePort(), configPath, dataDir: path.join(dir, name), extraArgs: tlsArgs });
  instances.push(t);
  return t;
}

/** `serve` that must fail: how long it took and the error of its fatal log line. */
async function refusedStart(name: string, tlsArgs: string[], store?: string): Promise<{ ms: number; fatal: string }> {
  const started = Date.now();
  const log = await serve(name, tlsArgs, store).then(
    () => {
      throw new Error(`${name} started, expected it to refuse`);
    },
    (err: unknown) => (err as Error).message,
  );
  const ms = Date.now() - started;
  // Only the fatal line counts: other lines (a Node warning about TLS ServerName) must not make the match.
  const fatal = log
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { level?: string; err?: string };
      } catch {
        return {};
      }
    })
    .find((l) => l.level === 'fatal');
  expect(fatal?.err, log).toBeTypeOf('string');
  return { ms, fatal: fatal!.err! };
}

describe.skipIf(!etcdAvailable() || !etcdctlFound || !hasOpenssl)('etcd over TLS with client certificates', () => {
  beforeAll(async () => {
    dir = makeTempDir('etcd-tls');
    configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(configPath, SHARED_CONFIG);
    cluster = await startEtcdCluster({ tls: true });
  }, 60_000);

  afterAll(async () => {
    for (const a of admins) a.close();
    await Promise.all(instances.map((t) => t.kill()));
    await cluster?.stop();
    if (dir) removeTempDir(dir);
  });

  it('serves from etcds:// with the CA and a client certificate; etcdctl reads the edit back', async () => {
    const pki = cluster!.pki!;
    const t = await serve('tls-1', ['--etcd-cacert', pki.ca, '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey]);
    const admin = createAdminClient({ address: `127.0.0.1:${t.adminPort}`, token: PROCESS_TOKEN, deadlineMs: 8000 });
    admins.push(admin);
    const res = (await admin.call('SetSplit', { service: 'app', route: 'main', weights: { v1: 63, v2: 37 } })) as { version?: number | string };
    const head = etcdctl('get', '--print-value-only', 'tls/head').trim();
    expect(Number(head)).toBeGreaterThanOrEqual(2);
    if (res.version !== undefined) expect(String(res.version)).toBe(head);
    const record = etcdctl('get', '--print-value-only', `tls/versions/${head.padStart(10, '0')}`);
    expect(record).toMatch(/"weight":\s*37/);
    expect(record).toMatch(/"weight":\s*63/);
  }, 30_000);

  it('refuses to start, within seconds, with a wrong CA or without a client certificate, naming etcd and TLS', async () => {
    const pki = cluster!.pki!;
    const wrongCa = await refusedStart('wrong-ca', ['--etcd-cacert', path.join(pki.dir, 'other-ca.crt'), '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey]);
    expect(wrongCa.fatal).toMatch(/etcd/);
    expect(wrongCa.fatal).toMatch(/TLS: the etcd member's certificate is not trusted: check --etcd-cacert/);
    expect(wrongCa.ms).toBeLessThan(15_000);
    const noCert = await refusedStart('no-client-cert', ['--etcd-cacert', pki.ca]);
    expect(noCert.fatal).toMatch(/etcd/);
    expect(noCert.fatal).toMatch(/TLS: the etcd member refused this client's certificate or its absence: .*--etcd-cert and --etcd-key/);
    expect(noCert.ms).toBeLessThan(15_000);
    const missingCa = await refusedStart('missing-ca', ['--etcd-cacert', path.join(dir, 'no-such-ca.pem'), '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey]);
    expect(missingCa.fatal).toMatch(/--etcd-cacert .*no-such-ca\.pem: ENOENT/);
  }, 40_000);

  it('says so when etcds:// reaches a member that serves plain http', async () => {
    const plain = await startEtcdCluster({ members: 1 });
    try {
      const pki = cluster!.pki!;
      const refused = await refusedStart('plain-member', ['--etcd-cacert', pki.ca, '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey], plain.url('tls').replace('etcd://', 'etcds://'));
      expect(refused.fatal).toMatch(/etcd.*TLS: the etcd member did not answer TLS: .*use etcd:\/\//);
      expect(refused.ms).toBeLessThan(15_000);
    } finally {
      await plain.stop();
    }
  }, 40_000);
});
