/**
 * The README's first command on a fresh clone, as printed: `npm start` in a clone of this
 * repository's HEAD with nothing installed installs the dependencies (`npm ci`, the lock file
 * untouched), generates types, builds and serves the built-in config; a second `npm start`
 * with nothing changed skips installation and type generation and serves within seconds.
 * Ports move through the documented environment variables so the test cannot clash with
 * anything on the default ports.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/envoy';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '..', '..');
const dir = makeTempDir('fresh-clone');
const clone = path.join(dir, 'tether');

interface Run {
  output: string;
  ms: number;
}

/** `npm start` until Tether says it serves xDS, then SIGTERM to the whole process group. */
async function npmStart(env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  const child = spawn('npm', ['start'], { cwd: clone, env: { ...process.env, ...env, CI: '' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = started + timeoutMs;
    while (!output.includes('tether xDS server listening')) {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`npm start did not serve within ${timeoutMs} ms:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { output, ms: Date.now() - started };
  } finally {
    // The group may be gone between the check and the kill (ESRCH): nothing left to stop then.
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.exitCode === null && child.pid) process.kill(-child.pid, sig);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    };
    signal('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    signal('SIGKILL');
  }
}

describe('a fresh clone', () => {
  // A clone with node_modules is hundreds of MB: removing it takes a while on a loaded machine.
  afterAll(() => removeTempDir(dir), 120_000);

  it('serves with `npm start`, then starts again in seconds without reinstalling', async () => {
    const cloned = spawnSync('git', ['clone', '--quiet', ROOT, clone], { encoding: 'utf8', timeout: 60_000 });
    expect(cloned.status, cloned.stderr).toBe(0);
    const ports = {
      TETHER_XDS_HOST: '127.0.0.1',
      TETHER_XDS_PORT: String(await freePort()),
      TETHER_ADMIN_PORT: String(await freePort()),
      TETHER_EXT_PROC_HOST: '127.0.0.1',
      TETHER_EXT_PROC_PORT: String(await freePort()),
      TETHER_METRICS_HOST: '127.0.0.1',
      TETHER_METRICS_PORT: String(await freePort()),
    };
    const first = await npmStart(ports, 420_000);
    expect(first.output).toContain('setup: installing npm dependencies');
    expect(first.output).toContain('built-in default config');
    // npm ci follows the lock file and never rewrites it; nothing generated is tracked.
    const status = spawnSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' });
    expect(status.stdout).toBe('');

    const second = await npmStart(ports, 120_000);
    expect(second.output).not.toContain('setup: installing');
    expect(second.output).not.toContain('setup: generating');
    console.log(`fresh clone: first npm start served after ${first.ms} ms, the second after ${second.ms} ms`);
  }, 600_000);
});
