import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { buildSnapshot } from '../../src/cache/snapshot';
import { AdsClient, decodeResources, resourceNames } from '../support/ads-client';
import { mesh, type MeshSpec } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

const V1: MeshSpec = { services: { a: 'c1', b: 'c2' }, clusters: { c1: [9001], c2: [9002] } };

let h: AdsHarness;
beforeEach(async () => {
  h = await startAds();
});
afterEach(async () => {
  await h.close();
});

/** Subscribes to all four types the way Envoy does and ACKs everything. */
async function subscribeAll(c: AdsClient, rds: string[], eds: string[]): Promise<void> {
  c.send(CLUSTER_TYPE, []);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, eds);
  c.ack(await c.nextOf(ENDPOINT_TYPE));
  c.send(LISTENER_TYPE, []);
  c.ack(await c.nextOf(LISTENER_TYPE));
  c.send(ROUTE_TYPE, rds);
  c.ack(await c.nextOf(ROUTE_TYPE));
  await c.expectNothing();
}

describe('SotW ADS: subscriptions', () => {
  it('answers wildcard CDS and LDS with the full set, versioned by content', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const snap = h.cache.get('envoy')!;
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cds)).toEqual(['c1', 'c2']);
    expect(cds.version_info).toBe(snap.sets[CLUSTER_TYPE].version);
    expect(cds.nonce).not.toBe('');
    expect(cds.control_plane).toEqual({ identifier: 'tether' });
    expect(decodeResources(cds)[0]).toMatchObject({ name: 'c1', type: 'EDS' });
    c.send(LISTENER_TYPE, ['*']);
    // LDS waits for the CDS ACK (make-before-break).
    await c.expectNothing(100);
    c.ack(cds);
    expect(resourceNames(await c.nextOf(LISTENER_TYPE))).toEqual(['a', 'b']);
  });

  it('answers named RDS and EDS with the subset that exists, and an empty answer for unknown names', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(ROUTE_TYPE, ['b']);
    const rds = await c.nextOf(ROUTE_TYPE);
    expect(resourceNames(rds)).toEqual(['b']);
    c.ack(rds);
    c.send(ENDPOINT_TYPE, ['c1', 'nope']);
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(resourceNames(eds)).toEqual(['c1']);
    c.ack(eds);
    // A subscription change re-answers even when the content (hence version) is the same.
    c.ack(eds, ['c1', 'nope', 'nope2']);
    const again = await c.nextOf(ENDPOINT_TYPE);
    expect(again.version_info).toBe(eds.version_info);
    c.ack(again);
    c.send(ROUTE_TYPE, ['missing'], { version: rds.version_info, nonce: rds.nonce });
    const empty = await c.nextOf(ROUTE_TYPE);
    expect(empty.resources).toEqual([]);
    c.ack(empty);
    await c.expectNothing();
  });

  it('waits for a snapshot of the node kind before answering', async () => {
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    await c.expectNothing(100);
    h.publish('envoy', mesh(V1), 'cfg-1');
    expect(resourceNames(await c.nextOf(CLUSTER_TYPE))).toEqual(['c1', 'c2']);
  });

  it('refuses a first request without node', async () => {
    const c = h.client();
    c.sendWithoutNode(CLUSTER_TYPE, []);
    const status = await c.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/node/);
  });

  it('pushes nothing to a reconnecting client that already has the current versions', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const snap = h.cache.get('envoy')!;
    const c = h.client();
    c.send(CLUSTER_TYPE, [], { version: snap.sets[CLUSTER_TYPE].version });
    await c.expectNothing();
    await eventually(() => h.registry.list()[0]?.types[CLUSTER_TYPE]?.ackedVersion === snap.sets[CLUSTER_TYPE].version);
  });
});

