/**
 * WaitForRollout: watches the node registry until the selected nodes have applied a config
 * version, one of them rejects it, or time runs out.
 *
 * Semantics:
 *  - A node is a node id; it has applied version V when every ADS stream it has open reports
 *    an applied config version >= V (numerically: a newer version includes the older one).
 *  - Selected: the named node ids, else every connected node (of `kind`, when set), looked
 *    up afresh on each change (a node that disconnects stops counting; one that connects
 *    joins). Named ids that are not connected stay pending until they connect.
 *  - CONVERGED needs no selected node pending and at least `minNodes` selected nodes
 *    connected (so all of them applied V). With `minNodes` 0, no node named and none
 *    connected, the rollout has converged at once: there is nobody to wait for. `tether wait`
 *    asks for 1, so "no Envoy connected yet" waits (and times out) rather than succeeds.
 *  - FAILED when a selected node that has not applied V has a NACK as its latest answer for
 *    some type, and that NACK came after V was published (`nackCutoff`); or when one of its
 *    streams is blocked on a version >= V: what the node should hold of some type is exactly
 *    a version it rejected earlier (a new config can reproduce rejected bytes), which is not
 *    resent, so the node cannot get there. Any other older NACK does not fail the rollout:
 *    the node may still accept the newer push; if it never does, the rollout times out.
 *  - Progress (WAITING) is sent at most every `throttleMs`; the final state at once.
 */
import type { NodeKind } from '../model/node-targets';
import type { NodeRegistry, NodeStatus } from '../xds/node-status';
import { activeNack, appliedVersionOf, blockedVersionOf } from './status';

export type RolloutState = 'WAITING' | 'CONVERGED' | 'FAILED' | 'TIMED_OUT';

export interface RolloutSelection {
  /** Only these node ids; empty → every connected node. */
  nodeIds: readonly string[];
  kind?: NodeKind;
  /** Selected nodes that must be connected (and have applied the version) to converge. Default 0. */
  minNodes?: number;
}

export interface RolloutView {
  state: RolloutState;
  /** Node ids, sorted. */
  applied: string[];
  pending: string[];
  /** Streams that rejected the version. */
  nacked: NodeStatus[];
  /** Selected node ids with at least one stream open. */
  connected: number;
}

/** One look at the nodes: pure, so the semantics above are testable without streams. */
export function evaluateRollout(nodes: readonly NodeStatus[], target: number, selection: RolloutSelection, nackCutoff: Date): RolloutView {
  const named = new Set(selection.nodeIds);
  const streamsById = new Map<string, NodeStatus[]>();
  for (const id of named) streamsById.set(id, []);
  for (const node of nodes) {
    if (selection.kind && node.kind !== selection.kind) continue;
    if (named.size > 0 && !named.has(node.nodeId)) continue;
    const list = streamsById.get(node.nodeId) ?? [];
    list.push(node);
    streamsById.set(node.nodeId, list);
  }
  const applied: string[] = [];
  const pending: string[] = [];
  const nacked: NodeStatus[] = [];
  let connected = 0;
  for (const [id, streams] of streamsById) {
    if (streams.length > 0) connected++;
    const lagging = streams.filter((s) => appliedVersionOf(s) < target);
    if (streams.length > 0 && lagging.length === 0) applied.push(id);
    else pending.push(id);
    for (const s of lagging) {
      const rejected =
        blockedVersionOf(s) >= target ||
        Object.values(s.types).some((t) => {
          const nack = t && activeNack(t);
          return !!nack && nack.at.getTime() >= nackCutoff.getTime();
        });
      if (rejected) nacked.push(s);
    }
  }
  applied.sort();
  pending.sort();
  const converged = pending.length === 0 && applied.length >= (selection.minNodes ?? 0);
  const state: RolloutState = nacked.length > 0 ? 'FAILED' : converged ? 'CONVERGED' : 'WAITING';
  return { state, applied, pending, nacked, connected };
}

export interface WatchRolloutOptions {
  registry: NodeRegistry;
  target: number;
  selection: RolloutSelection;
  /** NACKs at or after this time fail the rollout (when the target version was published). */
  nackCutoff: Date;
  /** Epoch ms after which the rollout is TIMED_OUT. */
  deadline: number;
  /** Minimum gap between WAITING messages (default 100 ms). */
  throttleMs?: number;
  /** Called with each progress view; `done` on the last one, after which nothing more is called. */
  emit: (view: RolloutView, done: boolean) => void;
}

/** setTimeout fires at once for delays past 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Starts watching; emits a first view immediately (or the final one, when already decided).
 * Returns the cancel function, which removes the registry listener and every timer.
 */
export function watchRollout(options: WatchRolloutOptions): () => void {
  const { registry, target, selection, nackCutoff, emit } = options;
  const throttleMs = options.throttleMs ?? 100;
  let finished = false;
  let lastSent = 0;
  let scheduled: NodeJS.Immediate | undefined;
  let throttleTimer: NodeJS.Timeout | undefined;

  const cleanup = (): void => {
    finished = true;
    unsubscribe();
    clearTimeout(deadlineTimer);
    clearTimeout(throttleTimer);
    if (scheduled) clearImmediate(scheduled);
  };
  const view = (): RolloutView => evaluateRollout(registry.list(), target, selection, nackCutoff);
  // A throwing `emit` must not escape from a timer (that would end the process).
  const send = (v: RolloutView, done: boolean): void => {
    try {
      emit(v, done);
    } catch {
      cleanup();
    }
  };
  const finish = (v: RolloutView): void => {
    cleanup();
    send(v, true);
  };
  const evaluate = (): void => {
    scheduled = undefined;
    if (finished) return;
    const v = view();
    if (v.state !== 'WAITING') return finish(v);
    const wait = lastSent + throttleMs - Date.now();
    if (wait > 0) {
      throttleTimer ??= setTimeout(() => {
        throttleTimer = undefined;
        evaluate();
      }, wait);
      return;
    }
    lastSent = Date.now();
    send(v, false);
  };

  // Registry listeners run inside the xDS streams' own processing: only note the change
  // here. One evaluation per burst of changes; a final state is sent without throttling.
  const unsubscribe = registry.onChange(() => {
    if (!finished && !scheduled) scheduled = setImmediate(evaluate);
  });
  const deadlineTimer = setTimeout(
    () => {
      if (finished) return;
      const v = view();
      finish(v.state === 'WAITING' ? { ...v, state: 'TIMED_OUT' } : v);
    },
    Math.min(MAX_TIMER_MS, Math.max(0, options.deadline - Date.now())),
  );
  evaluate();
  return cleanup;
}
