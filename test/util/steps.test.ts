/**
 * runStepsInTurns (issue 13's event-loop holds): slices of about `sliceMs`, and a run that
 * follows another in the same turn of the event loop, or runs beside it, continues the turn's
 * slice instead of starting a fresh one (back-to-back runs made one hold of two slices and the
 * code between; two runs side by side held the loop for two slices per turn).
 * The clock is the test's: each step advances it by a fixed amount. A turn ends at the loop's
 * next timer phase, so a pause here waits for a real timer (`nextTurn`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runStepsInTurns, type Steps } from '../../src/util/steps';

let clock = 0;
let pauses = 0;
/** The loop through its next timer phase: what ends a turn's slice. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 2));
const pause = () => ((pauses += 1), nextTurn());

beforeEach(async () => {
  clock = 1000;
  pauses = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
  // Whatever an earlier run left of its turn is over.
  await nextTurn();
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
    await nextTurn();
    await runStepsInTurns(work(2, 6), 20, pause);
    expect(pauses).toBe(0);
  });

  it('runs side by side share one slice per turn, and each still moves on every turn', async () => {
    const order: string[] = [];
    function* tagged(tag: string, steps: number): Steps<number> {
      for (let i = 0; i < steps; i++) {
        clock += 4;
        order.push(tag);
        yield;
      }
      return steps;
    }
    const a = runStepsInTurns(tagged('a', 6), 10, pause);
    const b = runStepsInTurns(tagged('b', 6), 10, pause);
    // This turn: a used the slice (3 steps, 12 ms); b waits for the next turn instead of taking
    // a slice of its own (the turn would have held 24 ms).
    expect(clock).toBe(1012);
    expect(order).toEqual(['a', 'a', 'a']);
    expect(await Promise.all([a, b])).toEqual([6, 6]);
    // Turn 2: a's last three steps, then one step of b though the slice is gone (a run always
    // moves on); turn 3: three of b; turn 4: the last two. Pauses: a after each of its turns
    // (its generator ends on the call after its last step), b at its start, after its one step
    // and after turn 3.
    expect(order).toEqual(['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'b']);
    expect(pauses).toBe(5);
  });

  it('a sub-millisecond slice (letting I/O in) keeps a clock of its own', async () => {
    await runStepsInTurns(work(4, 6), 20, pause);
    expect(pauses).toBe(1);
    // The turn's slice is over, yet a 0.5 ms run does one step before its first pause.
    let first: number | undefined;
    await runStepsInTurns(
      (function* () {
        first = pauses;
        clock += 1;
        yield;
      })(),
      0.5,
      pause,
    );
    expect(first).toBe(1);
  });
});
