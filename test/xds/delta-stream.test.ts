import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { names, type DeltaClient } from '../support/delta-client';
import { mesh } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness;
afterEach(async () => {
  await h?.close();
});

/** Plays Envoy over delta: wildcard LDS/CDS, then the EDS and RDS names they need, ACKing each step. */
async function syncEnvoy(c: DeltaClient, edsNames: string[], rdsNames: string[]): Promise<void> {
  c.send(CLUSTER_TYPE);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, { subscribe: edsNames });
  c.ack(await c.nextOf(ENDPOINT_TYPE));
  c.send(LISTENER_TYPE);
  c.ack(await c.nextOf(LISTENER_TYPE));
  c.send(ROUTE_TYPE, { subscribe: rdsNames });
  c.ack(await c.nextOf(ROUTE_TYPE));
}

const base = () => mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [1001], c2: [1002] } });

describe('delta ADS', () => {
  it('sends everything once, then only what changed, each resource with its own version', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(CLUSTER_TYPE);
    const first = await c.nextOf(CLUSTER_TYPE);
    expect(names(first)).toEqual(['c1', 'c2']);
    expect(first.removed_resources).toEqual([]);
    const snap = h.cache.get('envoy')!;
    expect(first.resources.map((r) => r.version)).toEqual(['c1', 'c2'].map((n) => snap.sets[CLUSTER_TYPE].resources.get(n)!.hash));
    expect(first.system_version_info).toBe(snap.sets[CLUSTER_TYPE].version);
    expect(first.control_plane?.identifier).toBe('tether');
    c.ack(first);
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await c.expectNothing();

    // Change one cluster's endpoints: one EDS resource, nothing else.
    h.publish('envoy', mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [1001], c2: [1002, 1003] } }), '2');
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c2']);
    expect(eds.removed_resources).toEqual([]);
    c.ack(eds);
    await c.expectNothing();
    const held = c.heldOf(ENDPOINT_TYPE).get('c2')!.resource as { endpoints: { lb_endpoints: unknown[] }[] };
    expect(held.endpoints[0]!.lb_endpoints).toHaveLength(2);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '2', 2000, 'config 2 applied');
  });

  it('a named subscription to a resource that does not exist is answered with removed_resources; it arrives when it appears', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'nope'] });
    const r = await c.nextOf(ENDPOINT_TYPE);
    expect(names(r)).toEqual(['c1']);
    expect(r.removed_resources).toEqual(['nope']);
    c.ack(r);
    await c.expectNothing();
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001], nope: [1009] } }), '2');
    const later = await c.nextOf(ENDPOINT_TYPE);
    expect(names(later)).toEqual(['nope']);
    expect(later.removed_resources).toEqual([]);
    c.ack(later);
    await c.expectNothing();
  });

  it('unsubscribed names get no more updates; subscription changes count even on a stale nonce', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    const first = await c.nextOf(ENDPOINT_TYPE);
    c.ack(first);
    c.send(ENDPOINT_TYPE, { unsubscribe: ['c2'], nonce: 'stale-nonce' });
    await c.expectNothing();
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001], c2: [1002, 1003] } }), '2');
    await c.expectNothing();
    // Subscribing again (stale nonce too) brings it back, at its current version.
    c.send(ENDPOINT_TYPE, { subscribe: ['c2'], nonce: first.nonce });
    const again = await c.nextOf(ENDPOINT_TYPE);
    expect(names(again)).toEqual(['c2']);
    expect(again.resources[0]!.version).toBe(h.cache.get('envoy')!.sets[ENDPOINT_TYPE].resources.get('c2')!.hash);
  });

  it('a reconnecting client with initial_resource_versions gets only what differs', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(CLUSTER_TYPE);
    c.ack(await c.nextOf(CLUSTER_TYPE));
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    const clusters = c.versions(CLUSTER_TYPE);
    const endpoints = c.versions(ENDPOINT_TYPE);
    c.close();

    // While it is away: c2's endpoints change, c3 appears, c1 is dropped.
    h.publish('envoy', mesh({ services: { b: 'c2' }, clusters: { c2: [1002, 1004], c3: [1005] } }), '2');
    const back = h.deltaClient();
    back.send(CLUSTER_TYPE, { initialVersions: clusters });
    const cds = await back.nextOf(CLUSTER_TYPE);
    expect(names(cds)).toEqual(['c3']);
    // c1 is gone: removed (no routes subscribed on this stream, so nothing can still use it).
    expect(cds.removed_resources).toEqual(['c1']);
    back.ack(cds);
    back.send(ENDPOINT_TYPE, { subscribe: ['c2', 'c3'], initialVersions: { c2: endpoints.c2! } });
    const eds = await back.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c2', 'c3']);
    back.ack(eds);
    await back.expectNothing();

    // Reconnecting with everything current sends nothing at all.
    const current = h.deltaClient();
    current.send(CLUSTER_TYPE, { initialVersions: back.versions(CLUSTER_TYPE) });
    await current.expectNothing();
  });

  it('a NACKed version is never resent; the next version is', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001], c2: [1002, 1003] } }), '2');
    const bad = await c.nextOf(ENDPOINT_TYPE);
    c.nack(bad, 'rejected for the test');
    await c.expectNothing(300);
    await eventually(() => h.registry.list()[0]?.types[ENDPOINT_TYPE]?.lastNack?.message === 'rejected for the test', 1000, 'NACK recorded');
    expect(h.registry.list()[0]!.appliedConfigVersion).not.toBe('2');
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001], c2: [1002, 1004] } }), '3');
    const fixed = await c.nextOf(ENDPOINT_TYPE);
    expect(names(fixed)).toEqual(['c2']);
    c.ack(fixed);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '3', 2000, 'config 3 applied');
  });

  it('make-before-break: a route moving to a new cluster gets CDS, EDS, then RDS; the old cluster is removed last', async () => {
    h = await startAds();
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001] } }), '1');
    const c = h.deltaClient();
    await syncEnvoy(c, ['c1'], ['a']);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '1', 2000, 'config 1 applied');

    h.publish('envoy', mesh({ services: { a: 'c2' }, clusters: { c2: [1002] } }), '2');
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(names(cds)).toEqual(['c2']);
    expect(cds.removed_resources).toEqual([]); // c1 stays while route a still points at it
    // c1's endpoints are kept too (the cluster still exists on the client).
    await c.expectNothing();
    // As Envoy does: the new cluster asks for its endpoints while it warms, before the CDS
    // ACK (which Envoy sends only once the cluster has them).
    c.send(ENDPOINT_TYPE, { subscribe: ['c2'] });
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c2']);
    c.ack(eds);
    // Routes wait for the clusters' ACK too.
    await c.expectNothing();
    c.ack(cds);
    const rds = await c.nextOf(ROUTE_TYPE);
    expect(names(rds)).toEqual(['a']);
    expect(JSON.stringify(c.heldOf(ROUTE_TYPE).get('a')!.resource)).toContain('"c1"');
    c.ack(rds);
    expect(JSON.stringify(c.heldOf(ROUTE_TYPE).get('a')!.resource)).toContain('"c2"');
    const removal = await c.nextOf(CLUSTER_TYPE);
    expect(names(removal)).toEqual([]);
    expect(removal.removed_resources).toEqual(['c1']);
    // As Envoy does: the removed cluster's endpoints are unsubscribed.
    c.send(ENDPOINT_TYPE, { unsubscribe: ['c1'] });
    c.ack(removal);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '2', 2000, 'config 2 applied');
    expect([...c.heldOf(CLUSTER_TYPE).keys()]).toEqual(['c2']);
  });

  it('resends the unchanged endpoints of a changed cluster right behind CDS (Envoy re-warms it and does not ask again)', async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    await syncEnvoy(c, ['c1', 'c2'], ['a', 'b']);
    const edsBefore = c.heldOf(ENDPOINT_TYPE).get('c1')!.version;
    const changed = base();
    changed.clusters[0] = { ...changed.clusters[0]!, lb_policy: 'RING_HASH' };
    h.publish('envoy', changed, '2');
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(names(cds)).toEqual(['c1']);
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c1']);
    expect(eds.resources[0]!.version).toBe(edsBefore);
    c.ack(eds);
    c.ack(cds);
    await c.expectNothing();
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '2', 2000, 'config 2 applied');
  });

  it('a push to many in-sync streams sends each the same single changed resource', async () => {
    h = await startAds();
    const clusters = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`c${i}`, [2000 + i]]));
    h.publish('envoy', mesh({ services: { a: 'c0' }, clusters }), '1');
    const streams = Array.from({ length: 20 }, () => h.deltaClient());
    for (const c of streams) {
      c.send(CLUSTER_TYPE);
      const r = await c.nextOf(CLUSTER_TYPE);
      expect(r.resources).toHaveLength(200);
      c.ack(r);
      c.send(ENDPOINT_TYPE, { subscribe: Object.keys(clusters) });
      c.ack(await c.nextOf(ENDPOINT_TYPE));
    }
    await eventually(() => h.registry.list().every((s) => s.appliedConfigVersion === '1'), 2000, 'all applied');
    h.publish('envoy', mesh({ services: { a: 'c0' }, clusters: { ...clusters, c7: [2007, 3007] } }), '2');
    // Only c7's endpoints changed: one EDS resource each, no CDS.
    for (const c of streams) {
      const r = await c.nextOf(ENDPOINT_TYPE);
      expect(names(r)).toEqual(['c7']);
      c.ack(r);
    }
    h.publish('envoy', mesh({ services: { a: 'c0' }, clusters: { ...clusters, c7: [2007, 3007], extra: [4000] } }), '3');
    for (const c of streams) {
      const r = await c.nextOf(CLUSTER_TYPE);
      expect(names(r)).toEqual(['extra']);
      c.ack(r, {});
      c.send(ENDPOINT_TYPE, { subscribe: ['extra'] });
      const e = await c.nextOf(ENDPOINT_TYPE);
      expect(names(e)).toEqual(['extra']);
      c.ack(e);
    }
    await eventually(() => h.registry.list().every((s) => s.appliedConfigVersion === '3'), 2000, 'all applied');
  });

  it('holds a route back until the client has subscribed to and received its new cluster\'s endpoints', async () => {
    h = await startAds();
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [1001] } }), '1');
    const c = h.deltaClient();
    await syncEnvoy(c, ['c1'], ['a']);
    h.publish('envoy', mesh({ services: { a: 'c2' }, clusters: { c1: [1001], c2: [1002] } }), '2');
    c.ack(await c.nextOf(CLUSTER_TYPE));
    // The client has c2 but not yet its endpoints: no route may point at it.
    await c.expectNothing(200);
    c.send(ENDPOINT_TYPE, { subscribe: ['c2'] });
    const eds = await c.nextOf(ENDPOINT_TYPE);
    await c.expectNothing(100); // still not before the endpoints are ACKed
    c.ack(eds);
    expect(names(await c.nextOf(ROUTE_TYPE))).toEqual(['a']);
  });

  it("keeps a by-name client's old cluster and endpoints until it holds the route's new cluster and its endpoints", async () => {
    h = await startAds();
    h.publish('grpc', mesh({ services: { a: 'c1' }, clusters: { c1: [1001] } }), '1');
    // As a proxyless gRPC client subscribes: each name once the resource before it names it.
    const c = h.deltaClient({ user_agent_name: 'gRPC Node Pure JS' });
    c.send(LISTENER_TYPE, { subscribe: ['a'] });
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, { subscribe: ['a'] });
    c.ack(await c.nextOf(ROUTE_TYPE));
    c.send(CLUSTER_TYPE, { subscribe: ['c1'] });
    c.ack(await c.nextOf(CLUSTER_TYPE));
    c.send(ENDPOINT_TYPE, { subscribe: ['c1'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === '1', 2000, 'config 1 applied');

    h.publish('grpc', mesh({ services: { a: 'c2' }, clusters: { c2: [1002] } }), '2');
    // The route comes first (the client asks for c2 only once a route names it); c1 stays.
    const rds = await c.nextOf(ROUTE_TYPE);
    c.ack(rds);
    await c.expectNothing(100);
    c.send(CLUSTER_TYPE, { subscribe: ['c2'] });
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(names(cds)).toEqual(['c2']);
    expect(cds.removed_resources).toEqual([]);
    c.ack(cds);
    // Until it holds c2's endpoints the client still routes by c1: c1 and its endpoints stay.
    await c.expectNothing(100);
    c.send(ENDPOINT_TYPE, { subscribe: ['c2'] });
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c2']);
    expect(eds.removed_resources).toEqual([]);
    c.ack(eds);
    const removal = await c.nextOf(CLUSTER_TYPE);
    expect(removal.removed_resources).toEqual(['c1']);
    c.ack(removal);
    expect((await c.nextOf(ENDPOINT_TYPE)).removed_resources).toEqual(['c1']);
  });

  it("'*' subscribes to everything; a name dropped under the wildcard is sent again; unsubscribing '*' leaves only explicit names", async () => {
    h = await startAds();
    h.publish('envoy', base(), '1');
    const c = h.deltaClient();
    c.send(CLUSTER_TYPE, { subscribe: ['*', 'c1'] });
    const all = await c.nextOf(CLUSTER_TYPE);
    expect(names(all)).toEqual(['c1', 'c2']);
    c.ack(all);
    // Envoy drops a resource it unsubscribes; under a wildcard the server must send it back.
    c.send(CLUSTER_TYPE, { unsubscribe: ['c2'] });
    const back = await c.nextOf(CLUSTER_TYPE);
    expect(names(back)).toEqual(['c2']);
    c.ack(back);
    // Without the wildcard, only c1 (explicit) is followed: a change to c2 sends nothing.
    c.send(CLUSTER_TYPE, { unsubscribe: ['*'] });
    await c.expectNothing();
    const changed = base();
    changed.clusters = changed.clusters.map((cl) => (cl.name === 'c2' ? { ...cl, lb_policy: 'LEAST_REQUEST' as const } : cl));
    h.publish('envoy', changed, '2');
    await c.expectNothing();
    const c1changed = { ...changed, clusters: changed.clusters.map((cl) => (cl.name === 'c1' ? { ...cl, lb_policy: 'LEAST_REQUEST' as const } : cl)) };
    h.publish('envoy', c1changed, '3');
    expect(names(await c.nextOf(CLUSTER_TYPE))).toEqual(['c1']);
  });

  it('refuses a first request without node', async () => {
    h = await startAds();
    const c = h.deltaClient();
    (c as unknown as { sentNode: boolean }).sentNode = true;
    c.send(CLUSTER_TYPE);
    const status = await c.status;
    expect(status.details).toBe('the first request on a stream must carry node');
  });
});
