/**
 * runStepsInTurns (issue 13's event-loop holds): slices of about `sliceMs`, and a run that
 * follows another in the same turn of the event loop continues that run's slice instead of
 * starting a fresh one (back-to-back runs made one hold of two slices and the code between).
 * The clock is the test's: each step advances it by a fixed amount.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runStepsInTurns, type Steps } from '../../src/util/steps';
import { yieldToLoop } from '../../src/util/yield-loop';

let clock = 0;
let pauses = 0;
const pause = () => ((pauses += 1), yieldToLoop());

beforeEach(async () => {
  clock = 1000;
  pauses = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
  // Whatever an earlier run left of its turn is over.
  await yieldToLoop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function* work(steps: number, ms: number): Steps<number> {
  for (let i = 0; i < steps; i++) {
    clock += ms;
    yield;
  }
  return steps;
}

describe('runStepsInTurns', () => {
  it('pauses once a slice has run', async () => {
    expect(await runStepsInTurns(work(10, 4), 10, pause)).toBe(10);
    // Slices of 3 steps (12 ms): pauses after steps 3, 6 and 9.
    expect(pauses).toBe(3);
  });

  it('a run right after another in the same turn continues its slice', async () => {
    await runStepsInTurns(work(2, 6), 20, pause);
    expect(pauses).toBe(0);
    // 12 ms of the slice gone: the second run pauses after its second step (24 ms), not after 20 ms more.
    clock += 3; // code between the two runs
    await runStepsInTurns(work(2, 6), 20, pause);
    expect(pauses).toBe(1);
  });

  it('a run whose slice is already over pauses before its first step', async () => {
    await runStepsInTurns(work(4, 6), 20, pause);
    expect(pauses).toBe(1);
    clock += 30;
    let first: number | undefined;
    await runStepsInTurns(
      (function* () {
        first = pauses;
        yield;
      })(),
      20,
      pause,
    );
    expect(first).toBe(2);
  });

  it('a run after the loop has turned starts a slice of its own', async () => {
    await runStepsInTurns(work(2, 6), 20, pause);
    await yieldToLoop();
    await runStepsInTurns(work(2, 6), 20, pause);
    expect(pauses).toBe(0);
  });
});
