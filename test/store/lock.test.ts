import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store';
import { capturingLogger, record, tempStoreDir } from './helpers';

const BUILT = path.resolve(__dirname, '../../dist/src/store/file-store.js');
const CHILD = path.resolve(__dirname, 'fixtures/store-child.js');
const hasBuild = fs.existsSync(BUILT);
if (!hasBuild) console.warn(`skipping the cross-process lock test: ${BUILT} is missing (run \`npm run build\`; \`npm test\` does)`);

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
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await first.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    const second = await createFileStore({ dir });
    await second.close();
  });

  it.each([
    ['a dead pid', () => `${deadPid()}\n`],
    ['our own pid, from an earlier process (containers restart as pid 1)', () => `${process.pid}\n`],
    ['garbage', () => 'not a pid'],
  ])('takes over a stale lock holding %s, with a warning', async (_name, content) => {
    const dir = tempStoreDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'LOCK'), content());
    const { logger, lines } = capturingLogger();
    const store = await createFileStore({ dir, logger });
    expect(lines.map((l) => l.msg)).toContain('taking over a stale config store lock');
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
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
      expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${child.pid}\n`);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const store = await createFileStore({ dir });
    await store.close();
  });
});
