/**
 * Issue 13: the compute worker thread (src/compute) never keeps Tether from stopping. Right
 * after start the worker is building the 2,000-endpoint ring for the session-share metric
 * (seconds), and a WhatIf on it is sent: SIGTERM then, and `tether serve` exits 0 promptly
 * (the worker is terminated, its jobs rejected), and the waiting CLI gets an error instead of
 * hanging.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/store/store-lock';
import { makeTempDir } from '../support/temp-dir';
import { cleanEnv, hasBuild, runCli, startServe } from './harness';

const tmp = makeTempDir('shutdown-compute');

describe.skipIf(!hasBuild)('shutdown while the compute worker is busy', () => {
  it('SIGTERM during a WhatIf on a 2,000-endpoint ring: serve exits 0 within seconds', { timeout: 90_000 }, async () => {
    const endpoints = Array.from({ length: 2000 }, (_, i) => `10.1.${i >> 8}.${i & 255}:8080`);
    const config = {
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', domains: ['shop'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] }],
      backends: [{ name: 'shop-v1', endpoints, balancer: { type: 'ring_hash' } }],
    };
    const file = path.join(tmp, 'tether.json');
    fs.writeFileSync(file, JSON.stringify(config));
    const ports = ['--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0'];
    const { child, line, lines, exited } = await startServe(['serve', '--config', file, ...ports], { cwd: tmp, env: cleanEnv(), until: 'admin API listening', timeoutMs: 30_000 });
    try {
      const adminPort = line.port as number;
      const env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${adminPort}` });
      const whatIf = runCli(['what-if', 'endpoints', 'add', 'shop-v1', '10.2.0.1:8080', '--kind', 'envoy', '--samples', '200000'], { env, cwd: tmp, timeoutMs: 60_000 });
      const signalled = performance.now();
      child.kill('SIGTERM');
      const code = await exited;
      const tookMs = performance.now() - signalled;
      console.log(`serve exited ${code} ${tookMs.toFixed(0)} ms after SIGTERM`);
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(20_000);
      expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
      const cli = await whatIf;
      expect(cli.code).not.toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe.skipIf(!hasBuild)('SIGTERM while tether serve is still starting', () => {
  it('shuts down cleanly (exit 0, "shutting down", lock released) instead of dying of the signal', { timeout: 60_000 }, async () => {
    const dataDir = path.join(tmp, 'starting');
    const ports = ['--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0', '--metrics-host', '127.0.0.1', '--ext-proc-host', '127.0.0.1'];
    // The metrics port listens well before startTether resolves (ext_proc, the admin API and the
    // first version's gRPC build come after it).
    const { child, lines, exited } = await startServe(['serve', '--data-dir', dataDir, ...ports], { cwd: tmp, env: cleanEnv(), until: 'metrics endpoint listening', timeoutMs: 30_000 });
    try {
      child.kill('SIGTERM');
      const code = await exited;
      expect(code).toBe(0);
      expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
      expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
