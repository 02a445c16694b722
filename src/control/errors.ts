import type { FieldError } from '../config';

/**
 * The one error type the control layer throws; the admin API maps `code` to a gRPC status
 * (same names) and the CLI prints `message`. Anything else thrown is an internal error.
 */
export type TetherErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'ABORTED' | 'UNAVAILABLE' | 'INTERNAL';

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
