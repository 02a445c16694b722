import type { FieldError } from './field-errors';

/**
 * The one error type the control layer throws; the admin API maps `code` to a gRPC status
 * (same names) and the CLI prints `message`. Anything else thrown is an internal error.
 */
export type TetherErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class TetherError extends Error {
  constructor(
    readonly code: TetherErrorCode,
    message: string,
    /** For INVALID_ARGUMENT: every field error, with its path. */
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'TetherError';
  }

  static invalid(fieldErrors: FieldError[], prefix = 'invalid config'): TetherError {
    const lines = fieldErrors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
    return new TetherError('INVALID_ARGUMENT', `${prefix}:\n${lines.join('\n')}`, fieldErrors);
  }
}

/** Turns anything thrown into a TetherError (unknown errors become INTERNAL). */
export function toTetherError(err: unknown): TetherError {
  if (err instanceof TetherError) return err;
  return new TetherError('INTERNAL', err instanceof Error ? err.message : String(err));
}

/** errno codes of a storage failure the operator must fix, with what they mean in plain words. */
const STORAGE_FAILURES: Record<string, { code: TetherErrorCode; what: string }> = {
  ENOSPC: { code: 'RESOURCE_EXHAUSTED', what: 'no space left on device' },
  EDQUOT: { code: 'RESOURCE_EXHAUSTED', what: 'disk quota exceeded' },
  EROFS: { code: 'UNAVAILABLE', what: 'read-only file system' },
  EACCES: { code: 'UNAVAILABLE', what: 'permission denied' },
  EPERM: { code: 'UNAVAILABLE', what: 'operation not permitted' },
  EIO: { code: 'UNAVAILABLE', what: 'I/O error' },
};

/**
 * A failed write of the config history → the error its caller sees: the cause and the
 * directory ("no space left on device in /data/.tether") for the storage failures an operator
 * fixes, INTERNAL for anything else.
 */
export function storageError(err: unknown, doing: string): TetherError {
  const e = err as NodeJS.ErrnoException;
  const known = typeof e?.code === 'string' ? STORAGE_FAILURES[e.code] : undefined;
  if (!known) return new TetherError('INTERNAL', `${doing}: ${err instanceof Error ? err.message : String(err)}; nothing changed`);
  const where = typeof e.path === 'string' ? ` in ${pathDir(e.path)}` : '';
  return new TetherError(known.code, `${doing}: ${known.what}${where} (${e.code}); nothing changed`);
}

function pathDir(file: string): string {
  const cut = file.lastIndexOf('/');
  return cut > 0 ? file.slice(0, cut) : file;
}
