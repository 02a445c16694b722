/**
 * At most one log line per key and interval; the next line that gets through says how many
 * were held back. For lines a client can trigger at will (refused calls, NACK storms), so a
 * noisy or hostile client cannot fill the disk with logs.
 */
export interface LogLimiter {
  /** undefined: hold this one back; a number: log it, mentioning that many held back since the last. */
  admit(key: string): number | undefined;
}

export function createLogLimiter(intervalMs: number, maxKeys = 1000, now: () => number = Date.now): LogLimiter {
  const state = new Map<string, { last: number; held: number }>();
  return {
    admit(key) {
      const t = now();
      const s = state.get(key);
      if (s && t - s.last < intervalMs) {
        s.held++;
        return undefined;
      }
      const held = s?.held ?? 0;
      // Bounded: the oldest key goes first (Map keeps insertion order).
      state.delete(key);
      if (state.size >= maxKeys) state.delete(state.keys().next().value as string);
      state.set(key, { last: t, held: 0 });
      return held;
    },
  };
}
