/**
 * kill -9 during commits: a child process commits in a loop and prints each version once
 * commit() resolved; the parent SIGKILLs it at a random moment, reopens the store and checks
 * that every acknowledged version survived and that what it reads is intact.
 *
 * This proves process-crash safety of the real code path (write order, atomic renames,
 * recovery, stale-lock takeover). It cannot prove power-loss durability: the kernel's page
 * cache survives a killed process, so the fsyncs are not exercised by it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore, type VersionRecord } from '../../src/store';
import { capturingLogger, tempStoreDir } from './helpers';

const BUILT = path.resolve(__dirname, '../../dist/src/store/file-store.js');
const CHILD = path.resolve(__dirname, 'fixtures/store-child.js');
const hasBuild = fs.existsSync(BUILT);
if (!hasBuild) console.warn(`skipping the kill -9 store test: ${BUILT} is missing (run \`npm run build\`; \`npm test\` does)`);

const ROUNDS = 5;
const RETAIN = 4;

/** Same as documentFor() in fixtures/store-child.js (checkpoints every 8 versions, patches between). */
function documentFor(version: number): Record<string, unknown> {
  const stem = version - (version % 8);
  const services = Array.from({ length: 16 }, (_, i) => ({ name: `s${i}`, at: i === version % 16 ? version : 0 }));
  return { version, payload: `v${stem};`.repeat(Math.ceil(65536 / (String(stem).length + 2))), services };
}

function expectIntact(r: VersionRecord | undefined, version: number): void {
  expect(r).toEqual({
    version,
    document: documentFor(version),
    contentHash: `hash-${version}`,
    createdAt: new Date(0).toISOString(),
    source: 'crash-test',
    description: `version ${version}`,
  });
}

interface Round {
  started: number;
  acked: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has opened the store, lets it commit for `killAfterMs`, then kill -9. */
function runAndKill(dir: string, killAfterMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'loop', dir, String(RETAIN)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let started = -1;
    let acked = -1;
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const start = /^start (\d+)$/.exec(line);
        if (start) {
          started = acked = Number(start[1]);
          killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (/^\d+$/.test(line)) {
          const v = Number(line);
          if (v !== acked + 1) reject(new Error(`child acknowledged ${v} after ${acked}`));
          acked = v;
        }
      }
    });
    child.on('error', reject);
    // 'close': the process is reaped and its stdout fully read.
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      clearTimeout(killTimer);
      if (started < 0) reject(new Error(`child never opened the store: ${stderr}`));
      else resolve({ started, acked, signal, stderr });
    });
  });
}

describe.skipIf(!hasBuild)('file store under kill -9', () => {
  it(`never loses an acknowledged commit and never loads a torn one (${ROUNDS} rounds)`, async () => {
    const dir = tempStoreDir();
    let lastAcked = 0;
    let totalCommits = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const result = await runAndKill(dir, 50 + Math.floor(Math.random() * 700));
      expect(result.signal, `round ${round}: the child should die by SIGKILL; stderr: ${result.stderr}`).toBe('SIGKILL');
      // The child started from where the previous round's store stood.
      expect(result.started).toBe(lastAcked);
      totalCommits += result.acked - result.started;

      const { logger, lines } = capturingLogger();
      const store = await createFileStore({ dir, retain: RETAIN, logger }); // also takes over the dead child's lock
      // A kill may leave temp files, a CURRENT behind the newest version and the lock; a torn
      // (corrupt) file, a patch without its checkpoint or an unusable CURRENT would mean a
      // write (or a deletion) was not in a safe order. Whole lines: they say which file and why.
      expect(lines.filter((l) => (l.level as number) >= 40 && /corrupt|falling back/.test(String(l.msg)))).toEqual([]);
      const current = await store.current();
      const at = current?.version ?? 0;
      // Every acknowledged commit is there; at most the one in flight beyond it.
      expect(at).toBeGreaterThanOrEqual(result.acked);
      expect(at).toBeLessThanOrEqual(result.acked + 1);
      if (at > 0) expectIntact(current, at);
      const history = await store.list();
      expect(history.length).toBeLessThanOrEqual(RETAIN);
      expect(history.map((m) => m.version)).toEqual(Array.from({ length: Math.min(RETAIN, at) }, (_, i) => at - i));
      for (const m of history) expectIntact(await store.get(m.version), m.version);
      await store.close();
      const leftovers = [...fs.readdirSync(dir), ...fs.readdirSync(path.join(dir, 'versions'))].filter((n) => n.endsWith('.tmp') || n.endsWith('.corrupt'));
      expect(leftovers).toEqual([]);
      lastAcked = at;
    }
    // The test means something only if the kills landed among commits.
    expect(totalCommits).toBeGreaterThan(ROUNDS);
  });
});
