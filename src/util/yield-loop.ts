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

/**
 * For long work cut into slices: `await turn()` between steps yields (yieldToLoop) once the
 * current slice has run `sliceMs`, and costs a clock read otherwise.
 */
export function sliceTurns(sliceMs = 10): () => Promise<void> {
  let start = performance.now();
  return async () => {
    if (performance.now() - start < sliceMs) return;
    await yieldToLoop();
    start = performance.now();
  };
}
