import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store';
import { LOCK_STALE_MS, ownLockOwner } from '../../src/store/store-lock';
import { capturingLogger, record, tempStoreDir } from './helpers';

const BUILT = path.resolve(__dirname, '../../dist/src/store/file-store.js');
const CHILD = path.resolve(__dirname, 'fixtures/store-child.js');
const hasBuild = fs.existsSync(BUILT);
if (!hasBuild) console.warn(`skipping the cross-process lock test: ${BUILT} is missing (run \`npm run build\`; \`npm test\` does)`);

function lockPid(dir: string): number {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(run.stdout);
}

describe('file store lock', () => {
  it('a second open of the same directory in this process is refused until the first closes', async () => {
    const dir = tempStoreDir();
    const first = await createFileStore({ dir });
    await expect(createFileStore({ dir })).rejects.toThrow(/already open in this process/);
    // Through another path to the same directory too.
    await expect(createFileStore({ dir: path.join(dir, '..', 'store') })).rejects.toThrow(/already open in this process/);
    expect(lockPid(dir)).toBe(process.pid);
    await first.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    const second = await createFileStore({ dir });
    await second.close();
  });

  it.each([
    ['a dead pid', () => `${deadPid()}\n`],
    ['our own pid, from an earlier process (containers restart as pid 1)', () => `${process.pid}\n`],
    ['garbage', () => 'not a pid'],
    ['this host and boot, a dead pid', () => JSON.stringify({ ...ownLockOwner(), pid: deadPid(), started: '1' })],
    ['this host and boot, our pid (an earlier incarnation: containers restart as pid 1)', () => JSON.stringify(ownLockOwner())],
    ['this host and boot, a live pid that is another process now (pid reuse)', () => JSON.stringify({ ...ownLockOwner(), pid: 1, started: 'not-its-start-time' })],
    ['another container, untouched for longer than the stale limit', () => JSON.stringify({ ...ownLockOwner(), host: 'other-container' })],
  ])('takes over a stale lock holding %s, with a warning', async (_name, content) => {
    const dir = tempStoreDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'LOCK'), content());
    const old = new Date(Date.now() - LOCK_STALE_MS - 1_000);
    fs.utimesSync(path.join(dir, 'LOCK'), old, old);
    const { logger, lines } = capturingLogger();
    const store = await createFileStore({ dir, logger });
    expect(lines.map((l) => l.msg)).toContain('taking over a stale config store lock');
    expect(lockPid(dir)).toBe(process.pid);
    await store.commit(record(1));
    await store.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['CURRENT', 'versions']);
  });

  it.skipIf(!hasBuild)('refuses a store held by another live process, naming it; takes it over once that process is killed', async () => {
    const dir = tempStoreDir();
    const child = spawn(process.execPath, [CHILD, 'hold', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('child did not open the store within 10 s')), 10_000);
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('close', () => reject(new Error('child exited early')));
      });
      const err = await createFileStore({ dir }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`in use by process ${child.pid}`);
      expect((err as Error).message).toContain('two Tether processes must not share one store');
      // The failed attempt left the holder's lock alone.
      expect(lockPid(dir)).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const store = await createFileStore({ dir });
    await store.close();
  });

  it('refuses a lock held with the same pid by another container that keeps it fresh (both are pid 1)', async () => {
    const dir = tempStoreDir();
    fs.mkdirSync(dir);
    // Same PID and boot (containers share the kernel), another hostname, touched just now.
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ ...ownLockOwner(), host: 'tether-b' }));
    await expect(createFileStore({ dir })).rejects.toThrow(/in use by process \d+ on tether-b/);
  });

  it('the lock file names host, boot, pid and start time, and a holder refreshes it', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const owner = JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'));
    expect(owner).toEqual(ownLockOwner());
    expect(owner.boot).not.toBe('');
    expect(owner.started).not.toBe('');
    await store.close();
  });

});
