import type { NodeTarget } from '../model/node-targets';
import type { Snapshot } from './snapshot';

export type SnapshotWatcher = (snapshot: Snapshot, previous: Snapshot | undefined) => void;

/**
 * All an xDS server knows about where configuration comes from. The cache knows nothing
 * of gRPC; the server knows nothing of how snapshots are built.
 */
export interface SnapshotSource {
  get(target: NodeTarget): Snapshot | undefined;
  /**
   * Calls `fn` after each `set` that changed the target's snapshot; returns the unsubscribe.
   * Watching a target that has no snapshot yet asks the demand handler for one (setDemandHandler).
   */
  watch(target: NodeTarget, fn: SnapshotWatcher): () => void;
  /**
   * A watcher is about to write a push; the callback it returns (if any) is for when the write
   * has been handed to the socket. The rest of an announce goes out from the last of the first
   * watchers' callbacks (see FIRST_WATCHERS).
   */
  beginPush?(): (() => void) | undefined;
}

/** Told (asynchronously) that a target with no snapshot is being watched: older Envoy levels are built on demand. */
export type DemandHandler = (target: NodeTarget) => void;

export interface SnapshotCacheOptions {
  /**
   * Coalesces bursts: after a push, further snapshots of the same kind within this many ms
   * are pushed once, at the end of the window, as the latest of them. The first snapshot
   * after a quiet period is pushed at once, so a single edit is never delayed. 0 (default)
   * pushes every snapshot immediately. `get()` always returns the latest snapshot.
   */
  debounceMs?: number;
}

interface KindState {
  /** Latest snapshot set. */
  current?: Snapshot;
  /** Latest snapshot watchers were told about. */
  announced?: Snapshot;
  lastAnnounceAt: number;
  timer?: NodeJS.Timeout;
  /** The watchers of the latest announce not told yet (see FIRST_WATCHERS). */
  rest?: NodeJS.Immediate;
}

/** The rest of an announce, waiting for the first watchers' pushes to be written. */
interface PendingRest {
  /** Pushes begun by the first watchers and not yet written. */
  writing: number;
  run: () => void;
}

/**
 * Watchers told at once when a snapshot is announced; the others a moment later. A stream's
 * push reaches its socket only once the loop gets to HTTP/2's own (native) immediates: told all
 * at once, 100 streams' writes took ~2.5 ms (more on a loaded box) before the first client got a
 * byte. This way the first ones go out while the rest are written, and the clients' work
 * overlaps with Tether's. The rest are told when the last push of the first ones has been
 * written (beginPush): that callback runs inside HTTP/2's immediates, so their writes are sent in
 * the same pass, before the loop reads any request (an ACK of the first ones). Without such a
 * push (other watchers, nothing to send) they are told in an immediate.
 */
export const FIRST_WATCHERS = 16;

/** The current snapshot per node kind; tells watchers (the xDS streams) about changes. */
export class SnapshotCache implements SnapshotSource {
  private readonly kinds = new Map<NodeTarget, KindState>();
  private readonly watchers = new Map<NodeTarget, Set<SnapshotWatcher>>();
  private readonly debounceMs: number;
  private demand?: DemandHandler;
  private readonly announcedListeners = new Set<(kind: NodeTarget, snapshot: Snapshot) => void>();
  /** The announce whose first watchers are being told now: their pushes are counted (beginPush). */
  private counting: PendingRest | undefined;
  /** Pushes announced, and snapshots that were superseded within a debounce window. */
  readonly stats = { announced: 0, coalesced: 0 };

  constructor(options: SnapshotCacheOptions = {}) {
    this.debounceMs = Math.max(0, options.debounceMs ?? 0);
  }

  /**
   * Replaces the kind's snapshot and tells its watchers (now, or at the end of the debounce
   * window). A snapshot equal in content and config version to the current one is a no-op
   * (returns false). A content-identical snapshot with a new config version is stored and
   * announced: streams push nothing (per-type versions are unchanged) but can report that
   * nodes are at the new config version.
   */
  set(kind: NodeTarget, snapshot: Snapshot): boolean {
    if (snapshot.target !== kind) throw new Error(`snapshot for ${snapshot.target} nodes set as ${kind}`);
    const st = this.stateOf(kind);
    const previous = st.current;
    if (previous && previous.contentVersion === snapshot.contentVersion && previous.configVersion === snapshot.configVersion) {
      return false;
    }
    st.current = snapshot;
    if (st.timer) {
      this.stats.coalesced++;
      return true;
    }
    const wait = st.lastAnnounceAt + this.debounceMs - Date.now();
    if (this.debounceMs === 0 || wait <= 0) {
      this.announce(kind, st);
    } else {
      st.timer = setTimeout(() => {
        st.timer = undefined;
        try {
          this.announce(kind, st);
        } catch {
          // Watchers report their own failures; nobody is waiting on a timer.
        }
      }, wait);
      st.timer.unref?.();
    }
    return true;
  }

