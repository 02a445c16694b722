import { frozenJson } from '../util/frozen-json';
import { listWindow } from '../util/list-window';
import { runSteps, stepDue, type Steps } from '../util/steps';

/**
 * A version stored as the change against a checkpoint (a version stored whole): a one-route
 * edit of a 10,000-service config writes one service entry, not the 4.6 MB document. The
 * patch lists the document's top-level keys in order, each kept from the checkpoint, given
 * whole, or, for a list (`services`, `backends`...), as runs of the checkpoint's entries
 * (`[start, count]`) and new entries (`{"v": entry}`). Every patch is against a checkpoint,
 * never against another patch, so a version reads back from at most two files.
 */
export type PatchItem = [number, number] | { v: unknown };
export type PatchKey = [string, { same: 1 } | { value: unknown } | { list: PatchItem[] }];

export interface PatchBody {
  base: { version: number; sha256: string };
  keys: PatchKey[];
}

type Doc = Record<string, unknown>;

/** What a store remembers of its checkpoint to diff the next versions against it. */
export class Checkpoint {
  /** Per list key: each checkpoint entry's index, by identity and (built on a miss) by JSON. */
  private readonly byObject = new Map<string, Map<unknown, number>>();
  private readonly byJson = new Map<string, Map<string, number>>();
  /** The last diffSteps result, for diff() of the same document (see diffSteps). */
  private prepared: { document: Doc; maxAddedBytes: number; result: { keys: PatchKey[]; addedBytes: number } | undefined } | undefined;
  private readonly lastMapped = new Map<string, { list: readonly unknown[]; at: Int32Array; bytes: Float64Array; added: number }>();

  constructor(
    readonly version: number,
    readonly sha256: string,
    readonly document: Doc,
    /** Length of the checkpoint's record JSON: a patch much smaller than this is worth writing. */
    readonly bytes: number,
  ) {}

  /**
   * The patch of `document` against this checkpoint and the JSON length of what it adds, or
   * undefined when it would add more than `maxAddedBytes`.
   */
  diff(document: Doc, maxAddedBytes = Infinity): { keys: PatchKey[]; addedBytes: number } | undefined {
    const known = this.prepared;
    if (known && known.document === document && known.maxAddedBytes === maxAddedBytes) return known.result;
    return runSteps(this.diffSteps(document, maxAddedBytes));
  }

  /**
   * diff as steps, a step per few entries mapped (a whole new config of 10,000 services in
   * event-loop turns); the result is remembered for the next diff() of the same frozen document
   * (FileStore.prepareCommit runs this ahead of the commit, whose own part is synchronous).
   */
  *diffSteps(document: Doc, maxAddedBytes = Infinity): Steps<{ keys: PatchKey[]; addedBytes: number } | undefined> {
    const result = yield* this.patchSteps(document, maxAddedBytes);
    this.prepared = Object.isFrozen(document) ? { document, maxAddedBytes, result } : undefined;
    return result;
  }

  private *patchSteps(document: Doc, maxAddedBytes: number): Steps<{ keys: PatchKey[]; addedBytes: number } | undefined> {
    const keys: PatchKey[] = [];
    let addedBytes = 0;
    for (const [key, value] of Object.entries(document)) {
      if (value === undefined) continue;
      const before = Object.prototype.hasOwnProperty.call(this.document, key) ? this.document[key] : undefined;
      if (value === before || (!Array.isArray(value) && before !== undefined && frozenJson(value) === frozenJson(before))) {
        keys.push([key, { same: 1 }]);
      } else if (Array.isArray(value) && Array.isArray(before)) {
        // Past the budget the caller writes the whole version: stop comparing (a whole new config).
        const mapped = yield* this.mapList(key, before, value, maxAddedBytes - addedBytes);
        if (!mapped) return undefined;
        addedBytes += mapped.added;
        keys.push([key, { list: runs(value, mapped.at) }]);
      } else {
        keys.push([key, { value }]);
        addedBytes += frozenJson(value).length;
        if (addedBytes > maxAddedBytes) return undefined;
      }
    }
    return { keys, addedBytes };
  }

