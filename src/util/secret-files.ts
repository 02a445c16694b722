/**
 * Key files of JWT verification (`hmacSecretFile`, `jwksFile`): where they may live, how they
 * are read, and the key material kept from them.
 *
 * Validation only checks a path's shape and the directory rule (no I/O: a config is valid or
 * not whatever the disk holds). The files are read asynchronously by the ext_proc side, when a
 * version is about to be published or a policy is first used: regular files only (a FIFO or a
 * device is refused, opened non-blocking so a FIFO cannot hang a thread), at most
 * SECRET_FILE_MAX_BYTES, and only inside the secrets directory (symlinks resolved). Material
 * once loaded is kept: a file that later disappears or turns bad leaves the last good keys in
 * use, loudly logged; a file never loaded leaves its JWT source unable to verify (the policy's
 * failureMode decides: skip the source, or 401).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';

/** The most a key file may hold. A JWKS of ~50 RSA-4096 keys fits; anything larger is refused. */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;
/** How often a loaded file is re-read in the background while in use (key rotation). */
const RECHECK_MS = 5_000;

export interface SecretFileRules {
  /** Absolute directory every key file must be inside; relative paths are resolved against it. */
  readonly dir: string;
  /** Absolute files or directories never accepted, even inside `dir` (Tether's data dir, admin token). */
  readonly refuse: readonly string[];
}

let rules: SecretFileRules | undefined;

/**
 * Sets the process's secret file rules (startTether and `tether ext-proc` do, from --secrets-dir,
 * TETHER_SECRETS_DIR or beside the config). One rule set per process: the last call wins.
 */
export function setSecretFileRules(next: { dir: string; refuse?: readonly string[] }): void {
  rules = { dir: path.resolve(next.dir), refuse: (next.refuse ?? []).map((p) => path.resolve(p)) };
}

/** The rules in force; without setSecretFileRules, the working directory. */
export function secretFileRules(): SecretFileRules {
  return rules ?? { dir: process.cwd(), refuse: [] };
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  // `..2026_01/key` (a Kubernetes secret volume) is inside; `..` and `../x` are not.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function refused(r: SecretFileRules, file: string): boolean {
  return r.refuse.some((p) => inside(p, file));
}

/**
 * Pure check of a key file path: resolves it against the secrets directory, or says why not.
 * The message never depends on what exists on disk.
 */
export function checkSecretPath(value: unknown, r: SecretFileRules = secretFileRules()): { path: string } | { message: string } {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) return { message: 'must be a file path' };
  const resolved = path.resolve(r.dir, value);
  if (!inside(r.dir, resolved) || resolved === r.dir) {
    return { message: `must name a file inside the secrets directory ${r.dir} (set by --secrets-dir or TETHER_SECRETS_DIR)` };
  }
  if (refused(r, resolved)) return { message: "must not name Tether's own files (data dir, admin token)" };
  return { path: resolved };
}

export class SecretFileError extends Error {}

