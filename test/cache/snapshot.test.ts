import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildSnapshot, EncodeCache, resourcesVersion } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { decodeMessage } from '../../src/envoy/encode';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { mesh, type MeshSpec } from '../xds/fixtures/resources';

const SPEC: MeshSpec = { services: { b: 'c2', a: 'c1' }, clusters: { c2: [9002], c1: [9001] } };

describe('buildSnapshot', () => {
  it('encodes each resource into an Any keyed by name, sorted, with a content hash', () => {
    const snap = buildSnapshot(mesh(SPEC), 'grpc', 'cfg-1');
    expect(snap.kind).toBe('grpc');
    expect(snap.configVersion).toBe('cfg-1');
    expect([...snap.sets[CLUSTER_TYPE].resources.keys()]).toEqual(['c1', 'c2']);
    expect([...snap.sets[ENDPOINT_TYPE].resources.keys()]).toEqual(['c1', 'c2']);
    expect([...snap.sets[LISTENER_TYPE].resources.keys()]).toEqual(['a', 'b']);
    expect([...snap.sets[ROUTE_TYPE].resources.keys()]).toEqual(['a', 'b']);
    const c1 = snap.sets[CLUSTER_TYPE].resources.get('c1')!;
    expect(c1.hash).toMatch(/^[0-9a-f]{16}$/);
    const anyType = lookupEnvoyType('google.protobuf.Any');
    const any = anyType.toObject(anyType.decode(c1.anyBytes)) as { type_url: string; value: Uint8Array };
    expect(any.type_url).toBe(CLUSTER_TYPE);
    expect(decodeMessage('envoy.config.cluster.v3.Cluster', any.value)).toMatchObject({ name: 'c1', type: 'EDS' });
  });

  it('derives versions from content only: stable across builds and config versions', () => {
    const one = buildSnapshot(mesh(SPEC), 'envoy', 'cfg-1');
    const two = buildSnapshot(mesh(SPEC), 'envoy', 'cfg-2');
    expect(two.contentVersion).toBe(one.contentVersion);
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE] as const) {
      expect(two.sets[t].version).toBe(one.sets[t].version);
    }
    const changed = buildSnapshot(mesh({ ...SPEC, clusters: { c1: [9001], c2: [9003] } }), 'envoy', 'cfg-3');
    expect(changed.sets[ENDPOINT_TYPE].version).not.toBe(one.sets[ENDPOINT_TYPE].version);
    expect(changed.sets[CLUSTER_TYPE].version).toBe(one.sets[CLUSTER_TYPE].version);
    expect(changed.contentVersion).not.toBe(one.contentVersion);
  });

  it('computes a type version as the version of all its resources (so subsets use the same function)', () => {
    const snap = buildSnapshot(mesh(SPEC), 'envoy', 'cfg-1');
    const set = snap.sets[ROUTE_TYPE];
    expect(resourcesVersion([...set.resources.values()].reverse())).toBe(set.version);
    expect(resourcesVersion([set.resources.get('a')!])).not.toBe(set.version);
  });

  it('refuses duplicate and missing names, and invalid messages', () => {
    const dup = mesh(SPEC);
    dup.clusters.push({ ...dup.clusters[0]! });
    expect(() => buildSnapshot(dup, 'envoy', 'x')).toThrow(/duplicate resource name "c2"/);
    const unnamed = mesh(SPEC);
    unnamed.routes.push({ virtual_hosts: [] });
    expect(() => buildSnapshot(unnamed, 'envoy', 'x')).toThrow(/needs a name/);
    const bad = mesh(SPEC);
    bad.clusters.push({ name: 'z', lb_policy: 'NOPE' } as never);
    expect(() => buildSnapshot(bad, 'envoy', 'x')).toThrow(/unknown enum value "NOPE"/);
  });

  it('is immutable', () => {
    const snap = buildSnapshot(mesh(SPEC), 'envoy', 'cfg-1');
    expect(Object.isFrozen(snap)).toBe(true);
    expect(Object.isFrozen(snap.sets)).toBe(true);
    expect(Object.isFrozen(snap.sets[CLUSTER_TYPE].resources.get('c1'))).toBe(true);
  });
});

describe('a type translated anew with one resource changed (proxyless route configurations)', () => {
  it('is the previous set with that resource replaced: patchOf names it, the others keep their entries, content equals a fresh build', () => {
    // More resources than a patch may replace, every message a new object: the set is built anew, then seen as a patch.
    const spec = (first: string) => ({
      services: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`s${i}`, i === 0 ? first : `c${i}`])),
      clusters: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`c${i}`, [9000 + i]])),
    });
    const cache = new EncodeCache();
    const before = buildSnapshot(mesh(spec('c0')), 'grpc', 'v1', cache).sets[ROUTE_TYPE];
    cache.endBuild();
    const after = buildSnapshot(mesh(spec('c1')), 'grpc', 'v2', cache).sets[ROUTE_TYPE];
    const fresh = buildSnapshot(mesh(spec('c1')), 'grpc', 'v2').sets[ROUTE_TYPE];
    expect(after.patchOf?.from).toBe(before);
    expect(after.patchOf?.names).toEqual(['s0']);
    expect(after.version).toBe(fresh.version);
    expect(after.list.map((r) => [r.name, r.hash])).toEqual(fresh.list.map((r) => [r.name, r.hash]));
    expect(after.resources.get('s0')!.refs).toEqual(['c1']);
    for (let i = 0; i < after.list.length; i++) if (after.list[i]!.name !== 's0') expect(after.list[i]).toBe(before.list[i]);
    // Nothing changed: the previous set itself.
    cache.endBuild();
    expect(buildSnapshot(mesh(spec('c1')), 'grpc', 'v3', cache).sets[ROUTE_TYPE]).toBe(after);
  });
});

