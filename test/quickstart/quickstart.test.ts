/**
 * The README's quick start, followed as printed, for both kinds of client: Tether started the
 * way `npm start` starts it (the last command of package.json's `start` script) on the
 * built-in default config, the three sample replicas started by the README's own command
 * lines, then (a) a real Envoy with a bootstrap derived from envoy/sidecar.yaml sending
 * sticky `x-user` requests through the config's listener, and (b) a real grpc-js-xds client
 * dialling `xds:///demo`. The commands are read from README.md and package.json, so the
 * README cannot drift from what works.
 *
 * One deliberate deviation: other tests run beside this one, so every fixed port of the quick
 * start is replaced by a free one, the same way everywhere: in the replicas' command lines and
 * in the default config's text (listener and endpoint ports; the result must be the default
 * config with only those ports changed), and Tether's own ports (xDS, admin, ext_proc,
 * metrics, on 127.0.0.1) by its flags. Its history goes to a temp dir (`--data-dir`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_YAML, parseConfigText } from '../../src/config';
import type { TetherConfig } from '../../src/model/types';
import { envoyAvailable, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { hello, waitFor, xdsSampleClient, type SampleClient } from '../support/harness';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { freePort } from '../support/envoy';

const ROOT = path.resolve(__dirname, '../..');
const BUILT = fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) && fs.existsSync(path.join(ROOT, 'dist/src/sample/main.js'));

/** The quick start's commands: how `npm start` serves, and the README's replica command lines. */
function quickStart(): { serve: string[]; replicas: string[][] } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Quick start');
  expect(start, 'README.md has a "## Quick start" section').toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  expect(lines.some((l) => /^npm start\b/.test(l)), 'the quick start runs `npm start`').toBe(true);
  const replicas = lines.filter((l) => l.startsWith('node dist/src/sample/main.js ')).map((l) => l.replace(/\s*&\s*$/, '').split(/\s+/));
  const script = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  // `npm start` prepares the build, then serves: the last command is the server.
  const serve = script.split('&&').at(-1)!.trim().split(/\s+/);
  expect(serve.slice(0, 2), `package.json start ends with node …: ${script}`).toEqual(['node', 'dist/src/cli/main.js']);
  return { serve, replicas };
}

/** The value after `flag` in a command line. */
const flagValue = (args: readonly string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];


/** Every port the default config names: listeners, endpoints and their gRPC ports. */
function configPorts(config: TetherConfig): number[] {
  return [...config.listeners.map((l) => l.port), ...config.backends.flatMap((b) => b.endpoints.flatMap((e) => [e.port, ...(e.grpcPort ? [e.grpcPort] : [])]))];
}

function parsed(text: string): TetherConfig {
  const result = parseConfigText(text, 'default config');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return result.config;
}

