/** What a set holds: anything named (snapshot.ts's SnapshotResource; generic so that the two files do not import each other). */
interface Named {
  readonly name: string;
}

/**
 * A resource set's map by name, read through the set's sorted list and a name → position
 * index. A set patched in place (the same names at the same positions, a few resources
 * re-encoded) shares its predecessor's index, so a one-route edit of a 10,000-resource set
 * copies a list of pointers instead of building a 10,000-entry map. Iterates in list order,
 * which is name order, like the Map a set built anew has.
 */
export class IndexedResources<R extends Named> implements ReadonlyMap<string, R> {
  constructor(
    private readonly list: readonly R[],
    /** Name → position in `list`; shared by every set patched from the same one, never modified. */
    readonly index: ReadonlyMap<string, number>,
  ) {}

  /** The index of `list`'s names (a set built anew has a Map of its own: computed once, then shared). */
  static indexOf<R extends Named>(resources: ReadonlyMap<string, R>, list: readonly R[]): ReadonlyMap<string, number> {
    if (resources instanceof IndexedResources) return resources.index;
    const index = new Map<string, number>();
    for (let i = 0; i < list.length; i++) index.set(list[i]!.name, i);
    return index;
  }

  get size(): number {
    return this.list.length;
  }

  get(name: string): R | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.list[i];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  *entries(): MapIterator<[string, R]> {
    for (const r of this.list) yield [r.name, r];
  }

  *keys(): MapIterator<string> {
    for (const r of this.list) yield r.name;
  }

  values(): MapIterator<R> {
    return this.list.values() as MapIterator<R>;
  }

  forEach(visit: (value: R, key: string, map: ReadonlyMap<string, R>) => void, thisArg?: unknown): void {
    for (const r of this.list) visit.call(thisArg, r, r.name, this);
  }

  [Symbol.iterator](): MapIterator<[string, R]> {
    return this.entries();
  }
}