describe('SnapshotCache', () => {
  it("stores one snapshot per kind and tells only that kind's watchers", () => {
    const cache = new SnapshotCache();
    const seen: string[] = [];
    const stop = cache.watch('grpc', (s, prev) => seen.push(`${s.configVersion}<-${prev?.configVersion ?? 'none'}`));
    cache.set('envoy', buildSnapshot(mesh(SPEC), 'envoy', 'e1'));
    expect(cache.set('grpc', buildSnapshot(mesh(SPEC), 'grpc', 'g1'))).toBe(true);
    expect(cache.get('grpc')?.configVersion).toBe('g1');
    expect(cache.get('envoy')?.configVersion).toBe('e1');
    expect(seen).toEqual(['g1<-none']);
    stop();
    cache.set('grpc', buildSnapshot(mesh({ ...SPEC, clusters: { c1: [1] } }), 'grpc', 'g2'));
    expect(seen).toEqual(['g1<-none']);
    expect(cache.watcherCount('grpc')).toBe(0);
  });

  it('ignores an identical snapshot, and announces a content-identical one with a new config version', () => {
    const cache = new SnapshotCache();
    let calls = 0;
    cache.watch('envoy', () => calls++);
    cache.set('envoy', buildSnapshot(mesh(SPEC), 'envoy', 'v1'));
    expect(cache.set('envoy', buildSnapshot(mesh(SPEC), 'envoy', 'v1'))).toBe(false);
    expect(calls).toBe(1);
    expect(cache.set('envoy', buildSnapshot(mesh(SPEC), 'envoy', 'v2'))).toBe(true);
    expect(calls).toBe(2);
    expect(cache.get('envoy')?.configVersion).toBe('v2');
  });

  it('refuses a snapshot of the wrong kind and runs every watcher even if one throws', () => {
    const cache = new SnapshotCache();
    expect(() => cache.set('envoy', buildSnapshot(mesh(SPEC), 'grpc', 'v1'))).toThrow(/grpc nodes set as envoy/);
    let ran = false;
    cache.watch('envoy', () => {
      throw new Error('boom');
    });
    cache.watch('envoy', () => {
      ran = true;
    });
    expect(() => cache.set('envoy', buildSnapshot(mesh(SPEC), 'envoy', 'v1'))).toThrow('boom');
    expect(ran).toBe(true);
  });
});

describe('SnapshotCache debounce', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const snapshots = (n: number) =>
    Array.from({ length: n }, (_, i) => buildSnapshot(mesh({ services: { a: 'c1' }, clusters: { c1: [9000 + i] } }), 'envoy', `cfg-${i}`));

  it('pushes the first snapshot at once and a burst after it once, as its latest, at the end of the window', () => {
    vi.useFakeTimers();
    const cache = new SnapshotCache({ debounceMs: 100 });
    const seen: [string, string | undefined][] = [];
    cache.watch('envoy', (s, prev) => seen.push([s.configVersion, prev?.configVersion]));
    const [s0, s1, s2, s3, s4] = snapshots(5);
    cache.set('envoy', s0!);
    expect(seen).toEqual([['cfg-0', undefined]]);
    vi.advanceTimersByTime(10);
    cache.set('envoy', s1!);
    cache.set('envoy', s2!);
    cache.set('envoy', s3!);
    // New streams start from the latest at once; watchers wait for the window to end.
    expect(cache.get('envoy')).toBe(s3);
    expect(seen).toHaveLength(1);
    vi.advanceTimersByTime(89);
    expect(seen).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual([['cfg-0', undefined], ['cfg-3', 'cfg-0']]);
    expect(cache.stats).toEqual({ announced: 2, coalesced: 2 });
    // After a quiet window, the next one goes at once again.
    vi.advanceTimersByTime(500);
    cache.set('envoy', s4!);
    expect(seen.at(-1)).toEqual(['cfg-4', 'cfg-3']);
  });

  it('without debounce every snapshot is pushed at once', () => {
    const cache = new SnapshotCache();
    const seen: string[] = [];
    cache.watch('envoy', (s) => seen.push(s.configVersion));
    for (const s of snapshots(3)) cache.set('envoy', s);
    expect(seen).toEqual(['cfg-0', 'cfg-1', 'cfg-2']);
  });
});