describe('SotW ADS: ACK, NACK, nonces', () => {
  it('does not re-push after an ACK', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a', 'b'], ['c1', 'c2']);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-1', 3000, 'config applied');
    const status = h.registry.list()[0]!;
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE] as const) {
      expect(status.types[t]?.ackedVersion).toBe(status.types[t]?.sentVersion);
    }
  });

  it('never re-pushes a NACKed version, logs and records the NACK, and pushes the next version', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const bad = h.client({ id: 'bad-node' });
    const good = h.client({ id: 'good-node' });
    for (const c of [bad, good]) {
      c.send(CLUSTER_TYPE, []);
      c.ack(await c.nextOf(CLUSTER_TYPE));
    }
    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c3: [9003] } }), 'cfg-2');
    const rejected = await bad.nextOf(CLUSTER_TYPE);
    bad.nack(rejected, 'c3: unsupported lb_policy');
    await bad.expectNothing(200);
    const accepted = await good.nextOf(CLUSTER_TYPE);
    expect(accepted.version_info).toBe(rejected.version_info);
    good.ack(accepted);

    const warn = h.logs.find((l) => l.msg === 'xDS NACK');
    expect(warn).toMatchObject({
      level: 40,
      node: 'bad-node',
      kind: 'envoy',
      typeUrl: 'CDS',
      version: rejected.version_info,
      nonce: rejected.nonce,
      error: 'c3: unsupported lb_policy',
    });
    const status = h.registry.list().find((s) => s.nodeId === 'bad-node')!;
    expect(status.types[CLUSTER_TYPE]?.lastNack).toMatchObject({ version: rejected.version_info, message: 'c3: unsupported lb_policy' });

    // A content-identical snapshot (same version) is still not re-sent to the node that rejected it.
    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c3: [9003] } }), 'cfg-2b');
    await bad.expectNothing(150);

    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c4: [9004] } }), 'cfg-3');
    const fixed = await bad.nextOf(CLUSTER_TYPE);
    expect(resourceNames(fixed)).toEqual(['c1', 'c2', 'c4']);
    expect(fixed.version_info).not.toBe(rejected.version_info);
  });

  it('holds back later types while an earlier type of the same change is NACKed', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a', 'b'], ['c1', 'c2']);
    // cfg-2 adds cluster c3 and routes b to it: the route must not arrive if CDS is rejected.
    h.publish('envoy', mesh({ services: { a: 'c1', b: 'c3' }, clusters: { ...V1.clusters, c3: [9003] } }), 'cfg-2');
    c.nack(await c.nextOf(CLUSTER_TYPE), 'rejected');
    await c.expectNothing(200);
  });

  it('ignores a request carrying a stale nonce', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    const first = await c.nextOf(CLUSTER_TYPE);
    c.ack(first);
    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c3: [9003] } }), 'cfg-2');
    const second = await c.nextOf(CLUSTER_TYPE);
    // An answer to the first response arrives late: neither its NACK nor its names count.
    c.send(CLUSTER_TYPE, ['c1'], { version: first.version_info, nonce: first.nonce, errorDetail: 'late complaint' });
    await c.expectNothing(150);
    expect(h.logs.some((l) => l.msg === 'xDS NACK')).toBe(false);
    expect(h.logs.some((l) => l.msg === 'stale nonce ignored')).toBe(true);
    c.ack(second, []);
    await c.expectNothing(100);
    await eventually(() => h.registry.list()[0]?.types[CLUSTER_TYPE]?.ackedVersion === second.version_info);
    expect(h.registry.list()[0]?.types[CLUSTER_TYPE]?.lastNack).toBeUndefined();
  });
});

