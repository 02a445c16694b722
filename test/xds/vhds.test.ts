/**
 * VHDS on the delta stream (xds/vhds.ts), with the test's delta client: what a VHDS node is
 * sent and how its subscription is read. Envoy's side is in test/envoy-real/vhds.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeInfo } from '../../src/admin/status';
import { CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE, VIRTUAL_HOST_TYPE } from '../../src/envoy/resource-types';
import type { EnvoyResources } from '../../src/envoy/resources';
import { combineListeners, createTetherMetrics } from '../../src/metrics';
import { NodeRegistry } from '../../src/xds/node-status';
import { value } from '../metrics/exposition';
import { names, type DeltaClient } from '../support/delta-client';
import { mesh } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness;
afterEach(async () => {
  await h?.close();
});

type Json = Record<string, any>;
const VHDS_NODE = { metadata: { fields: { TETHER_VHDS: { stringValue: 'true' } } } };

/** One route config `main` holding a virtual host per service (as Envoy nodes get), and one `other`. */
function routeTable(services: Record<string, string>): EnvoyResources {
  const m = mesh({ services, clusters: { c1: [1001], c2: [1002] } });
  const hosts = m.routes.flatMap((r) => r.virtual_hosts ?? []);
  return { ...m, routes: [{ name: 'main', virtual_hosts: hosts }, { name: 'other', virtual_hosts: hosts.slice(0, 1) }] };
}

async function syncRoutes(c: DeltaClient, routeNames: string[]): Promise<void> {
  c.send(CLUSTER_TYPE);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
  c.ack(await c.nextOf(ENDPOINT_TYPE));
  c.send(ROUTE_TYPE, { subscribe: routeNames });
}

