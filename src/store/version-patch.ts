import { frozenJson } from '../util/frozen-json';

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
    const keys: PatchKey[] = [];
    let addedBytes = 0;
    for (const [key, value] of Object.entries(document)) {
      if (value === undefined) continue;
      const before = Object.prototype.hasOwnProperty.call(this.document, key) ? this.document[key] : undefined;
      if (value === before || (!Array.isArray(value) && before !== undefined && frozenJson(value) === frozenJson(before))) {
        keys.push([key, { same: 1 }]);
      } else if (Array.isArray(value) && Array.isArray(before)) {
        const items: PatchItem[] = [];
        for (const entry of value) {
          const at = this.indexOf(key, before, entry);
          const last = items[items.length - 1];
          if (at === undefined) {
            items.push({ v: entry });
            addedBytes += frozenJson(entry).length;
            // Past the budget the caller writes the whole version: stop comparing (a whole new config).
            if (addedBytes > maxAddedBytes) return undefined;
          } else if (Array.isArray(last) && last[0] + last[1] === at) {
            last[1]++;
          } else {
            items.push([at, 1]);
          }
        }
        keys.push([key, { list: items }]);
      } else {
        keys.push([key, { value }]);
        addedBytes += frozenJson(value).length;
        if (addedBytes > maxAddedBytes) return undefined;
      }
    }
    return { keys, addedBytes };
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