describe('SotW ADS: snapshot changes', () => {
  it('pushes a change in make-before-break order: EDS right behind CDS, LDS once both are ACKed, then RDS', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a', 'b', 'z'], ['c1', 'c2', 'c3']);
    h.publish('envoy', mesh({ services: { a: 'c1', b: 'c3', z: 'c3' }, clusters: { c1: [9001], c2: [9012], c3: [9003] } }), 'cfg-2');
    const cds = await c.next();
    expect(cds.type_url).toBe(CLUSTER_TYPE);
    // Envoy ACKs CDS only once the clusters it changed have their endpoints: EDS does not wait.
    const eds = await c.next();
    expect(eds.type_url).toBe(ENDPOINT_TYPE);
    await c.expectNothing(50);
    c.ack(eds);
    // Listeners wait for the clusters too.
    await c.expectNothing(50);
    c.ack(cds);
    const order: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await c.next();
      order.push(r.type_url);
      // Nothing else comes until this one is ACKed.
      await c.expectNothing(50);
      c.ack(r);
    }
    expect(order).toEqual([LISTENER_TYPE, ROUTE_TYPE]);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-2');
  });

  it("answers a new cluster's EDS subscription before the CDS ACK (Envoy holds that ACK until the cluster warms)", async () => {
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [9001] } }), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a'], ['c1']);
    h.publish('envoy', mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [9001], c2: [9002] } }), 'cfg-2');
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cds)).toEqual(['c1', 'c2']);
    // As Envoy does: the new cluster subscribes to its endpoints while it warms, CDS unACKed.
    c.send(ENDPOINT_TYPE, ['c1', 'c2']);
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(resourceNames(eds)).toEqual(['c1', 'c2']);
    c.ack(eds, ['c1', 'c2']);
    await c.expectNothing(50);
    c.ack(cds);
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, ['a', 'b']);
    c.ack(await c.nextOf(ROUTE_TYPE), ['a', 'b']);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-2');
  });

  it('resends unchanged endpoints to Envoy after updating their cluster (Envoy re-warms it)', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a', 'b'], ['c1', 'c2']);
    const updated = mesh(V1);
    updated.clusters[0] = { ...updated.clusters[0]!, lb_policy: 'RING_HASH' };
    h.publish('envoy', updated, 'cfg-2');
    const edsBefore = h.registry.list()[0]!.types[ENDPOINT_TYPE]!.sentVersion;
    const cds = await c.nextOf(CLUSTER_TYPE);
    // Before the CDS ACK, which Envoy sends only once the re-warmed cluster has its endpoints.
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(eds.version_info).toBe(edsBefore);
    expect(resourceNames(eds)).toEqual(['c1', 'c2']);
    c.ack(eds);
    c.ack(cds);
    await c.expectNothing(100);
  });

  it('keeps a dropped cluster in CDS until the new LDS and RDS are ACKed', async () => {
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [9001] } }), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    c.ack(await c.nextOf(CLUSTER_TYPE));
    c.send(LISTENER_TYPE, []);
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, ['a']);
    c.ack(await c.nextOf(ROUTE_TYPE));
    await c.expectNothing(100);

    // cfg-2 moves route a from c1 to c2 and drops c1.
    h.publish('envoy', mesh({ services: { a: 'c2' }, clusters: { c2: [9002] } }), 'cfg-2');
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cds)).toEqual(['c1', 'c2']);
    c.ack(cds);
    const rds = await c.nextOf(ROUTE_TYPE);
    expect(decodeResources(rds)[0]).toMatchObject({ virtual_hosts: [{ routes: [{ route: { cluster: 'c2' } }] }] });
    await c.expectNothing(100);
    c.ack(rds);
    const cleanup = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cleanup)).toEqual(['c2']);
    expect(cleanup.version_info).toBe(h.cache.get('envoy')!.sets[CLUSTER_TYPE].version);
    c.ack(cleanup);
    await c.expectNothing(100);
    // Not applied until the node has asked for (and ACKed) the endpoints of c2.
    expect(h.registry.list()[0]?.appliedConfigVersion).toBeUndefined();
    c.send(ENDPOINT_TYPE, ['c2']);
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-2', 3000, 'cfg-2 applied');
  });

  it("keeps a dropped cluster for a by-name CDS client until it has the route's new cluster and its endpoints", async () => {
    h.publish('grpc', mesh({ services: { a: 'c1' }, clusters: { c1: [9001] } }), 'cfg-1');
    const c = h.client({ user_agent_name: 'gRPC Node Pure JS' });
    c.send(LISTENER_TYPE, ['a']);
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, ['a']);
    c.ack(await c.nextOf(ROUTE_TYPE));
    c.send(CLUSTER_TYPE, ['c1']);
    const cds1 = await c.nextOf(CLUSTER_TYPE);
    c.ack(cds1);
    c.send(ENDPOINT_TYPE, ['c1']);
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await c.expectNothing(100);

    h.publish('grpc', mesh({ services: { a: 'c2' }, clusters: { c2: [9002] } }), 'cfg-2');
    // c1's endpoints are gone: a by-name EDS answer without c1 (not a deletion in SotW EDS).
    const edsWithout = await c.nextOf(ENDPOINT_TYPE);
    c.ack(edsWithout);
    const rds = await c.nextOf(ROUTE_TYPE);
    c.ack(rds);
    // The route now names c2, which the client has not subscribed to yet: c1 stays.
    await c.expectNothing(100);
    c.send(CLUSTER_TYPE, ['c1', 'c2'], { version: cds1.version_info, nonce: cds1.nonce });
    const both = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(both)).toEqual(['c1', 'c2']);
    c.ack(both);
    // The client routes by c1 until it also holds c2's endpoints (grpc-js-xds publishes a route
    // only with every cluster and endpoints it names): c1 stays until then.
    await c.expectNothing(100);
    c.send(ENDPOINT_TYPE, ['c1', 'c2'], { version: edsWithout.version_info, nonce: edsWithout.nonce });
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(resourceNames(eds)).toEqual(['c2']);
    await c.expectNothing(100);
    c.ack(eds);
    const cleanup = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cleanup)).toEqual(['c2']);
  });

  it('drops an unused cluster at once when listeners and routes do not change', async () => {
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [9001], spare: [9009] } }), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    c.ack(await c.nextOf(CLUSTER_TYPE));
    c.send(LISTENER_TYPE, []);
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, ['a']);
    c.ack(await c.nextOf(ROUTE_TYPE));
    h.publish('envoy', mesh({ services: { a: 'c1' }, clusters: { c1: [9001] } }), 'cfg-2');
    expect(resourceNames(await c.nextOf(CLUSTER_TYPE))).toEqual(['c1']);
  });

  it('pushes nothing for a content-identical snapshot, yet records the new config version as applied', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    await subscribeAll(c, ['a', 'b'], ['c1', 'c2']);
    h.cache.set('envoy', buildSnapshot(mesh(V1), 'envoy', 'cfg-1-again'));
    await c.expectNothing(150);
    await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-1-again');
    expect(await h.registry.waitForConfigVersion('cfg-1-again', { timeoutMs: 100 })).toBe(true);
  });

  it('does not re-push EDS to a client whose subscribed endpoints did not change', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const one = h.client();
    const two = h.client();
    for (const [c, name] of [
      [one, 'c1'],
      [two, 'c2'],
    ] as const) {
      c.send(ENDPOINT_TYPE, [name]);
      c.ack(await c.nextOf(ENDPOINT_TYPE));
    }
    h.publish('envoy', mesh({ ...V1, clusters: { c1: [9001], c2: [9022] } }), 'cfg-2');
    const eds = await two.nextOf(ENDPOINT_TYPE);
    expect(decodeResources(eds)[0]).toMatchObject({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 9022 } } } }] }] });
    await one.expectNothing(150);
  });

  it('collapses several snapshots published before an ACK into one push of the latest', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    const first = await c.nextOf(CLUSTER_TYPE);
    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c3: [1] } }), 'cfg-2');
    h.publish('envoy', mesh({ ...V1, clusters: { ...V1.clusters, c4: [1] } }), 'cfg-3');
    await c.expectNothing(100);
    c.ack(first);
    expect(resourceNames(await c.nextOf(CLUSTER_TYPE))).toEqual(['c1', 'c2', 'c4']);
  });
});