describe('VHDS (delta, Envoy nodes that opt in)', () => {
  it('route configs go out without virtual hosts; the wildcard VHDS subscription gets those of the subscribed route configs, then only what changed', async () => {
    h = await startAds();
    h.publish('envoy', routeTable({ a: 'c1', b: 'c2', c: 'c1' }), '1');
    const c = h.deltaClient(VHDS_NODE);
    await syncRoutes(c, ['main']);
    const rds = await c.nextOf(ROUTE_TYPE);
    expect(names(rds)).toEqual(['main']);
    c.ack(rds);
    const stub = c.heldOf(ROUTE_TYPE).get('main')!.resource as Json;
    expect(stub.virtual_hosts ?? []).toEqual([]);
    expect(stub.vhds.config_source.ads).toBeDefined();
    // Envoy's VHDS over ADS subscribes with no names.
    c.send(VIRTUAL_HOST_TYPE);
    const first = await c.nextOf(VIRTUAL_HOST_TYPE);
    expect(names(first)).toEqual(['main/a', 'main/b', 'main/c']);
    c.ack(first);
    const held = c.heldOf(VIRTUAL_HOST_TYPE).get('main/b')!.resource as Json;
    // The message's own name is the resource name (Envoy keys and removes virtual hosts by it).
    expect(held.name).toBe('main/b');
    expect(JSON.stringify(held.routes)).toContain('c2');
    await c.expectNothing();

    // One service's route changes: one virtual host, no RDS.
    h.publish('envoy', routeTable({ a: 'c1', b: 'c1', c: 'c1' }), '2');
    const edit = await c.nextOf(VIRTUAL_HOST_TYPE);
    expect(names(edit)).toEqual(['main/b']);
    expect(edit.removed_resources).toEqual([]);
    c.ack(edit);
    // A service goes: its virtual host is removed by name; the stub of `other` is unchanged.
    h.publish('envoy', routeTable({ a: 'c1', b: 'c1' }), '3');
    const removal = await c.nextOf(VIRTUAL_HOST_TYPE);
    expect(names(removal)).toEqual([]);
    expect(removal.removed_resources).toEqual(['main/c']);
    c.ack(removal);
    await c.expectNothing();
  });

  it('a route config subscribed later brings its virtual hosts; one dropped takes them out of scope', async () => {
    h = await startAds();
    h.publish('envoy', routeTable({ a: 'c1', b: 'c2' }), '1');
    const c = h.deltaClient(VHDS_NODE);
    await syncRoutes(c, ['main']);
    c.ack(await c.nextOf(ROUTE_TYPE));
    c.send(VIRTUAL_HOST_TYPE);
    c.ack(await c.nextOf(VIRTUAL_HOST_TYPE));
    c.send(ROUTE_TYPE, { subscribe: ['other'] });
    c.ack(await c.nextOf(ROUTE_TYPE));
    const more = await c.nextOf(VIRTUAL_HOST_TYPE);
    expect(names(more)).toEqual(['other/a']);
    c.ack(more);
    // With a name that does not exist: its answer shows the request was handled.
    c.send(ROUTE_TYPE, { unsubscribe: ['main'], subscribe: ['ghost'] });
    const ghost = await c.nextOf(ROUTE_TYPE);
    expect(ghost.removed_resources).toEqual(['ghost']);
    c.ack(ghost);
    // Nothing to send for the dropped one (Envoy drops its virtual hosts with it); an edit to it sends nothing.
    h.publish('envoy', routeTable({ a: 'c2', b: 'c1' }), '2');
    const after = await c.nextOf(VIRTUAL_HOST_TYPE);
    expect(names(after)).toEqual(['other/a']);
    expect(after.removed_resources).toEqual([]);
  });

  it('VHDS nodes in the same state share one encoded response (one nonce) for an edit, holding just its virtual host', async () => {
    h = await startAds();
    h.publish('envoy', routeTable({ a: 'c1', b: 'c2' }), '1');
    const clients = [h.deltaClient(VHDS_NODE), h.deltaClient(VHDS_NODE)];
    for (const c of clients) {
      await syncRoutes(c, ['main']);
      c.ack(await c.nextOf(ROUTE_TYPE));
      c.send(VIRTUAL_HOST_TYPE);
      c.ack(await c.nextOf(VIRTUAL_HOST_TYPE));
      await c.expectNothing();
    }
    h.publish('envoy', routeTable({ a: 'c2', b: 'c2' }), '2');
    const edits = await Promise.all(clients.map((c) => c.nextOf(VIRTUAL_HOST_TYPE)));
    for (const edit of edits) {
      expect(names(edit)).toEqual(['main/a']);
      expect(edit.removed_resources).toEqual([]);
    }
    // One shared response (StreamShares nonces are unique per encoded response), not one per stream.
    expect(edits[1]!.nonce).toBe(edits[0]!.nonce);
    clients.forEach((c, i) => c.ack(edits[i]!));
    for (const c of clients) {
      expect(JSON.stringify((c.heldOf(VIRTUAL_HOST_TYPE).get('main/a')!.resource as Json).routes)).toContain('c2');
      await c.expectNothing();
    }
  });

  it('virtual hosts are their own type in node status and metrics: sent, ACKed, NACKed and blocked as VHDS, not RDS', async () => {
    const registry = new NodeRegistry();
    const metrics = createTetherMetrics({ processMetrics: false });
    h = await startAds({ status: combineListeners(registry, metrics.listener) });
    h.publish('envoy', routeTable({ a: 'c1', b: 'c2' }), '1');
    const c = h.deltaClient(VHDS_NODE);
    await syncRoutes(c, ['main']);
    const rds = await c.nextOf(ROUTE_TYPE);
    c.ack(rds);
    c.send(VIRTUAL_HOST_TYPE);
    const hosts = await c.nextOf(VIRTUAL_HOST_TYPE);
    c.ack(hosts);
    await eventually(() => registry.list()[0]?.types[VIRTUAL_HOST_TYPE]?.ackedVersion !== undefined, 3000, 'virtual hosts ACKed');
    const applied = registry.list()[0]!;
    expect(applied.types[VIRTUAL_HOST_TYPE]).toMatchObject({ sentVersion: hosts.system_version_info, ackedVersion: hosts.system_version_info });
    expect(applied.types[ROUTE_TYPE]).toMatchObject({ sentVersion: rds.system_version_info, ackedVersion: rds.system_version_info });
    expect(hosts.system_version_info).not.toBe(rds.system_version_info);
    expect(toNodeInfo(applied).types!.map((t) => t.type)).toEqual(['RDS', 'VHDS', 'CDS', 'EDS']);
    let text = await metrics.registry.metrics();
    for (const type of ['route', 'virtual_host']) {
      expect(value(text, 'tether_xds_pushes_total', { kind: 'envoy', type }), type).toBe(1);
      expect(value(text, 'tether_xds_acks_total', { kind: 'envoy', type }), type).toBe(1);
    }

    // The node rejects an edit's virtual host: the NACK and the block are VHDS's.
    h.publish('envoy', routeTable({ a: 'c1', b: 'c1' }), '2');
    const edit = await c.nextOf(VIRTUAL_HOST_TYPE);
    c.nack(edit, 'virtual host rejected');
    await eventually(() => !!registry.list()[0]?.blocked, 3000, 'stream blocked');
    const blocked = registry.list()[0]!;
    expect(blocked.blocked).toEqual({ configVersion: '2', typeUrl: VIRTUAL_HOST_TYPE });
    expect(blocked.types[VIRTUAL_HOST_TYPE]!.lastNack).toMatchObject({ version: edit.system_version_info, message: 'virtual host rejected' });
    expect(blocked.types[ROUTE_TYPE]!.lastNack).toBeUndefined();
    const info = toNodeInfo(blocked).types!;
    expect(info.find((t) => t.type === 'VHDS')!.last_nack?.error).toBe('virtual host rejected');
    expect(info.find((t) => t.type === 'RDS')!.last_nack).toBeNull();
    text = await metrics.registry.metrics();
    expect(value(text, 'tether_xds_nacks_total', { kind: 'envoy', type: 'virtual_host' })).toBe(1);
    expect(value(text, 'tether_xds_nacks_total', { kind: 'envoy', type: 'route' })).toBe(0);
  });

  it('without the opt-in, an Envoy gets whole route configs and its VHDS requests are not served', async () => {
    h = await startAds();
    h.publish('envoy', routeTable({ a: 'c1', b: 'c2' }), '1');
    const c = h.deltaClient();
    await syncRoutes(c, ['main']);
    c.ack(await c.nextOf(ROUTE_TYPE));
    expect((c.heldOf(ROUTE_TYPE).get('main')!.resource as Json).virtual_hosts).toHaveLength(2);
    c.send(VIRTUAL_HOST_TYPE);
    await c.expectNothing();
  });
});
