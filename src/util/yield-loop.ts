import { performance } from 'node:perf_hooks';
import { setImmediate as immediate } from 'node:timers/promises';

/**
 * Resolves once the event loop has been round its timers and I/O (poll) phases, so that xDS,
 * ext_proc and timers get in between two slices of long work. One setImmediate is not enough:
 * queued from an I/O callback (a gRPC call's handler), it runs in the same loop iteration's
 * check phase, before any other I/O; the second one then waits for the next iteration.
 */
export async function yieldToLoop(): Promise<void> {
  await immediate();
  await immediate();
}

/** When the current turn's slice began (turnSlice), until a timer phase ends the turn. */
let turnStart: number | undefined;
const endTurn = (): void => {
  turnStart = undefined;
};

/**
 * The start of this event-loop turn's slice, shared by every piece of sliced work (issue 13's
 * holds). Each used to keep a clock of its own: two of them in one turn (the gRPC kind's build
 * and the session-share metrics after a whole-config edit, a build and the store's encoding)
 * held the loop for two slices, 24–36 ms at 10,000 services for 15 ms slices. The first work
 * of a turn starts the slice; a timer ends it: timers run at the start of the loop's next
 * iteration, before its I/O and its immediates, so work resumed there (yieldToLoop) starts
 * afresh while work later in the same turn (an I/O callback's, then the check phase's) shares
 * what is left. Each caller still runs at least one unit per turn, so none starves.
 */
export function turnSlice(): number {
  if (turnStart === undefined) {
    turnStart = performance.now();
    setTimeout(endTurn, 1).unref();
  }
  return turnStart;
}

/**
 * For long work cut into slices: `await turn()` between steps yields (yieldToLoop) once the
 * turn's slice (turnSlice) has run `sliceMs`, and costs a clock read otherwise.
 */
export function sliceTurns(sliceMs = 10): () => Promise<void> {
  let start = turnSlice();
  return async () => {
    if (performance.now() - start < sliceMs) return;
    await yieldToLoop();
    start = turnSlice();
  };
}