/** A child process whose output is kept (tail) for failure messages. */
function run(args: readonly string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

describe.skipIf(!BUILT)('README quick start, as printed (built CLI and sample replicas)', () => {
  const dir = makeTempDir('quickstart');
  const children: ChildProcess[] = [];
  const ports = new Map<number, number>();
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TETHER_')));
  let tether: { child: ChildProcess; output: () => string };
  let xdsPort = 0;
  let extProcPort = 0;
  let listenerPort = 0;
  let replicaIds: string[] = [];
  /** The replicas' HTTP addresses as Envoy should get them (after the port substitution). */
  let httpAddresses: string[] = [];

  beforeAll(async () => {
    const { serve, replicas } = quickStart();
    expect(replicas, 'three replica command lines').toHaveLength(3);
    const config = parsed(DEFAULT_CONFIG_YAML);
    // The README's replicas are exactly the default config's endpoints: HTTP ports for Envoy, gRPC ports for gRPC clients.
    const endpoints = config.backends.flatMap((b) => b.endpoints);
    expect(replicas.map((r) => Number(flagValue(r, '--http-port'))).sort()).toEqual(endpoints.map((e) => e.port).sort());
    expect(replicas.map((r) => Number(flagValue(r, '--grpc-port'))).sort()).toEqual(endpoints.map((e) => e.grpcPort).sort());

    for (const p of configPorts(config)) ports.set(p, await freePort());
    const map = (p: number) => ports.get(p) ?? p;
    const text = DEFAULT_CONFIG_YAML.replace(/\b\d{2,5}\b/g, (n) => String(ports.get(Number(n)) ?? n));
    const moved = parsed(text);
    // Only the ports changed.
    expect(moved).toEqual({
      ...config,
      listeners: config.listeners.map((l) => ({ ...l, port: map(l.port) })),
      backends: config.backends.map((b) => ({ ...b, endpoints: b.endpoints.map((e) => ({ ...e, port: map(e.port), ...(e.grpcPort ? { grpcPort: map(e.grpcPort) } : {}) })) })),
    });
    listenerPort = map(config.listeners[0]!.port);
    httpAddresses = endpoints.map((e) => `${e.host}:${map(e.port)}`);
    const configFile = path.join(dir, 'default-config.yaml');
    fs.writeFileSync(configFile, text);

    replicaIds = replicas.map((r) => flagValue(r, '--id')!);
    for (const r of replicas) {
      const args = r.map((a, i) => (r[i - 1] === '--http-port' || r[i - 1] === '--grpc-port' ? String(map(Number(a))) : a));
      children.push(run(args, env).child);
    }
    [xdsPort, extProcPort] = [await freePort(), await freePort()];
    const [adminPort, metricsPort] = [await freePort(), await freePort()];
    tether = run(
      [
        ...serve,
        ...['--config', configFile, '--data-dir', path.join(dir, 'data'), '--log-level', 'info'],
        ...['--xds-host', '127.0.0.1', '--xds-port', String(xdsPort), '--admin-host', '127.0.0.1', '--admin-port', String(adminPort)],
        ...['--ext-proc-host', '127.0.0.1', '--ext-proc-port', String(extProcPort), '--metrics-host', '127.0.0.1', '--metrics-port', String(metricsPort)],
      ],
      env,
    );
    children.push(tether.child);
    await waitFor('Tether serving', () => tether.child.exitCode === null && tether.output().includes('tether xDS server listening'), 30_000, 50).catch((err: Error) => {
      throw new Error(`${err.message}\n${tether.output()}`);
    });
    // Every replica port answers.
    const replicaPorts = replicas.flatMap((r) => [Number(flagValue(r, '--http-port')), Number(flagValue(r, '--grpc-port'))]).map(map);
    await waitFor('sample replicas listening', async () => (await Promise.all(replicaPorts.map(connects))).every(Boolean), 30_000, 100);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(children.map(stop));
    removeTempDir(dir);
  });

  it.skipIf(!envoyAvailable())('(a) Envoy with the sidecar bootstrap: x-user requests through its listener stick to one replica each', async () => {
    let envoy: EnvoyProcess | undefined;
    try {
      envoy = await startEnvoy({ xdsPort, extProcPort, nodeId: `quickstart-envoy-${process.pid}` });
      const first = await waitFor('a reply through Envoy', async () => {
        const r = await requestThrough(listenerPort, { 'x-user': 'alice' });
        return r.status === 200 ? r : undefined;
      }, 30_000, 100);
      expect(replicaIds).toContain(first.replica);
      const seen = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        for (const user of USERS) {
          const r = await requestThrough(listenerPort, { 'x-user': user });
          expect(r.status, r.body).toBe(200);
          if (round === 0) seen.set(user, r.replica);
          else expect(r.replica, `${user} stays on ${seen.get(user)}`).toBe(seen.get(user));
        }
      }
      // Sticky, not pinned: users spread over the replicas.
      expect(new Set(seen.values()).size).toBeGreaterThan(1);
      // Without x-user, Envoy sets the tether-session cookie; sending it back sticks too.
      const cookieReply = await requestThrough(listenerPort, {});
      const cookie = /tether-session=[^;]+/.exec(cookieReply.setCookie ?? '')?.[0];
      expect(cookie, 'Envoy sets tether-session').toBeDefined();
      for (let i = 0; i < 3; i++) expect((await requestThrough(listenerPort, { cookie: cookie! })).replica).toBe(cookieReply.replica);
      // Envoy itself: nothing rejected, and demo-v1 is the three replicas' HTTP ports.
      expect(await envoy.rejections()).toEqual({});
      const hosts = await envoy.clusterHosts('demo-v1');
      expect(hosts.sort()).toEqual([...httpAddresses].sort());
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- tether ---\n${tether.output().slice(-3000)}\n--- envoy ---\n${envoy?.logs().slice(-3000) ?? ''}`);
    } finally {
      await envoy?.close();
    }
  }, 120_000);

  it('(b) grpc-js-xds dialling xds:///demo gets replies, each user from one replica', async () => {
    const client: SampleClient = xdsSampleClient('demo', xdsPort, `quickstart-grpc-${process.pid}`);
    try {
      const first = await waitFor('a reply over xds:///demo', () => hello(client, { 'x-user': 'alice' }, 5_000), 30_000, 200);
      expect(replicaIds).toContain(first.replica_id);
      const seen = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        for (const user of USERS) {
          const reply = await hello(client, { 'x-user': user });
          if (round === 0) seen.set(user, reply.replica_id);
          else expect(reply.replica_id, `${user} stays on ${seen.get(user)}`).toBe(seen.get(user));
        }
      }
      expect(new Set(seen.values()).size).toBeGreaterThan(1);
    } finally {
      client.close();
    }
  }, 90_000);
});

it.runIf(!BUILT)('the quick start test needs `npm run build` first (npm test does it)', () => {
  console.warn('skipping the quick start test: dist/ is missing; run `npm run build`');
});

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.setTimeout(1_000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** One GET through Envoy's listener; the answering replica from its x-replica header. */
async function requestThrough(port: number, headers: Record<string, string>) {
  const r = await request(port, { headers });
  const setCookie = r.headers['set-cookie'];
  return { status: r.status, body: r.body, replica: String(r.headers['x-replica'] ?? ''), setCookie: setCookie?.join('; ') };
}