describe('SotW ADS: node kinds and stream lifecycle', () => {
  it('serves each node the snapshot of its kind, and nothing of the other', async () => {
    const envoy = h.client({ id: 'e', user_agent_name: 'envoy' });
    const grpcNode = h.client({ id: 'g', user_agent_name: 'gRPC Node Pure JS' });
    const forced = h.client({
      id: 'f',
      user_agent_name: 'envoy',
      metadata: { fields: { TETHER_NODE_KIND: { stringValue: 'grpc' } } },
    });
    for (const c of [envoy, grpcNode, forced]) c.send(CLUSTER_TYPE, []);
    h.publish('grpc', mesh({ services: {}, clusters: { g1: [1] } }), 'cfg-1');
    expect(resourceNames(await grpcNode.nextOf(CLUSTER_TYPE))).toEqual(['g1']);
    expect(resourceNames(await forced.nextOf(CLUSTER_TYPE))).toEqual(['g1']);
    await envoy.expectNothing(100);
    h.publish('envoy', mesh({ services: {}, clusters: { e1: [1] } }), 'cfg-1');
    expect(resourceNames(await envoy.nextOf(CLUSTER_TYPE))).toEqual(['e1']);
    await grpcNode.expectNothing(100);
    const kinds = Object.fromEntries(h.registry.list().map((s) => [s.nodeId, s.kind]));
    expect(kinds).toEqual({ e: 'envoy', g: 'grpc', f: 'grpc' });
    expect(h.registry.list().find((s) => s.nodeId === 'g')?.userAgent).toBe('gRPC Node Pure JS');
  });

  it('forgets a stream when the client cancels it', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    await c.nextOf(CLUSTER_TYPE);
    expect(h.registry.list()).toHaveLength(1);
    expect(h.cache.watcherCount('envoy')).toBe(1);
    c.close();
    await eventually(() => h.registry.list().length === 0 && h.ads.streamCount === 0, 3000, 'stream cleanup');
    expect(h.cache.watcherCount('envoy')).toBe(0);
  });

  it('ends the stream with OK when the client half-closes', async () => {
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    await eventually(() => h.registry.list().length === 1);
    c.end();
    expect((await c.status).code).toBe(grpc.status.OK);
    await eventually(() => h.registry.list().length === 0);
  });

  it('ends every stream with UNAVAILABLE on close(), so the server can shut down', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    await c.nextOf(CLUSTER_TYPE);
    h.ads.close();
    expect((await c.status).code).toBe(grpc.status.UNAVAILABLE);
    expect(h.registry.list()).toEqual([]);
    expect(h.cache.watcherCount('envoy')).toBe(0);
  });

  it('cleans up when the gRPC server is force-shut down', async () => {
    h.publish('envoy', mesh(V1), 'cfg-1');
    const c = h.client();
    c.send(CLUSTER_TYPE, []);
    await c.nextOf(CLUSTER_TYPE);
    h.server.forceShutdown();
    expect((await c.status).code).not.toBe(grpc.status.OK);
    await eventually(() => h.registry.list().length === 0 && h.ads.streamCount === 0, 3000, 'stream cleanup');
    expect(h.cache.watcherCount('envoy')).toBe(0);
  });
});
