import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionCache } from './session-cache';

/** Session keys longer than this are refused (400 / INVALID_ARGUMENT), bounding cache memory. */
export const MAX_USER_LENGTH = 256;

export interface ServeResult {
  /** True when the user's session was already warm here (the fast path). */
  cached: boolean;
  /** Whole milliseconds spent, cold delay included. */
  latencyMs: number;
}

export interface ReplicaStats {
  /** Requests served over HTTP and gRPC (health checks excluded). */
  requests: number;
  /** Users currently warm in the cache. */
  users: number;
  /** Requests with a session key that found it cold (and paid the delay). */
  coldHits: number;
  /** Requests with a session key that found it warm. */
  warmHits: number;
}

/** Thrown to requests still waiting when the replica shuts down. */
export class ReplicaClosingError extends Error {
  constructor() {
    super('replica is shutting down');
    this.name = 'ReplicaClosingError';
  }
}

/** A session key is usable when non-empty and at most MAX_USER_LENGTH characters. */
export function checkUser(user: string | undefined): { ok: true; user: string | undefined } | { ok: false; message: string } {
  if (user === undefined || user === '') return { ok: true, user: undefined };
  if (user.length > MAX_USER_LENGTH) return { ok: false, message: `session key longer than ${MAX_USER_LENGTH} characters` };
  return { ok: true, user };
}

/**
 * What both protocols share: the per-user cache, the cold-path delay and the counters.
 * Concurrent first requests for one user share a single warm-up (both are cold).
 */
export class SessionCore {
  private readonly cache: SessionCache;
  private readonly warming = new Map<string, Promise<void>>();
  private readonly closing = new AbortController();
  private requests = 0;
  private coldHits = 0;
  private warmHits = 0;

  constructor(
    private readonly coldDelayMs: number,
    capacity: number,
  ) {
    this.cache = new SessionCache(capacity);
    // Every in-flight cold request listens on this one signal; many at once is normal.
    setMaxListeners(0, this.closing.signal);
  }

  async serve(user: string | undefined): Promise<ServeResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (this.closing.signal.aborted) throw new ReplicaClosingError();
    this.requests++;
    if (user === undefined) return { cached: false, latencyMs: elapsed() };
    if (this.cache.touch(user)) {
      this.warmHits++;
      return { cached: true, latencyMs: elapsed() };
    }
    this.coldHits++;
    let warmUp = this.warming.get(user);
    if (!warmUp) {
      warmUp = this.sleepAtLeast(this.coldDelayMs)
        .then(() => this.cache.add(user))
        .finally(() => this.warming.delete(user));
      this.warming.set(user, warmUp);
    }
    await warmUp;
    return { cached: false, latencyMs: elapsed() };
  }

  stats(): ReplicaStats {
    return { requests: this.requests, users: this.cache.size, coldHits: this.coldHits, warmHits: this.warmHits };
  }

  /** Fails every request still in its cold delay, and every later one. */
  close(): void {
    this.closing.abort();
  }

  // Timers may fire a little early; loop so a cold request never reports less than the delay.
  private async sleepAtLeast(ms: number): Promise<void> {
    const end = performance.now() + ms;
    for (let left = ms; left > 0; left = end - performance.now()) {
      try {
        await sleep(Math.ceil(left), undefined, { signal: this.closing.signal });
      } catch {
        throw new ReplicaClosingError();
      }
    }
  }
}
