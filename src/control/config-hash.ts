import { createHash } from 'node:crypto';
import type { TetherConfig } from '../model/types';
import { runSteps, stepDue, type Steps } from '../util/steps';
import { documentListWindow, listWindow, rememberWindow } from '../util/list-window';

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

/** Entries per chunk: a list's hash is over its chunks' hashes, so an edit re-hashes its chunk. */
const CHUNK = 64;

/** What configHashSteps carries from one config to the next (one per config manager): each list's chunk hashes. */
export class HashMemo {
  readonly lists = new Map<string, { list: readonly unknown[]; chunks: readonly string[] }>();
}

/**
 * Identifies a normalised config: equal hashes mean equal routing. A hash over the plain JSON
 * of each model entry (its key order is the schema's, so the same document always hashes the
 * same); a config that differs only in the order of a map's keys counts as a change, which
 * costs a version that pushes nothing. A list hashes as the hashes of its chunks of 64 entries
 * in order. The model is frozen and an unchanged entry is the same object from version to
 * version (config/incremental.ts), so with a memo an edit hashes the chunks it changed.
 */
export function configHash(config: TetherConfig): string {
  return runSteps(configHashSteps(config));
}

/** configHash as steps, a step per few entries hashed (whole configs of 10,000 services in turns). */
export function* configHashSteps(config: TetherConfig, memo?: HashMemo): Steps<string> {
  const h = createHash('sha256');
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      h.update(`${key}=${JSON.stringify(deepFreeze(value))}\n`);
      continue;
    }
    const last = memo?.lists.get(key);
    // The entries outside the window are the last list's: their chunks are, where they did not move.
    const w = last ? listWindow(last.list, value) : undefined;
    const chunks: string[] = [];
    for (let from = 0; from < value.length; from += CHUNK) {
      const to = Math.min(value.length, from + CHUNK);
      const c = from / CHUNK;
      const kept = last && w && Math.min(last.list.length, from + CHUNK) === to && (to <= w.start || (w.end === w.beforeEnd && from >= w.end));
      if (kept && last.chunks[c] !== undefined) {
        chunks.push(last.chunks[c]!);
        continue;
      }
      const hashes: string[] = [];
      for (let i = from; i < to; i++) {
        hashes.push(entryHash(deepFreeze(value[i])));
        if (stepDue()) yield;
      }
      chunks.push(createHash('sha256').update(hashes.join(',')).digest('hex').slice(0, 32));
    }
    Object.freeze(value);
    memo?.lists.set(key, { list: value, chunks });
    h.update(`${key}=[${chunks.join(',')}]\n`);
  }
  Object.freeze(config);
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


/**
 * deepFreeze of a document as steps, one per few entries of its top-level lists. With the
 * frozen document it was edited from, only the entries in the window where a list differs are
 * visited (the rest are the previous document's, frozen already).
 */
export function* deepFreezeSteps<T extends object>(document: T, previous?: Record<string, unknown>): Steps<T> {
  if (Object.isFrozen(document)) return document;
  for (const [key, value] of Object.entries(document)) {
    if (!Array.isArray(value)) {
      deepFreeze(value);
      continue;
    }
    const { before, w } = documentListWindow(previous, key, value);
    for (let i = w.start; i < w.end; i++) {
      deepFreeze(value[i]);
      if (stepDue()) yield;
    }
    Object.freeze(value);
    if (before) rememberWindow(before, value, w);
  }
  return Object.freeze(document);
}
