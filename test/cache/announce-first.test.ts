/**
 * SnapshotCache tells the first FIRST_WATCHERS watchers of a new snapshot at once and the
 * others in an immediate, so that the first streams' pushes reach their sockets (HTTP/2 sends
 * from its own immediates) while the rest are written.
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
});
