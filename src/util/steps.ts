import { turnSlice, yieldToLoop } from './yield-loop';

/**
 * Long pure work written once as a generator that yields between units (a resource encoded, a
 * service translated): run to the end at once by the synchronous API (tests, CLI, dry
 * computations), or cut into event-loop turns of about `sliceMs` by the server, so that a whole
 * config of 10,000 services does not hold xDS, ext_proc and timers for seconds.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without letting the event loop in. */
export function runSteps<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/** The default slice: well under the 50 ms a stream may wait, long enough that yielding costs little. */
export const SLICE_MS = 15;

/**
 * Runs `steps`, letting the event loop in (`pause`, by default a yield to the loop) whenever the
 * turn's slice (turnSlice, shared with every other sliced work of the turn) has run `sliceMs`.
 * A slice under a millisecond is not about the loop's hold but about letting pending I/O in
 * often (rendition-build's IO_SLICE_MS): it keeps a clock of its own.
 */
export async function runStepsInTurns<T>(steps: Steps<T>, sliceMs = SLICE_MS, pause: () => Promise<unknown> = yieldToLoop): Promise<T> {
  const start = sliceMs >= 1 ? turnSlice : () => performance.now();
  // A run that follows another in the same turn (awaiting a settled promise does not let the
  // loop in), or runs beside one, continues the turn's slice: validation's passes, the
  // store's and the description's each began a slice afresh, two slices and the code between
  // them in one hold of the loop (30–40 ms at 10,000 services).
  let sliceStart = start();
  if (performance.now() - sliceStart >= sliceMs) {
    await pause();
    sliceStart = start();
  }
  for (;;) {
    // At least one step after every pause: a run resumed in a turn whose slice another run used
    // up still moves on.
    const r = steps.next();
    if (r.done) return r.value;
    // The clock is read after every step (a step is already a few units: stepDue): reading it
    // every 16th step let a slice overrun by 16 steps of translation or encoding.
    if (performance.now() - sliceStart >= sliceMs) {
      await pause();
      sliceStart = start();
    }
  }
}

let units = 0;

/**
 * Whether a loop over cheap units (mostly memo hits while a big config is edited: 10,000 per
 * pass) should yield a step now: every 16th unit, so that the steps cost little when each unit
 * is a lookup, while 16 units translated afresh stay far under a slice.
 */
export function stepDue(): boolean {
  return (++units & 15) === 0;
}

/**
 * Calls `visit` on every entry of a document's top-level lists (services, backends...), a step
 * every few entries: the per-entry passes over a whole config (freeze, hash, JSON) in turns.
 */
export function* eachListEntry(document: object, visit: (entry: unknown) => void): Steps<void> {
  for (const value of Object.values(document)) {
    if (!Array.isArray(value)) continue;
    for (const entry of value) {
      visit(entry);
      if (stepDue()) yield;
    }
  }
}