  /**
   * Makes `snapshot`, equal in bytes to the current one (the caller checked: a restart's
   * persisted snapshot and its fresh build), the current and announced one without telling
   * watchers: nothing changed for them, and the replaced one is no longer held here.
   */
  adopt(kind: NodeTarget, snapshot: Snapshot): void {
    const st = this.stateOf(kind);
    const previous = st.current;
    if (!previous || previous.contentVersion !== snapshot.contentVersion || previous.configVersion !== snapshot.configVersion || snapshot.target !== kind) {
      throw new Error(`adopt: the ${kind} snapshot is not the current one's equal`);
    }
    st.current = snapshot;
    if (st.announced === previous) st.announced = snapshot;
  }

  private announce(kind: NodeTarget, st: KindState): void {
    const snapshot = st.current!;
    const previous = st.announced;
    st.announced = snapshot;
    st.lastAnnounceAt = Date.now();
    this.stats.announced++;
    // A newer announce tells every watcher the newer snapshot: the rest of this one is moot.
    if (st.rest) clearImmediate(st.rest);
    st.rest = undefined;
    const watchers = [...(this.watchers.get(kind) ?? [])];
    const tell = (from: number, to: number): unknown[] => {
      const errors: unknown[] = [];
      for (let i = from; i < to; i++) {
        try {
          watchers[i]!(snapshot, previous);
        } catch (err) {
          errors.push(err);
        }
      }
      return errors;
    };
    let pending: PendingRest | undefined;
    if (watchers.length > FIRST_WATCHERS) {
      const rest: PendingRest = { writing: 0, run: () => undefined };
      const immediate = setImmediate(() => rest.run());
      rest.run = () => {
        // Already told, or a newer announce (or close()) replaced this one.
        if (st.rest !== immediate) return;
        clearImmediate(immediate);
        st.rest = undefined;
        // Watchers report their own failures (streams end themselves); nobody is waiting here.
        tell(FIRST_WATCHERS, watchers.length);
        this.announcedAll(kind, snapshot);
      };
      st.rest = immediate;
      pending = rest;
    }
    // The first watchers' pushes are counted; the last one written tells the rest (beginPush).
    // With none begun, the immediate does.
    const outer = this.counting;
    this.counting = pending;
    let errors: unknown[];
    try {
      errors = tell(0, Math.min(FIRST_WATCHERS, watchers.length));
    } finally {
      this.counting = outer;
    }
    if (!st.rest) this.announcedAll(kind, snapshot);
    // Every watcher ran; a failing one must not starve the others.
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} snapshot watchers failed`);
  }

  beginPush(): (() => void) | undefined {
    const pending = this.counting;
    if (!pending) return undefined;
    pending.writing++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // Not while the first watchers are still being told: then the immediate does it.
      if (--pending.writing === 0 && this.counting !== pending) pending.run();
    };
  }

  private announcedAll(kind: NodeTarget, snapshot: Snapshot): void {
    for (const fn of this.announcedListeners) {
      try {
        fn(kind, snapshot);
      } catch {
        // a listener's own failure: nothing to undo here
      }
    }
  }

  /**
   * Calls `fn` each time every watcher of a kind has been told of a snapshot (for the
   * benchmarks' timing: the rest of an announce runs a moment after `set` returned).
   */
  onAnnounced(fn: (kind: NodeTarget, snapshot: Snapshot) => void): () => void {
    this.announcedListeners.add(fn);
    return () => {
      this.announcedListeners.delete(fn);
    };
  }

  get(kind: NodeTarget): Snapshot | undefined {
    return this.kinds.get(kind)?.current;
  }

  watch(kind: NodeTarget, fn: SnapshotWatcher): () => void {
    let set = this.watchers.get(kind);
    if (!set) this.watchers.set(kind, (set = new Set()));
    set.add(fn);
    if (!this.kinds.get(kind)?.current && this.demand) {
      const demand = this.demand;
      // After the watcher's own setup: a snapshot built now reaches it through `fn`.
      queueMicrotask(() => {
        if (!this.kinds.get(kind)?.current) demand(kind);
      });
    }
    return () => {
      set.delete(fn);
    };
  }

  /** Who builds snapshots for targets that nobody set yet (the publisher). */
  setDemandHandler(handler: DemandHandler | undefined): void {
    this.demand = handler;
  }

  /** Number of watchers of a kind (streams currently attached). */
  watcherCount(kind: NodeTarget): number {
    return this.watchers.get(kind)?.size ?? 0;
  }

  /** Cancels pending debounced pushes and the rest of an announce (shutdown). */
  close(): void {
    for (const st of this.kinds.values()) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      if (st.rest) clearImmediate(st.rest);
      st.rest = undefined;
    }
  }

  private stateOf(kind: NodeTarget): KindState {
    let st = this.kinds.get(kind);
    if (!st) this.kinds.set(kind, (st = { lastAnnounceAt: -Infinity }));
    return st;
  }
}
