/**
 * A real etcd cluster for tests: three (or n) members on 127.0.0.1 with free ports and temp
 * data dirs, each its own process (stopped by PID). Members can be killed (SIGKILL) and
 * started again on the same ports and data, to lose and regain quorum.
 *
 * etcd comes from ETCD_BIN, else `etcd` on PATH (scripts/ensure-etcd.sh installs Debian's
 * etcd-server). Under CI=true a missing etcd throws instead of letting suites skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { freePort } from './envoy';
import { makeTempDir, removeTempDir } from './temp-dir';
import { makeTestPki, type TestPki } from './tls-certs';

let found: string | null | undefined;

export function findEtcd(): string | undefined {
  if (found !== undefined) return found ?? undefined;
  const candidates = [process.env.ETCD_BIN, 'etcd'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 && /etcd Version: 3\./.test(r.stdout)) return (found = c);
  }
  found = null;
  return undefined;
}

/** Whether etcd tests can run; under CI=true a missing etcd is an error, never a skip. */
export function etcdAvailable(): boolean {
  const ok = findEtcd() !== undefined;
  if (!ok && process.env.CI === 'true') throw new Error('etcd is required under CI=true: run `bash scripts/ensure-etcd.sh` (Debian etcd-server)');
  return ok;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  process: ChildProcess | undefined;
  log: string;
}

export interface EtcdCluster {
  /** `127.0.0.1:port` of each member, in member order. */
  readonly endpoints: string[];
  /** With `tls: true`: the PKI the members serve and demand client certificates from. */
  readonly pki: TestPki | undefined;
  /** `etcd://…/<prefix>` (`etcds://` with TLS) for `--store` / TetherOptions.etcd. */
  url(prefix: string): string;
  /** SIGKILL one member (by PID) and wait for it to exit. */
  kill(index: number): Promise<void>;
  /** Starts a killed member again (same ports and data) and waits until the cluster has a leader. */
  restart(index: number): Promise<void>;
  /** Waits until member `index` answers /health with a leader. */
  waitHealthy(index: number, timeoutMs?: number): Promise<void>;
  /** The last lines a member logged (for failure messages). */
  logOf(index: number): string;
  stop(): Promise<void>;
}

function spawnMember(bin: string, m: Member, initialCluster: string, token: string, pki: TestPki | undefined): ChildProcess {
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const clientUrl = `${pki ? 'https' : 'http'}://127.0.0.1:${m.clientPort}`;
  // Client TLS only (peers stay plain http): clients must present a certificate from pki.ca.
  const tlsArgs = pki ? ['--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--trusted-ca-file', pki.ca, '--client-cert-auth'] : [];
  const child = spawn(
    bin,
    [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      ...tlsArgs,
      '--listen-peer-urls', url(m.peerPort),
      '--initial-advertise-peer-urls', url(m.peerPort),
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      // A loaded 2-core machine: keep elections quick but not flappy.
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--logger', 'zap',
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  m.log = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    m.log = (m.log + chunk.toString()).slice(-4000);
  });
  return child;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function healthy(port: number, pki: TestPki | undefined): Promise<boolean> {
  if (!pki) {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  }
  // fetch cannot present a client certificate; etcd's --client-cert-auth wants one on /health too.
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/health', ca: fs.readFileSync(pki.ca), cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey), timeout: 1000 },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
  return (JSON.parse(body) as { health?: string }).health === 'true';
}

export interface EtcdClusterOptions {
  members?: number;
  /** Serve clients over TLS with a fresh PKI (test/support/tls-certs.ts) and require client certificates. */
  tls?: boolean;
}

export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const bin = findEtcd();
  if (!bin) throw new Error('etcd not found (ETCD_BIN or PATH); run bash scripts/ensure-etcd.sh');
  const pki = options.tls ? makeTestPki() : undefined;
  const root = makeTempDir('etcd');
  const members: Member[] = [];
  for (let i = 0; i < (options.members ?? 3); i++) {
    members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(root, `m${i}`), process: undefined, log: '' });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const start = (m: Member) => {
    m.process = spawnMember(bin, m, initialCluster, `tether-test-${process.pid}-${members[0]!.peerPort}`, pki);
  };
  const stopMember = async (m: Member) => {
    const child = m.process;
    m.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  };
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => `127.0.0.1:${m.clientPort}`),
    pki,
    url: (prefix) => `${pki ? 'etcds' : 'etcd'}://${members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}/${prefix}`,
    kill: (i) => stopMember(members[i]!),
    async restart(i) {
      start(members[i]!);
      await cluster.waitHealthy(i);
    },
    waitHealthy: (i, timeoutMs = 20_000) => waitUntil(`etcd member ${i} healthy\n${members[i]!.log}`, () => healthy(members[i]!.clientPort, pki), timeoutMs),
    logOf: (i) => members[i]!.log,
    async stop() {
      await Promise.all(members.map(stopMember));
      removeTempDir(root);
      if (pki) removeTempDir(pki.dir);
    },
  };
  try {
    for (const m of members) {
      fs.mkdirSync(m.dataDir, { mode: 0o700 });
      start(m);
    }
    for (let i = 0; i < members.length; i++) await cluster.waitHealthy(i);
  } catch (err) {
    (err as Error).message += members.map((m) => `\n${m.name} (exit ${m.process?.exitCode ?? 'running'}): ${m.log.slice(-1500)}`).join('');
    await cluster.stop();
    throw err;
  }
  return cluster;
}
