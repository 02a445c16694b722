import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Temp files are dot-files ending in `.tmp` in the directory of their final name, so a rename
 * never crosses a file system and recovery can delete every leftover with one pattern.
 */
const TEMP_SUFFIX = '.tmp';

export function tempPath(dir: string, name: string): string {
  return path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/**
 * Thrown when the new file was renamed into place but the directory fsync failed: the new
 * content may or may not survive a crash, so the caller cannot claim either outcome.
 */
export class RenameNotDurableError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`${file} was replaced but the directory could not be synced: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'RenameNotDurableError';
  }
}

export interface DurableWriteOptions {
  /** Asked before the rename; false removes the temp file and resolves false (see writeFileDurably). */
  ready?: () => Promise<boolean>;
  /** fsyncs `dir` through a handle the caller keeps open (fsyncDir otherwise). */
  syncDir?: () => Promise<void>;
  /**
   * For data up to SYNC_WRITE_BYTES: rename first, then fsync the file and the directory
   * together (one journal commit instead of two in a row). Resolves only once both are done,
   * but a power loss before that can leave `dir/name` torn instead of old: only for a caller
   * whose recovery treats a torn file as a write that never completed and has an older
   * intact one to fall back to (the file store's version files, from the second version on).
   */
  syncAfterRename?: boolean;
}

/**
 * Up to this size a temp file is written synchronously (into the page cache: tens of µs of
 * the loop, not two thread-pool round trips that wait for the loop to be free).
 */
export const SYNC_WRITE_BYTES = 64 * 1024;

/**
 * Replaces `dir/name` with `data` so that a crash at any point leaves the old or the new
 * content, never a mix: write a temp file, fsync it, rename it over the target, fsync the
 * directory (the rename itself lives in the directory's data).
 *
 * `options.ready`, when given, is asked once the temp file is durable and before the rename:
 * false (the caller's own work failed) removes the temp file, leaves `dir/name` as it was and
 * resolves false. So the slow part of the write overlaps with the caller's work.
 * `options.syncDir` fsyncs `dir` through a handle the caller keeps open (fsyncDir otherwise).
 * `options.syncAfterRename` trades the first guarantee for one disk round trip less.
 */
export async function writeFileDurably(
  dir: string,
  name: string,
  data: string | Buffer,
  options: DurableWriteOptions = {},
): Promise<boolean> {
  if (options.syncAfterRename && Buffer.byteLength(data) <= SYNC_WRITE_BYTES) return renameThenSync(dir, name, data, options);
  const { ready } = options;
  const tmp = tempPath(dir, name);
  try {
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (ready && !(await ready())) {
      await fs.rm(tmp, { force: true });
      return false;
    }
    await fs.rename(tmp, path.join(dir, name));
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    // Writes through a handle carry no path; the caller's message names where it failed.
    if (typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).path === undefined) (err as NodeJS.ErrnoException).path = tmp;
    throw err;
  }
  try {
    await (options.syncDir ? options.syncDir() : fsyncDir(dir));
  } catch (err) {
    throw new RenameNotDurableError(path.join(dir, name), err);
  }
  return true;
}

/**
 * writeFileDurably with syncAfterRename: the temp file is written (not synced), `ready` is
 * asked, the file renamed into place and then the file and the directory fsynced at once. A
 * process crash leaves the old or the new content (the bytes are in the page cache before
 * the rename); only a power loss before both fsyncs end can leave the new name torn.
 */
async function renameThenSync(dir: string, name: string, data: string | Buffer, options: DurableWriteOptions): Promise<boolean> {
  const tmp = tempPath(dir, name);
  const target = path.join(dir, name);
  let fd: number | undefined;
  try {
    fd = fsSync.openSync(tmp, 'wx', 0o600);
    fsSync.writeFileSync(fd, data, 'utf8');
    if (options.ready && !(await options.ready())) {
      fsSync.closeSync(fd);
      fd = undefined;
      await fs.rm(tmp, { force: true });
      return false;
    }
    // On the loop too: a rename is tens of µs, a thread-pool round trip waits for the loop.
    fsSync.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).path === undefined) (err as NodeJS.ErrnoException).path = tmp;
    throw err;
  }
  const file = fd;
  // Both in flight together: the file's data and inode, and the rename in the directory.
  const synced = await Promise.allSettled([
    new Promise<void>((resolve, reject) => fsSync.fsync(file, (err) => (err ? reject(err) : resolve()))),
    options.syncDir ? options.syncDir() : fsyncDir(dir),
  ]);
  closeQuietly(file);
  const failed = synced.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw new RenameNotDurableError(target, failed.reason);
  return true;
}

/** Closing a file descriptor (synced, or failed) is a cheap system call; its error tells nothing more. */
function closeQuietly(fd: number): void {
  try {
    fsSync.closeSync(fd);
  } catch {
    // already reported by the write or fsync that failed
  }
}

/**
 * Replaces `dir/name` with `data` without waiting for the disk: a crash of the process leaves
 * the old or the new content, a crash of the machine may leave either, or an empty file.
 * Only for files whose loss recovery tolerates (the file store's CURRENT hint).
 */
export async function replaceFile(dir: string, name: string, data: string): Promise<void> {
  // A few bytes, never synced: four system calls on the loop (tens of µs) cost less than four
  // thread-pool round trips, whose wake-ups compete for the cores with the clients an edit was
  // just pushed to.
  const tmp = tempPath(dir, name);
  try {
    fsSync.writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
    fsSync.renameSync(tmp, path.join(dir, name));
  } catch (err) {
    fsSync.rmSync(tmp, { force: true });
    throw err;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Deletes leftover temp files (torn writes of a crashed process); returns their names. */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(dir)) {
    if (!isTempName(name)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
