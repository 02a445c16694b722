/**
 * `tether verify --envoy-admin URL` (the built CLI) against a real Envoy: in sync with the
 * Tether it is connected to (exit 0), also for a config with ext_proc, per-route filter
 * configs, durations, wrappers and a drained weighted endpoint; against a second Tether serving
 * the same config, still in sync, then, once that one is edited (Envoy never hears of it),
 * exit 1 with a diff naming the resource; exit 2 when Envoy or Tether cannot be reached.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { BIN, cleanEnv, runCli } from '../cli/harness';

function config(port: number, a: number, b: number): string {
  const doc = parse(fs.readFileSync(path.resolve(__dirname, '../../examples/session-key.yaml'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  doc.listeners[0].port = port;
  doc.listeners[0].address = '127.0.0.1';
  doc.backends[0].endpoints = [`127.0.0.1:${a}`, { address: `127.0.0.1:${b}`, weight: 3, drain: true }];
  doc.backends[1].endpoints = [`127.0.0.1:${b}`];
  return stringify(doc);
}

describe.skipIf(!envoyAvailable() || !fs.existsSync(BIN))('tether verify against a real Envoy', () => {
  const connected = new Harness();
  const other = new Harness();
  let envoy: EnvoyProcess;
  let envoyAdmin = '';

  const verify = (tether: Harness, args: string[] = []) =>
    runCli(['verify', '--envoy-admin', envoyAdmin, ...args], {
      env: cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${tether.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }),
      cwd: tether.dir,
      timeoutMs: 20_000,
    });

  beforeAll(async () => {
    const [a, b] = [await connected.replica('a'), await connected.replica('b')];
    const port = await freePort();
    const text = config(port, a.httpPort, b.httpPort);
    await connected.start(text, { watch: false, extProc: { host: '127.0.0.1', port: 0 } });
    await other.start(text, { watch: false });
    envoy = await startEnvoy({ xdsPort: connected.tether.xdsPort, extProcPort: connected.tether.extProcPort, bootstrap: 'gateway' });
    envoyAdmin = `http://127.0.0.1:${envoy.adminPort}`;
    await envoy.waitConnected();
    await envoy.waitListening(port);
    // Endpoints too (EDS is the last type Envoy applies).
    await envoy.until('endpoints in config_dump', async () => JSON.stringify(await envoy.configDump()).includes('"cluster_name":"chat-v2'));
  });
  afterAll(async () => {
    await envoy?.close();
    await other.close();
    await connected.close();
  });

  it('in sync with the Tether it is connected to: exit 0', async () => {
    const res = await verify(connected);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^in sync: Envoy \S+ \(envoy\) holds what Tether serves it at version 1: 1 listeners, 1 route configurations, 2 clusters, 2 endpoint assignments\n$/);
    expect(res.code).toBe(0);
    const json = await verify(connected, ['-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ node_id: envoy.nodeId, node_kind: 'envoy', in_sync: true, differences: [] });
    await envoy.expectNoRejections();
  });

  it('another Tether: in sync while it serves the same; after an edit Envoy never got, exit 1 with a diff naming the resource', async () => {
    const same = await verify(other);
    expect(same.stdout, same.stderr).toContain('in sync');
    expect(same.code).toBe(0);

    const edited = parse(fs.readFileSync(other.configPath, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    edited.services[0].routes[1].timeout = '60s';
    expect(await other.tether.applyText(stringify(edited), 'edit')).toMatchObject({ ok: true, changed: true });
    const res = await verify(other);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/^~ RDS http: differs$/m);
    expect(res.stdout).toMatch(/^-\s+timeout: 60s$/m);
    expect(res.stdout).toMatch(/^\+\s+timeout: 300s$/m);
    expect(res.stdout).toContain('1 difference between Envoy');
  });

  it('exit 2 when Envoy or Tether cannot be reached', async () => {
    const closed = await freePort();
    const noEnvoy = await runCli(['verify', '--envoy-admin', `127.0.0.1:${closed}`], {
      env: cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${connected.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }),
      cwd: connected.dir,
      timeoutMs: 20_000,
    });
    expect(noEnvoy.code).toBe(2);
    expect(noEnvoy.stderr).toContain(`cannot read Envoy's config at 127.0.0.1:${closed}`);
    const noTether = await runCli(['verify', '--envoy-admin', envoyAdmin], {
      env: cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${closed}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }),
      cwd: connected.dir,
      timeoutMs: 20_000,
    });
    expect(noTether.code).toBe(2);
    expect(noTether.stderr).toContain('cannot reach the admin server');
  });
});
