import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../log';
import { isErrno, tempPath } from './atomic-file';

export const LOCK_FILE = 'LOCK';

/**
 * Lock files this process holds, shared by every copy of this module (a store opened twice in
 * one process is as wrong as two processes sharing it). It also tells a stale lock that
 * happens to carry our own pid (containers restart as pid 1) from one we really hold.
 */
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('tether.store.heldLocks')] ??= new Set<string>()) as Set<string>;

export interface StoreLock {
  release(): Promise<void>;
}

/**
 * Takes `dir/LOCK` for this process. The file is written complete under a temp name and
 * hard-linked into place (link fails if the name exists), so no one ever reads a
 * half-written lock. A lock whose pid is not running is stale and is taken over.
 */
export async function acquireStoreLock(dir: string, log: Logger): Promise<StoreLock> {
  const lockPath = path.join(dir, LOCK_FILE);
  if (held.has(lockPath)) throw new Error(`config store ${dir} is already open in this process`);
  held.add(lockPath);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(dir, lockPath)) return { release: () => release(lockPath, log) };
      const text = await readOrUndefined(lockPath);
      if (text === undefined) continue; // released meanwhile: try again
      const pid = parsePid(text);
      if (pid !== undefined && pid !== process.pid && isRunning(pid)) {
        throw new Error(
          `config store ${dir} is in use by process ${pid} (${lockPath}); two Tether processes must not share one store. ` +
            `If process ${pid} is not a Tether using this store, delete ${lockPath}.`,
        );
      }
      log.warn({ lock: lockPath, stalePid: pid ?? text.trim().slice(0, 40) }, 'taking over a stale config store lock');
      await removeIfUnchanged(dir, lockPath, text);
    }
    throw new Error(`config store ${dir}: could not take ${lockPath}, another process keeps changing it`);
  } catch (err) {
    held.delete(lockPath);
    throw err;
  }
}

async function tryCreate(dir: string, lockPath: string): Promise<boolean> {
  const tmp = tempPath(dir, LOCK_FILE);
  try {
    await fs.writeFile(tmp, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
    await fs.link(tmp, lockPath);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * Removes a stale lock only if it still holds what we judged stale: it is first renamed away
 * (atomic), then checked; if another process had replaced it meanwhile, it is linked back.
 */
async function removeIfUnchanged(dir: string, lockPath: string, staleText: string): Promise<void> {
  const aside = tempPath(dir, `${LOCK_FILE}.stale`);
  try {
    await fs.rename(lockPath, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  try {
    if ((await readOrUndefined(aside)) !== staleText) await fs.link(aside, lockPath).catch(() => undefined);
  } finally {
    await fs.rm(aside, { force: true });
  }
}

async function release(lockPath: string, log: Logger): Promise<void> {
  if (!held.delete(lockPath)) return;
  const text = await readOrUndefined(lockPath);
  if (text !== undefined && parsePid(text) === process.pid) {
    await fs.rm(lockPath, { force: true });
  } else {
    log.warn({ lock: lockPath }, 'config store lock was removed or taken by another process while open');
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function parsePid(text: string): number | undefined {
  const m = /^(\d+)\n?$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Signal 0 probes without signalling; EPERM means it exists under another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
  // A zombie (killed, not yet reaped) still answers signal 0 but holds nothing (Linux only).
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc: trust signal 0
  }
  return true;
}
