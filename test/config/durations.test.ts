import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config';
import { errorsOf, sticky } from './helpers';

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
    ['0.1s', 100],
    ['0s', 0],
    [0, 0],
    [15, 15_000],
    [0.25, 250],
  ] as const)('%s → %i ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ms });
  });

  it.each([
    ['30', 'missing unit (e.g. "30s")'],
    ['-1s', 'must not be negative'],
    [-1, 'must not be negative'],
    ['1d', `invalid duration '1d' (use e.g. "1s", "250ms", "1h30m")`],
    ['1.5ms', 'must be a whole number of milliseconds'],
    [0.0001, 'must be a whole number of milliseconds'],
    [true, 'must be a duration like "1s", "250ms" or "1h30m", or a number of seconds'],
  ] as const)('%s is refused: %s', (input, error) => {
    expect(parseDuration(input)).toEqual({ error });
  });

  it('errors carry the field path', () => {
    expect(
      errorsOf(
        sticky((c) => {
          c.services[0]!.affinity = { keys: [{ cookie: { name: 's', ttl: '1 hour' } }] };
          c.services[0]!.routes[0]!.timeout = '10';
        }),
      ),
    ).toEqual([
      { path: 'services[0].affinity.keys[0].cookie.ttl', message: `invalid duration '1 hour' (use e.g. "1s", "250ms", "1h30m")` },
      { path: 'services[0].routes[0].timeout', message: 'missing unit (e.g. "10s")' },
    ]);
  });
});
