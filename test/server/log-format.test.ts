/**
 * `tether serve` logs its level by name (`"level":"info"`), as log pipelines read it: the built
 * binary, started on free ports, its stdout read until it listens, then stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, hasBuild } from '../cli/harness';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const dir = makeTempDir('log-format');
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  removeTempDir(dir);
});

describe.skipIf(!hasBuild)('log format', () => {
  it('every line of a starting server names its level', async () => {
    child = spawn(
      process.execPath,
      [BIN, 'serve', '--data-dir', path.join(dir, 'data'), '--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-host', '127.0.0.1', '--metrics-port', '0', '--ext-proc-host', '127.0.0.1', '--ext-proc-port', '0'],
      { env: cleanEnv(), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 20 s:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), 20_000);
      let buffered = '';
      child!.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const part of parts) {
          const line = JSON.parse(part) as Record<string, unknown>;
          lines.push(line);
          if (line.msg === 'tether xDS server listening') {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child!.on('exit', (code) => reject(new Error(`tether serve exited (${code})`)));
    });
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'tether xDS server listening' });
    process.kill(child.pid!, 'SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
  });
});
