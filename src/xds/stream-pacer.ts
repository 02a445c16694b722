/**
 * Event-loop time as a budget per stream (a token bucket of milliseconds). Every request is
 * handled synchronously on the one event loop that serves all streams, and some cost more
 * than others (a subscription change of 50,000 names sorts them); a client sending such
 * requests back to back would hold the loop. Past its budget a stream's next request is
 * read later: grpc-js stops reading the call, HTTP/2 flow control stops the client, and the
 * other streams get the loop meanwhile. Ordinary clients never come near the budget.
 */
export interface StreamPacer {
  /** Charges `ms` of work; returns how long to wait before reading the stream's next request (0: at once). */
  charge(ms: number): number;
}

export function createStreamPacer(burstMs: number, msPerSecond: number, now: () => number = () => performance.now()): StreamPacer {
  let tokens = burstMs;
  let last = now();
  return {
    charge(ms) {
      const t = now();
      tokens = Math.min(burstMs, tokens + ((t - last) * msPerSecond) / 1000) - ms;
      last = t;
      return tokens >= 0 ? 0 : (-tokens * 1000) / msPerSecond;
    },
  };
}
