import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../log';
import { isErrno, tempPath } from './atomic-file';

export const LOCK_FILE = 'LOCK';

/** The holder touches its lock this often… */
export const LOCK_REFRESH_MS = 10_000;
/** …and a lock from another host or container untouched this long is stale. */
export const LOCK_STALE_MS = 60_000;

/**
 * Lock files this process holds, shared by every copy of this module (a store opened twice in
 * one process is as wrong as two processes sharing it).
 */
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('tether.store.heldLocks')] ??= new Set<string>()) as Set<string>;

/**
 * Who holds a lock. A PID alone names no process once volumes are shared: two containers both
 * run Tether as PID 1, and a restarted container is PID 1 again. So the lock also says which
 * kernel (boot id) and which host (the container's hostname) the PID belongs to, and when that
 * process started; only a holder on this very host and boot can be checked directly, any
 * other is judged by its heartbeat (the file's mtime, refreshed every LOCK_REFRESH_MS).
 */
export interface LockOwner {
  host: string;
  boot: string;
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); '' if unknown. */
  started: string;
}

export interface StoreLock {
  release(): Promise<void>;
}

function bootId(): string {
  try {
    return fsSync.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Start time of a process, which tells a PID's current process from an earlier one. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, starttime field 22.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // a zombie holds nothing
    return fields[19] ?? '';
  } catch {
    return undefined;
  }
}

export function ownLockOwner(): LockOwner {
  return { host: os.hostname(), boot: bootId(), pid: process.pid, started: processStart(process.pid) ?? '' };
}

function parseOwner(text: string, self: LockOwner): LockOwner | undefined {
  // A plain PID: the lock of an earlier Tether release, which only ran on this host.
  const legacy = /^(\d+)\n?$/.exec(text);
  if (legacy) return { ...self, pid: Number(legacy[1]), started: '' };
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.host === 'string' && typeof v.boot === 'string' && Number.isSafeInteger(v.pid) && typeof v.started === 'string') return v as LockOwner;
  } catch {
    /* an older plain-PID lock, or garbage */
  }
  return undefined;
}

/** Whether the lock's holder may still be alive; `ageMs`: since the file was last touched. */
export function holderAlive(owner: LockOwner | undefined, ageMs: number, self: LockOwner = ownLockOwner()): boolean {
  // Not a lock any Tether writes (a lock is linked into place whole, never torn).
  if (!owner) return false;
  if (owner.host === self.host && owner.boot !== '' && owner.boot === self.boot) {
    if (owner.pid === self.pid) return false; // ours by PID but not held by us: an earlier incarnation
    const started = processStart(owner.pid);
    return started !== undefined && (owner.started === '' || started === owner.started);
  }
  // Another host, container or boot: only its heartbeat can tell.
  return ageMs < LOCK_STALE_MS;
}

/**
 * Takes `dir/LOCK` for this process. The file is written complete under a temp name and
 * hard-linked into place (link fails if the name exists), so no one ever reads a
 * half-written lock; a stale one (see holderAlive) is taken over.
 */
export async function acquireStoreLock(dir: string, log: Logger): Promise<StoreLock> {
  const lockPath = path.join(dir, LOCK_FILE);
  if (held.has(lockPath)) throw new Error(`config store ${dir} is already open in this process`);
  held.add(lockPath);
  const self = ownLockOwner();
  const text = `${JSON.stringify(self)}\n`;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(dir, lockPath, text)) return heldLock(lockPath, text, log);
      const found = await readWithAge(lockPath);
      if (found === undefined) continue; // released meanwhile: try again
      const owner = parseOwner(found.text, self);
      if (holderAlive(owner, found.ageMs, self)) {
        const who = owner ? `process ${owner.pid} on ${owner.host}` : 'another process';
        throw new Error(
          `config store ${dir} is in use by ${who} (${lockPath}, touched ${Math.round(found.ageMs / 1000)} s ago); two Tether processes must not share one store. ` +
            `A lock from another host or container is taken over once untouched for ${LOCK_STALE_MS / 1000} s; delete ${lockPath} only if no Tether uses this store.`,
        );
      }
      log.warn({ lock: lockPath, stale: owner ?? found.text.trim().slice(0, 80) }, 'taking over a stale config store lock');
      await removeIfUnchanged(dir, lockPath, found.text);
    }
    throw new Error(`config store ${dir}: could not take ${lockPath}, another process keeps changing it`);
  } catch (err) {
    held.delete(lockPath);
    throw err;
  }
}

function heldLock(lockPath: string, text: string, log: Logger): StoreLock {
  // The heartbeat that tells other hosts and containers this lock is alive.
  const timer = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch((err: unknown) => log.warn({ lock: lockPath, err: (err as Error).message }, 'could not refresh the config store lock'));
  }, LOCK_REFRESH_MS);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await release(lockPath, text, log);
    },
  };
}

async function tryCreate(dir: string, lockPath: string, text: string): Promise<boolean> {
  const tmp = tempPath(dir, LOCK_FILE);
  try {
    await fs.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await fs.link(tmp, lockPath);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
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
    if ((await readWithAge(aside))?.text !== staleText) await fs.link(aside, lockPath).catch(() => undefined);
  } finally {
    await fs.rm(aside, { force: true });
  }
}

/**
 * Never throws: it runs on shutdown, where a read-only or vanished data dir must not turn a
 * SIGTERM into a crash. A lock that cannot be deleted is left naming this process, which a
 * later start recognises as stale (this PID's process is gone or is another one).
 */
async function release(lockPath: string, text: string, log: Logger): Promise<void> {
  if (!held.delete(lockPath)) return;
  try {
    const found = await readWithAge(lockPath);
    if (found?.text === text) await fs.rm(lockPath, { force: true });
    else log.warn({ lock: lockPath }, 'config store lock was removed or taken by another process while open');
  } catch (err) {
    log.warn({ lock: lockPath, err: (err as Error).message }, 'could not remove the config store lock; the next start will find it stale');
  }
}

async function readWithAge(file: string): Promise<{ text: string; ageMs: number } | undefined> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    return { text, ageMs: Math.max(0, Date.now() - stat.mtimeMs) };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
