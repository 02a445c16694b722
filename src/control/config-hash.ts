import { createHash } from 'node:crypto';
import type { TetherConfig } from '../model/types';
import { eachListEntry, type Steps } from '../util/steps';

const entryHashes = new WeakMap<object, string>();

/** The hash of one model entry (a service, a backend...), remembered while the entry lives. */
function entryHash(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return JSON.stringify(entry);
  let hash = entryHashes.get(entry);
  if (hash === undefined) {
    // The native serialiser: the same string as frozenJson (whose memo of every nested object
    // would serve nobody: a model entry is hashed once), several times faster on a cold start.
    hash = createHash('sha256').update(JSON.stringify(entry)).digest('hex').slice(0, 32);
    entryHashes.set(entry, hash);
  }
  return hash;
}

/**
 * Identifies a normalised config: equal hashes mean equal routing. A hash over the plain JSON
 * of each model entry (its key order is the schema's, so the same document always hashes the
 * same); a config that differs only in the order of a map's keys counts as a change, which
 * costs a version that pushes nothing. The model is frozen and an unchanged entry is the same
 * object from version to version (config/incremental.ts), so an edit hashes what it changed.
 */
export function configHash(config: TetherConfig): string {
  deepFreeze(config);
  const h = createHash('sha256');
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    h.update(`${key}=${Array.isArray(value) ? `[${value.map(entryHash).join(',')}]` : JSON.stringify(value)}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // Indexes and for-in rather than Object.values: no array per object (a model of 10,000
  // services has hundreds of thousands); plain data has no inherited enumerable keys.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}


/** configHash as steps: each list entry frozen and hashed in a step of its own (whole configs of 10,000 services in turns). */
export function* configHashSteps(config: TetherConfig): Steps<string> {
  yield* eachListEntry(config, (entry) => {
    if (typeof entry === 'object' && entry !== null && !entryHashes.has(entry)) entryHash(deepFreeze(entry));
  });
  return configHash(config);
}

/** deepFreeze of a document as steps, one per few entries of its top-level lists. */
export function* deepFreezeSteps<T extends object>(document: T): Steps<T> {
  yield* eachListEntry(document, deepFreeze);
  return deepFreeze(document);
}
