import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeMessage } from '../../src/envoy/encode';
import { buildSnapshot, EncodeCache } from '../../src/cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { readableAny, toReadable } from '../../src/translate/readable';
import { mesh } from '../xds/fixtures/resources';
import { startAds, type AdsHarness } from '../xds/harness';

vi.mock('../../src/envoy/encode', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/envoy/encode')>();
  return { ...mod, encodeMessage: vi.fn(mod.encodeMessage) };
});

let h: AdsHarness | undefined;
afterEach(async () => {
  await h?.close();
});

describe('encoding cost', () => {
  it('encodes each resource once per snapshot, however many streams receive it', async () => {
    h = await startAds();
    const resources = mesh({ services: { a: 'c1' }, clusters: { c1: [1], c2: [2], c3: [3] } });
    const spy = vi.mocked(encodeMessage);
    spy.mockClear();
    h.publish('envoy', resources, 'cfg-1');
    // listener, route config (its fields, then its one virtual host), 3 clusters, 3 endpoints
    expect(spy).toHaveBeenCalledTimes(1 + 2 + 3 + 3);

    const snap = h.cache.get('envoy')!;
    const clients = [h.client(), h.client(), h.client()];
    for (const c of clients) {
      c.send(CLUSTER_TYPE, []);
      const cds = await c.nextOf(CLUSTER_TYPE);
      c.ack(cds);
      c.send(ENDPOINT_TYPE, ['c1', 'c3']);
      const eds = await c.nextOf(ENDPOINT_TYPE);
      // The frame carries the snapshot's Any bytes verbatim.
      for (const r of snap.sets[CLUSTER_TYPE].resources.values()) expect(cds.raw.includes(r.anyBytes)).toBe(true);
      expect(eds.raw.includes(snap.sets[ENDPOINT_TYPE].resources.get('c3')!.anyBytes)).toBe(true);
    }
    expect(spy).toHaveBeenCalledTimes(9);
  });

  it('a build with the previous build\'s cache encodes only what changed', () => {
    const cache = new EncodeCache();
    const before = () => mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [1], c2: [2], c3: [3] } });
    // The first build (a cold start) finds messages by identity only; from the second on, by content too.
    buildSnapshot(before(), 'envoy', '0', cache);
    cache.endBuild();
    const first = buildSnapshot(before(), 'envoy', '1', cache);
    cache.endBuild();
    const spy = vi.mocked(encodeMessage);
    spy.mockClear();
    const after = mesh({ services: { a: 'c1', b: 'c3' }, clusters: { c1: [1], c2: [2], c3: [3, 4] } });
    const second = buildSnapshot(after, 'envoy', '2', cache);
    cache.endBuild();
    // The route config's own fields are unchanged; virtual host b and c3's cluster and endpoints changed.
    const encoded = spy.mock.calls.map(([type]) => type);
    expect(encoded.sort()).toEqual(['envoy.config.endpoint.v3.ClusterLoadAssignment', 'envoy.config.route.v3.VirtualHost']);
    // Same bytes as a build from scratch, and only the changed resources changed.
    const fresh = buildSnapshot(after, 'envoy', '2');
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE] as const) {
      for (const [name, r] of fresh.sets[t].resources) expect(second.sets[t].resources.get(name)!.anyBytes.equals(r.anyBytes)).toBe(true);
    }
    expect(second.sets[CLUSTER_TYPE].version).toBe(first.sets[CLUSTER_TYPE].version);
    expect(second.sets[ENDPOINT_TYPE].resources.get('c1')).toEqual(first.sets[ENDPOINT_TYPE].resources.get('c1'));
    expect(second.sets[ENDPOINT_TYPE].resources.get('c3')!.hash).not.toBe(first.sets[ENDPOINT_TYPE].resources.get('c3')!.hash);
  });

  it('a route configuration spliced from its virtual hosts decodes to the same message', () => {
    const parts = mesh({ services: { a: 'c1', b: 'c2', c: 'c1' }, clusters: { c1: [1], c2: [2] } });
    const all = { name: 'all', virtual_hosts: parts.routes.flatMap((r) => r.virtual_hosts ?? []), validate_clusters: { value: false } };
    const resources = { ...parts, routes: [all] };
    const snap = buildSnapshot(resources, 'envoy', '1');
    const [route] = toReadable(resources).routes;
    expect(readableAny(snap.sets[ROUTE_TYPE].list[0]!.anyBytes)).toEqual(route);
    expect((route as { virtual_hosts: unknown[] }).virtual_hosts).toHaveLength(3);
  });
});

describe('encoding cost of a cold start', () => {
  it('the first build keys messages by identity only: an equal but new message of the next build is encoded again', () => {
    const cache = new EncodeCache();
    const resources = () => mesh({ services: { a: 'c1' }, clusters: { c1: [1] } });
    const same = resources();
    buildSnapshot(same, 'envoy', '1', cache);
    cache.endBuild();
    const spy = vi.mocked(encodeMessage);
    spy.mockClear();
    buildSnapshot(same, 'envoy', '2', cache);
    expect(spy).not.toHaveBeenCalled();
    buildSnapshot(resources(), 'envoy', '2', cache);
    expect(spy).toHaveBeenCalled();
  });
});
