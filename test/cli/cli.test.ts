/**
 * The real `tether` binary (dist/, built by `npm test` before vitest runs).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store';
import { makeTempDir } from '../support/temp-dir';
import { INVALID_CONFIG } from './fixtures';
import { BIN, hasBuild, startServe } from './harness';

const tmp = makeTempDir('cli');

function writeTmp(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe.skipIf(!hasBuild)('tether CLI (built binary)', () => {
  it('validate: accepts every example and prints every error of a bad file with its path', () => {
    // Every example in one run (each run loads the Envoy protos, for the warnings).
    const examples = fs.readdirSync(path.resolve(__dirname, '../../examples')).map((e) => path.resolve(__dirname, '../../examples', e));
    const ok = spawnSync(process.execPath, [BIN, 'validate', '-f', ...examples], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    for (const example of examples) expect(ok.stdout).toContain(`${example}: valid`);
    const bad = spawnSync(process.execPath, [BIN, 'validate', '-f', writeTmp('bad.yaml', INVALID_CONFIG)], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('services[0].routes[0].backends[0].weight: must be >= 0');
    expect(bad.stderr).toMatch(/services\[0\]\.routes\[0\]\.backends\[1\]\.name: .*missing/);
    expect(bad.stderr).toMatch(/backends\[0\]\.endpoints\[0\]/);
  });

  it('serve: refuses to start on an invalid config, naming the fields', () => {
    // cwd: the config history goes to .tether in the working directory.
    const run = spawnSync(process.execPath, [BIN, 'serve', '--config', writeTmp('bad2.yaml', INVALID_CONFIG), '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0'], { encoding: 'utf8', timeout: 15_000, cwd: tmp });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('services[0].routes[0].backends[0].weight: must be >= 0');
  });

  it('serve: starts on the built-in default config and logs pino JSON', async () => {
    const { child, lines } = await startServe(['serve', '--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0'], { cwd: tmp, until: 'tether xDS server listening', timeoutMs: 15_000 });
    try {
      expect(lines.find((l) => l.msg === 'config applied')).toMatchObject({ source: 'default', description: 'built-in default config', version: 1, services: 1 });
      expect(lines.at(-1)!.xdsPort).toBeGreaterThan(0);
      // A default start generates an admin token in its data dir and says where, never what.
      const tokenLine = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('admin API token in'));
      expect(tokenLine).toMatchObject({ source: 'generated', created: true, path: path.join(fs.realpathSync(tmp), '.tether', 'admin-token') });
      const token = fs.readFileSync(path.join(tmp, '.tether', 'admin-token'), 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(40);
      expect(JSON.stringify(lines)).not.toContain(token);
      expect(fs.statSync(path.join(tmp, '.tether', 'admin-token')).mode & 0o777).toBe(0o600);
      expect(lines.find((l) => l.msg === 'admin API listening')).toMatchObject({ host: '127.0.0.1', auth: 'token' });
      // The ext_proc session-key server is on by default (port 0 here: any free port).
      expect(lines.find((l) => l.msg === 'ext_proc server listening')?.address).toMatch(/^0\.0\.0\.0:[1-9]\d*$/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('serve: refuses to start over a lost history (never the default config); --start-new-history with --config continues the numbering', async () => {
    const data = path.join(tmp, 'lost-history');
    const store = await createFileStore({ dir: data });
    for (const version of [1, 2]) {
      await store.commit({ version, document: {}, contentHash: `h${version}`, createdAt: new Date().toISOString(), source: 'apply', description: '' });
    }
    await store.close();
    for (const f of fs.readdirSync(path.join(data, 'versions'))) fs.writeFileSync(path.join(data, 'versions', f), 'garbage');
    const ports = ['--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0'];
    const refused = spawnSync(process.execPath, [BIN, 'serve', '--data-dir', data, ...ports], { encoding: 'utf8', timeout: 15_000, cwd: tmp });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`config store ${fs.realpathSync(data)}: the config history is lost`);
    expect(refused.stderr).toContain('--start-new-history');
    expect(refused.stdout).not.toContain('"config applied"');

    const noConfig = spawnSync(process.execPath, [BIN, 'serve', '--data-dir', data, '--start-new-history', ...ports], { encoding: 'utf8', timeout: 15_000, cwd: tmp });
    expect(noConfig.status).toBe(1);
    expect(noConfig.stdout + noConfig.stderr).toContain('needs a config file');

    const config = writeTmp('new-history.yaml', 'services: [{ name: s, routes: [{ backends: [{ name: b }] }] }]\nbackends: [{ name: b, endpoints: ["127.0.0.1:1"] }]\n');
    const { child, line: applied } = await startServe(['serve', '--data-dir', data, '--config', config, '--start-new-history', ...ports], { cwd: tmp, until: 'config applied', timeoutMs: 15_000 });
    try {
      // Versions 1 and 2 were acknowledged once: the new history starts at 3.
      expect(applied).toMatchObject({ version: 3, source: 'file' });
    } finally {
      child.kill('SIGTERM');
    }
  });
});

it.runIf(!hasBuild)('the CLI tests need `npm run build` first (npm test does it)', () => {
  console.warn('skipping CLI tests: dist/src/cli/main.js is missing; run `npm test` (it builds first)');
});