  /**
   * Per entry of `value`, its index in the checkpoint's list (-1: new), and the JSON length of
   * the new ones; undefined past `budget`. The last list mapped is remembered: the next one,
   * an edit of it, is mapped in the window where the two differ (util/list-window.ts).
   */
  private *mapList(key: string, before: unknown[], value: readonly unknown[], budget: number): Steps<{ at: Int32Array; added: number } | undefined> {
    const last = this.lastMapped.get(key);
    const w = last ? listWindow(last.list, value) : { start: 0, end: value.length, beforeEnd: 0 };
    const at = new Int32Array(value.length);
    const bytes = new Float64Array(value.length);
    let added = 0;
    if (last) {
      at.set(last.at.subarray(0, w.start));
      bytes.set(last.bytes.subarray(0, w.start));
      at.set(last.at.subarray(w.beforeEnd), w.end);
      bytes.set(last.bytes.subarray(w.beforeEnd), w.end);
      added = last.added;
      for (let i = w.start; i < w.beforeEnd; i++) added -= last.bytes[i]!;
    }
    // Entries that are not the checkpoint's objects are looked up by their JSON: that index is built in steps too.
    if (w.end - w.start > 64) yield* this.jsonIndexSteps(key, before);
    for (let i = w.start; i < w.end; i++) {
      const entry = value[i];
      if (stepDue()) yield;
      const index = this.indexOf(key, before, entry);
      at[i] = index ?? -1;
      if (index !== undefined) continue;
      bytes[i] = frozenJson(entry).length;
      added += bytes[i]!;
      if (added > budget) return undefined;
    }
    if (added > budget) return undefined;
    // Compared by identity next time: only a list that cannot change.
    if (Object.isFrozen(value)) this.lastMapped.set(key, { list: value, at, bytes, added });
    else this.lastMapped.delete(key);
    return { at, added };
  }

  private *jsonIndexSteps(key: string, list: unknown[]): Steps<void> {
    if (this.byJson.has(key)) return;
    const texts = new Map<string, number>();
    for (let i = 0; i < list.length; i++) {
      const text = frozenJson(list[i]);
      if (!texts.has(text)) texts.set(text, i);
      if (stepDue()) yield;
    }
    this.byJson.set(key, texts);
  }

  private indexOf(key: string, list: unknown[], entry: unknown): number | undefined {
    let objects = this.byObject.get(key);
    if (!objects) {
      objects = new Map(list.map((e, i) => [e, i]));
      this.byObject.set(key, objects);
    }
    const at = objects.get(entry);
    if (at !== undefined || typeof entry !== 'object' || entry === null) return at;
    // Not the same object (the document was read back from disk, or rebuilt): the same JSON.
    let texts = this.byJson.get(key);
    if (!texts) {
      texts = new Map();
      list.forEach((e, i) => {
        const text = frozenJson(e);
        if (!texts!.has(text)) texts!.set(text, i);
      });
      this.byJson.set(key, texts);
    }
    return texts.get(frozenJson(entry));
  }
}

/** The patch items of `value`: runs of the checkpoint's entries (`at` >= 0) and the new entries. */
function runs(value: readonly unknown[], at: Int32Array): PatchItem[] {
  const items: PatchItem[] = [];
  let run: [number, number] | undefined;
  for (let i = 0; i < at.length; i++) {
    const index = at[i]!;
    if (index < 0) {
      items.push({ v: value[i] });
      run = undefined;
    } else if (run && run[0] + run[1] === index) {
      run[1]++;
    } else {
      run = [index, 1];
      items.push(run);
    }
  }
  return items;
}

/** The document a patch describes, sharing the checkpoint's unchanged entries; undefined when the patch is malformed. */
export function applyPatch(base: Doc, keys: unknown): Doc | undefined {
  if (!Array.isArray(keys)) return undefined;
  const out: Doc = {};
  // A key named __proto__ stays an own field, as JSON.parse keeps it.
  const set = (key: string, value: unknown) => Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  for (const item of keys) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || !isObject(item[1])) return undefined;
    const [key, spec] = item as [string, Doc];
    if (spec.same === 1) {
      if (!Object.prototype.hasOwnProperty.call(base, key)) return undefined;
      set(key, base[key]);
    } else if ('value' in spec) {
      set(key, spec.value);
    } else if (Array.isArray(spec.list)) {
      const from = base[key];
      if (!Array.isArray(from)) return undefined;
      const list: unknown[] = [];
      for (const run of spec.list) {
        if (Array.isArray(run)) {
          const [start, count] = run as unknown[];
          if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || (start as number) < 0 || (count as number) < 1) return undefined;
          if ((start as number) + (count as number) > from.length) return undefined;
          for (let i = start as number; i < (start as number) + (count as number); i++) list.push(from[i]);
        } else if (isObject(run) && 'v' in run) {
          list.push(run.v);
        } else {
          return undefined;
        }
      }
      set(key, list);
    } else {
      return undefined;
    }
  }
  return out;
}

function isObject(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