async function realpathOrFail(file: string): Promise<string> {
  try {
    return await fs.promises.realpath(file);
  } catch (err) {
    throw new SecretFileError(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Reads a key file under the rules, without blocking the event loop or a worker thread:
 * refuses what resolves outside the directory, what is not a regular file, and more than the cap.
 */
export async function readSecretFile(file: string, r: SecretFileRules = secretFileRules()): Promise<{ data: Buffer; mtimeMs: number }> {
  const lexical = checkSecretPath(file, r);
  if ('message' in lexical) throw new SecretFileError(lexical.message);
  const realDir = await realpathOrFail(r.dir).catch(() => {
    throw new SecretFileError('cannot be read (the secrets directory is missing)');
  });
  const real = await realpathOrFail(lexical.path);
  const realRefused = await Promise.all(r.refuse.map((p) => fs.promises.realpath(p).catch(() => p)));
  if (!inside(realDir, real) || realRefused.some((p) => inside(p, real))) throw new SecretFileError('resolves outside the secrets directory (symlink)');
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    handle = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (err) {
    throw new SecretFileError(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SecretFileError('is not a regular file');
    if (stat.size > SECRET_FILE_MAX_BYTES) throw new SecretFileError(`is larger than ${SECRET_FILE_MAX_BYTES} bytes`);
    // The size may have grown since fstat: read one byte past the cap to notice.
    const buffer = Buffer.alloc(SECRET_FILE_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > SECRET_FILE_MAX_BYTES) throw new SecretFileError(`is larger than ${SECRET_FILE_MAX_BYTES} bytes`);
    }
    return { data: buffer.subarray(0, length), mtimeMs: stat.mtimeMs };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A file's parsed key material of some kind (an HMAC secret, a JWKS key list). */
export type SecretParser<T> = (data: Buffer) => T;

interface Entry {
  value: unknown;
  loadedAt: number | undefined;
  mtimeMs: number;
  checkedAt: number;
  /** The last load's failure, while it lasts (logged once per distinct message). */
  error: string | undefined;
  pending: Promise<void> | undefined;
}

/**
 * Key material by (kind, path), shared by the process: the same file used by many policies or
 * config versions is read once and survives versions that keep naming it.
 */
export class SecretStore {
  private readonly entries = new Map<string, Entry>();
  private logger: Logger | undefined;

  /** Where load problems are logged (the ext_proc server's logger). */
  useLogger(logger: Logger): void {
    this.logger = logger;
  }

  /** The material loaded last (undefined until a load succeeded); starts a background re-read when stale. */
  get<T>(kind: string, file: string, parse: SecretParser<T>): T | undefined {
    const entry = this.entries.get(`${kind}\0${file}`);
    if (!entry) {
      void this.load(kind, file, parse);
      return undefined;
    }
    if (!entry.pending && Date.now() - entry.checkedAt >= RECHECK_MS) void this.load(kind, file, parse);
    return entry.value as T | undefined;
  }

  /** (Re-)reads a file now; never throws (failures are kept and logged). */
  load<T>(kind: string, file: string, parse: SecretParser<T>): Promise<void> {
    const key = `${kind}\0${file}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: undefined, loadedAt: undefined, mtimeMs: -1, checkedAt: 0, error: undefined, pending: undefined };
      this.entries.set(key, entry);
    }
    if (entry.pending) return entry.pending;
    const e = entry;
    e.checkedAt = Date.now();
    e.pending = (async () => {
      try {
        const { data, mtimeMs } = await readSecretFile(file);
        if (mtimeMs === e.mtimeMs && e.loadedAt !== undefined && e.error === undefined) return;
        e.value = parse(data);
        e.mtimeMs = mtimeMs;
        e.loadedAt = Date.now();
        if (e.error !== undefined) this.logger?.warn({ file }, 'ext_proc: key file readable again; its keys are in use');
        e.error = undefined;
      } catch (err) {
        const message = err instanceof SecretFileError || err instanceof SyntaxError ? err.message : (err as Error).message;
        if (message !== e.error) {
          e.error = message;
          if (e.loadedAt !== undefined) {
            this.logger?.error({ file, problem: message, loadedAt: new Date(e.loadedAt).toISOString() }, `ext_proc: key file ${message}; KEEPING the keys loaded from it earlier`);
          } else {
            this.logger?.error({ file, problem: message }, `ext_proc: key file ${message}; JWT sources verifying with it reject every token (failureMode decides: skip or 401)`);
          }
        }
      } finally {
        e.pending = undefined;
      }
    })();
    return e.pending;
  }

  /** The last failure for a file, if its latest load failed. */
  problem(kind: string, file: string): string | undefined {
    return this.entries.get(`${kind}\0${file}`)?.error;
  }
}

/** The process's key material. */
export const secretStore = new SecretStore();
