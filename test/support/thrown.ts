import { TetherError } from '../../src/config/errors';

/** The TetherError `fn` throws; any other error is rethrown, and not throwing fails the test. */
export function thrownTetherError(fn: () => unknown): TetherError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TetherError) return err;
    throw err;
  }
  throw new Error('expected a TetherError');
}
