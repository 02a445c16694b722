/**
 * `tether demo` when it cannot start, or is stopped while starting: a clear error that names
 * the flag or the process, exit status, and nothing left running. A stand-in script plays
 * Envoy (these paths never reach a real one), so this runs without Envoy.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { alive, CLI, freeDemoPorts, LocalDemo } from './local-demo';
import { DEMO_REPLICAS, replicaAddress, type DemoPorts } from '../../src/demo/topology';

const hasBuild = fs.existsSync(CLI);

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Every address the demo would bind is free again. */
async function allFree(ports: DemoPorts): Promise<boolean> {
  const checks = [ports.gateway, ports.envoyAdmin, ports.xds, ports.admin, ports.extProc, ports.metrics].map((p) => bindable('127.0.0.1', p));
  for (const r of DEMO_REPLICAS) checks.push(bindable(replicaAddress(r), ports.replicaHttp), bindable(replicaAddress(r), ports.replicaGrpc));
  return (await Promise.all(checks)).every(Boolean);
}

/** A script standing in for Envoy: writes its PID, then runs `body`. */
function fakeEnvoy(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\necho $$ > "${file}.pid"\n${body}\n`, { mode: 0o755 });
  return file;
}

describe.skipIf(!hasBuild)('tether demo: failed and interrupted starts', () => {
  let dir: string;
  const demos: LocalDemo[] = [];
  beforeAll(() => {
    dir = makeTempDir('demo-cli');
  });
  afterAll(async () => {
    for (const d of demos) {
      if (d.exitStatus()) continue;
      await d.interrupt('SIGINT').catch(() => undefined);
      d.killAll();
    }
    removeTempDir(dir);
  });

  const start = async (envoyBin: string, tweak: (p: DemoPorts) => void = () => undefined) => {
    const ports = await freeDemoPorts();
    tweak(ports);
    const demo = new LocalDemo(ports, path.join(dir, `state-${demos.length}`), ['--no-load'], { ENVOY_BIN: envoyBin });
    demos.push(demo);
    return demo;
  };

  it('refuses a port in use, naming the address and the flag that moves it, and starts nothing', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      const demo = await start(fakeEnvoy(dir, 'unused-envoy', 'exit 0'), (p) => (p.gateway = port));
      await demo.waitForExit(30_000);
      expect(demo.exitStatus()).toEqual({ code: 1, signal: null });
      expect(demo.logs()).toContain(`tether demo: 127.0.0.1:${port} is in use`);
      expect(demo.logs()).toContain('--gateway-port');
      expect(fs.existsSync(path.join(demo.stateDir, 'logs')), 'nothing was started').toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('refuses two flags giving the same port', async () => {
    const demo = await start(fakeEnvoy(dir, 'unused-envoy-2', 'exit 0'), (p) => (p.admin = p.xds));
    await demo.waitForExit(30_000);
    expect(demo.exitStatus()).toEqual({ code: 1, signal: null });
    expect(demo.logs()).toContain(`tether demo: --xds-port and --admin-port both give port ${demo.ports.xds} on 127.0.0.1`);
  }, 60_000);

  it('says how to get Envoy when there is none', async () => {
    const demo = await start(path.join(dir, 'no-such-envoy'));
    await demo.waitForExit(30_000);
    expect(demo.exitStatus()).toEqual({ code: 1, signal: null });
    expect(demo.logs()).toMatch(/tether demo: no Envoy binary: set ENVOY_BIN/);
  }, 60_000);

  it('when a process dies during the start, names it, stops the others and exits 1', async () => {
    const envoy = fakeEnvoy(dir, 'failing-envoy', 'echo "cannot start: stand-in" >&2\nexit 3');
    const demo = await start(envoy);
    await demo.waitForExit(90_000);
    expect(demo.exitStatus()).toEqual({ code: 1, signal: null });
    expect(demo.logs()).toMatch(/envoy \(pid \d+\) exited \(exit code 3\)/);
    expect(demo.logs()).toContain('cannot start: stand-in');
    expect(await allFree(demo.ports), 'every port is free again').toBe(true);
  }, 120_000);

  it('a Ctrl-C during the start stops what was started and exits 0', async () => {
    const envoy = fakeEnvoy(dir, 'slow-envoy', 'exec sleep 120');
    const demo = await start(envoy);
    await demo.waitForOutput('the stand-in Envoy to start', () => (fs.existsSync(`${envoy}.pid`) ? true : undefined), 90_000);
    const pid = Number(fs.readFileSync(`${envoy}.pid`, 'utf8'));
    expect(alive(pid)).toBe(true);
    expect(await demo.interrupt('SIGINT')).toEqual({ code: 0, signal: null });
    expect(demo.logs()).toContain('SIGINT during the start: every process stopped');
    expect(alive(pid), 'the stand-in Envoy was stopped').toBe(false);
    expect(await allFree(demo.ports), 'every port is free again').toBe(true);
  }, 120_000);
});
