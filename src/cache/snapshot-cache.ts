import type { NodeKind } from '../translate/types';
import type { Snapshot } from './snapshot';

export type SnapshotWatcher = (snapshot: Snapshot, previous: Snapshot | undefined) => void;

/**
 * All an xDS server knows about where configuration comes from. The cache knows nothing
 * of gRPC; the server knows nothing of how snapshots are built.
 */
export interface SnapshotSource {
  get(kind: NodeKind): Snapshot | undefined;
  /** Calls `fn` after each `set` that changed the kind's snapshot; returns the unsubscribe. */
  watch(kind: NodeKind, fn: SnapshotWatcher): () => void;
}

/** The current snapshot per node kind. */
export class SnapshotCache implements SnapshotSource {
  private readonly current = new Map<NodeKind, Snapshot>();
  private readonly watchers = new Map<NodeKind, Set<SnapshotWatcher>>();

  /**
   * Replaces the kind's snapshot and tells its watchers. A snapshot equal in content and
   * config version to the current one is a no-op (returns false). A content-identical
   * snapshot with a new config version is stored and announced: streams push nothing
   * (per-type versions are unchanged) but can report that nodes are at the new config version.
   */
  set(kind: NodeKind, snapshot: Snapshot): boolean {
    if (snapshot.kind !== kind) throw new Error(`snapshot for ${snapshot.kind} nodes set as ${kind}`);
    const previous = this.current.get(kind);
    if (previous && previous.contentVersion === snapshot.contentVersion && previous.configVersion === snapshot.configVersion) {
      return false;
    }
    this.current.set(kind, snapshot);
    const errors: unknown[] = [];
    for (const fn of [...(this.watchers.get(kind) ?? [])]) {
      try {
        fn(snapshot, previous);
      } catch (err) {
        errors.push(err);
      }
    }
    // Every watcher ran; a failing one must not starve the others.
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} snapshot watchers failed`);
    return true;
  }

  get(kind: NodeKind): Snapshot | undefined {
    return this.current.get(kind);
  }

  watch(kind: NodeKind, fn: SnapshotWatcher): () => void {
    let set = this.watchers.get(kind);
    if (!set) this.watchers.set(kind, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /** Number of watchers of a kind (streams currently attached). */
  watcherCount(kind: NodeKind): number {
    return this.watchers.get(kind)?.size ?? 0;
  }
}
