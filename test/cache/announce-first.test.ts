/**
 * SnapshotCache tells the first FIRST_WATCHERS watchers of a new snapshot at once and the
 * others once the first ones' pushes are written (beginPush; from HTTP/2's own immediates, so
 * the rest go out in the same pass) or, without pushes, in an immediate.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { FIRST_WATCHERS, SnapshotCache } from '../../src/cache/snapshot-cache';
import { mesh, type MeshSpec } from '../xds/fixtures/resources';

const snapshot = (version: string, port = 9001) => {
  const spec: MeshSpec = { services: { a: 'c1' }, clusters: { c1: [port] } };
  return buildSnapshot(mesh(spec), 'envoy', version);
};

/** `n` watchers, each remembering the config versions it was told, in order. */
function watchers(cache: SnapshotCache, n: number): string[][] {
  const seen = Array.from({ length: n }, () => [] as string[]);
  seen.forEach((_s, i) => cache.watch('envoy', (snap) => seen[i]!.push(snap.configVersion)));
  return seen;
}

describe('SnapshotCache: the first watchers at once, the rest a moment later', () => {
  it(`tells ${FIRST_WATCHERS} watchers before set returns and the others in the next immediate, then says all were told`, async () => {
    const cache = new SnapshotCache();
    const seen = watchers(cache, FIRST_WATCHERS + 4);
    const announced: string[] = [];
    cache.onAnnounced((kind, s) => announced.push(`${kind}:${s.configVersion}`));
    expect(cache.set('envoy', snapshot('v1'))).toBe(true);
    expect(seen.filter((s) => s.length === 1)).toHaveLength(FIRST_WATCHERS);
    expect(seen.slice(FIRST_WATCHERS)).toEqual([[], [], [], []]);
    expect(announced).toEqual([]);
    await turn();
    expect(seen.every((s) => s.join() === 'v1')).toBe(true);
    expect(announced).toEqual(['envoy:v1']);
  });

  it('a newer snapshot before the rest were told: they are told only the newer one, and every watcher ends on it', async () => {
    const cache = new SnapshotCache();
    const seen = watchers(cache, FIRST_WATCHERS + 3);
    const announced: string[] = [];
    cache.onAnnounced((_kind, s) => announced.push(s.configVersion));
    cache.set('envoy', snapshot('v1'));
    cache.set('envoy', snapshot('v2', 9002));
    await turn();
    await turn();
    for (const s of seen.slice(0, FIRST_WATCHERS)) expect(s).toEqual(['v1', 'v2']);
    for (const s of seen.slice(FIRST_WATCHERS)) expect(s).toEqual(['v2']);
    expect(announced).toEqual(['v2']);
  });

  it('with few watchers, everything happens before set returns', () => {
    const cache = new SnapshotCache();
    const seen = watchers(cache, FIRST_WATCHERS);
    const announced: string[] = [];
    cache.onAnnounced((_kind, s) => announced.push(s.configVersion));
    cache.set('envoy', snapshot('v1'));
    expect(seen.every((s) => s.join() === 'v1')).toBe(true);
    expect(announced).toEqual(['v1']);
  });

  it('close() drops the rest of an announce', async () => {
    const cache = new SnapshotCache();
    const seen = watchers(cache, FIRST_WATCHERS + 1);
    cache.set('envoy', snapshot('v1'));
    cache.close();
    await turn();
    expect(seen[FIRST_WATCHERS]).toEqual([]);
  });

  it('with pushes begun, the rest are told when the last of them is written, not before and not again', async () => {
    const cache = new SnapshotCache();
    const written: Array<() => void> = [];
    const seen = Array.from({ length: FIRST_WATCHERS + 2 }, () => [] as string[]);
    seen.forEach((_s, i) =>
      cache.watch('envoy', (snap) => {
        seen[i]!.push(snap.configVersion);
        // Every other watcher pushes (a stream with something to send).
        if (i < FIRST_WATCHERS && i % 2 === 0) written.push(cache.beginPush()!);
      }),
    );
    const announced: string[] = [];
    cache.onAnnounced((_kind, s) => announced.push(s.configVersion));
    expect(cache.beginPush()).toBeUndefined();
    cache.set('envoy', snapshot('v1'));
    expect(written).toHaveLength(FIRST_WATCHERS / 2);
    for (const w of written.slice(0, -1)) w();
    written[0]!();
    expect(seen.slice(FIRST_WATCHERS)).toEqual([[], []]);
    written.at(-1)!();
    expect(seen.slice(FIRST_WATCHERS)).toEqual([['v1'], ['v1']]);
    expect(announced).toEqual(['v1']);
    await turn();
    expect(seen.every((s) => s.join() === 'v1')).toBe(true);
    expect(announced).toEqual(['v1']);
  });

  it('a push of an announce that a newer one replaced tells nobody', async () => {
    const cache = new SnapshotCache();
    let first: (() => void) | undefined;
    const seen = Array.from({ length: FIRST_WATCHERS + 1 }, () => [] as string[]);
    seen.forEach((_s, i) =>
      cache.watch('envoy', (snap) => {
        seen[i]!.push(snap.configVersion);
        if (i === 0 && snap.configVersion === 'v1') first = cache.beginPush();
      }),
    );
    cache.set('envoy', snapshot('v1'));
    cache.set('envoy', snapshot('v2', 9002));
    first!();
    expect(seen[FIRST_WATCHERS]).toEqual([]);
    await turn();
    expect(seen[FIRST_WATCHERS]).toEqual(['v2']);
  });
});
