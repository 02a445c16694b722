/**
 * The encode cache's shortcuts for an edit of a big config (cache/snapshot.ts): a route
 * configuration of many virtual hosts is spliced from the last one's framed hosts, keeping its
 * references when the changed hosts name the same clusters; a set changed in a few places is
 * patched from the previous one (sharing its name index) and the resource diff reads only the
 * patched names. Each must equal what a fresh cache builds, bytes, hashes, references and diff.
 */
import { describe, expect, it } from 'vitest';
import { buildSnapshot, EncodeCache, resourcesVersion, type Snapshot } from '../../src/cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import type { EnvoyResources } from '../../src/envoy/resources';
import type { RouteConfiguration } from '../../src/envoy/messages';
import { diffResources } from '../../src/diff/resource-diff';
import { mesh } from '../xds/fixtures/resources';

type VirtualHost = NonNullable<RouteConfiguration['virtual_hosts']>[number];

const HOSTS = 48;
const host = (i: number, clusters: readonly string[]): VirtualHost => ({
  name: `h${i}`,
  domains: [`h${i}.example.com`],
  routes: clusters.map((c, k) => ({ name: `r${k}`, match: { prefix: `/${k}` }, route: { cluster: c } })),
});

function resources(hosts: readonly VirtualHost[], clusterNames: readonly string[]): EnvoyResources {
  const base = mesh({ services: {}, clusters: Object.fromEntries(clusterNames.map((c, i) => [c, [9000 + i]])) });
  return { ...base, routes: [{ name: 'http', virtual_hosts: [...hosts], validate_clusters: { value: false } }] };
}

function expectSameAsFresh(got: Snapshot, fresh: Snapshot): void {
  expect(got.contentVersion).toBe(fresh.contentVersion);
  for (const t of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE] as const) {
    const a = got.sets[t];
    const b = fresh.sets[t];
    expect(a.version).toBe(b.version);
    expect([...a.resources.keys()]).toEqual([...b.resources.keys()]);
    expect(a.list.map((r) => [r.name, r.hash, r.refs])).toEqual(b.list.map((r) => [r.name, r.hash, r.refs]));
    a.list.forEach((r, i) => expect(r.anyBytes.equals(b.list[i]!.anyBytes)).toBe(true));
    for (const r of b.list) {
      expect(a.resources.get(r.name)?.hash).toBe(r.hash);
      expect(a.resources.has(r.name)).toBe(true);
    }
    expect(a.resources.get('no such resource')).toBeUndefined();
    expect(a.resources.size).toBe(b.resources.size);
  }
}

describe('an edit of a big config, through the encode cache', () => {
  it('splices the route configuration from its unchanged hosts and keeps or recomputes its references', () => {
    const clusters = Array.from({ length: HOSTS + 2 }, (_, i) => `c${i}`);
    let hosts = Array.from({ length: HOSTS }, (_, i) => host(i, [`c${i}`]));
    const cache = new EncodeCache();
    let last = buildSnapshot(resources(hosts, clusters), 'envoy', '1', cache);
    cache.endBuild();
    const edits: Array<[string, (hs: VirtualHost[]) => VirtualHost[]]> = [
      ['a route changed, same cluster', (hs) => hs.map((h, i) => (i === 3 ? { ...host(3, ['c3']), domains: ['other.example.com'] } : h))],
      ['a host now routes to a new cluster', (hs) => hs.map((h, i) => (i === 5 ? host(5, ['c5', `c${HOSTS}`]) : h))],
      ['two hosts swap their clusters', (hs) => hs.map((h, i) => (i === 1 ? host(1, ['c2']) : i === 2 ? host(2, ['c1']) : h))],
      ['a cluster no longer routed to', (hs) => hs.map((h, i) => (i === 7 ? host(7, ['c8']) : h))],
      ['nothing changed', (hs) => hs],
      ['a host added', (hs) => [...hs, host(HOSTS, [`c${HOSTS + 1}`])]],
      ['the same length again, one host changed', (hs) => hs.map((h, i) => (i === 0 ? host(0, ['c0', 'c1']) : h))],
    ];
    for (const [what, edit] of edits) {
      hosts = edit(hosts);
      const next = buildSnapshot(resources(hosts, clusters), 'envoy', '2', cache);
      cache.endBuild();
      const fresh = buildSnapshot(resources(hosts, clusters), 'envoy', '2', new EncodeCache());
      try {
        expectSameAsFresh(next, fresh);
        // The diff from the previous snapshot, by the patched sets' names or in full, is the same.
        expect(diffResources(new Map([['envoy', last]]), new Map([['envoy', next]]))).toEqual(
          diffResources(new Map([['envoy', last]]), new Map([['envoy', fresh]])),
        );
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
      last = next;
    }
  });

  it('patches a set of many resources changed in a few: the same set as built anew, and the diff names only those', () => {
    // More than one block of a long set's version (cache/snapshot.ts VERSION_BLOCK).
    const clusters = Array.from({ length: 600 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    const cache = new EncodeCache();
    const before = mesh({ services: {}, clusters: Object.fromEntries(clusters.map((c, i) => [c, [9000 + i]])) });
    const first = buildSnapshot(before, 'envoy', '1', cache);
    cache.endBuild();
    // Unchanged messages stay the same objects, as the translation's memo hands them out.
    const changedTwo = mesh({ services: {}, clusters: { c010: [9510, 9600], c060: [9560, 9600] } }).endpoints;
    const edited: EnvoyResources = { ...before, endpoints: before.endpoints.map((e) => changedTwo.find((c) => c.cluster_name === e.cluster_name) ?? e) };
    const second = buildSnapshot(edited, 'envoy', '2', cache);
    const fresh = buildSnapshot(edited, 'envoy', '2', new EncodeCache());
    expectSameAsFresh(second, fresh);
    expect(second.sets[ENDPOINT_TYPE].patchOf?.from).toBe(first.sets[ENDPOINT_TYPE]);
    // A stream's version of the same resources, computed from scratch in any order, is the set's.
    expect(resourcesVersion([...second.sets[ENDPOINT_TYPE].list].reverse())).toBe(second.sets[ENDPOINT_TYPE].version);
    expect(second.sets[ENDPOINT_TYPE].version).not.toBe(first.sets[ENDPOINT_TYPE].version);
    const changes = diffResources(new Map([['envoy', first]]), new Map([['envoy', second]]));
    expect(changes.map((c) => `${c.name} ${c.action}`)).toEqual(['c010 MODIFIED', 'c060 MODIFIED']);
    expect(changes).toEqual(diffResources(new Map([['envoy', first]]), new Map([['envoy', fresh]])));
  });
});
