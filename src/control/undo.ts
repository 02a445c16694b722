/**
 * Which version `rollback` with no version restores: a step back, like an editor's undo.
 *
 * A rollback version holds the config of the version it restored, so for stepping back it
 * stands for that version: the step back from it is the step back from the restored one.
 * Repeated rollbacks therefore walk back through history (v5 → v4 → v3 …) instead of
 * toggling between the last two configs, and a rollback followed by an edit and a rollback
 * returns to the rolled-back state, as undo does after new typing.
 */
import type { VersionMeta } from '../store/types';

export interface UndoStep {
  /** The version whose config the current one is (itself, unless it is a rollback). */
  base: number;
  /** The version to restore; undefined when history keeps none before `base`. */
  target?: number;
}

/** `history` is the store's list (newest first, possibly cut by retention). */
export function undoStep(history: readonly VersionMeta[], current: number): UndoStep {
  const kept = new Map(history.map((m) => [m.version, m]));
  let base = current;
  // `restores` is always lower than the version holding it, so this ends.
  for (let m = kept.get(base); m?.restores !== undefined; m = kept.get(base)) base = m.restores;
  const target = history.find((m) => m.version < base)?.version;
  return target === undefined ? { base } : { base, target };
}
