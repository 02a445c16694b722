/**
 * Issue 7: incremental (delta) ADS against the real Tether server (config → translate →
 * snapshots → ADS). grpc-js-xds speaks only SotW, so the client is the spec-written test
 * client in test/support/delta-client.ts, playing Envoy and proxyless gRPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edits } from '../../src/control/mutations';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { DeltaClient, names } from '../support/delta-client';
import { Harness, waitFor } from '../support/harness';

const h = new Harness();
const services = ['alpha', 'beta', 'gamma'];
const config = {
  listeners: [{ name: 'http', port: 10000 }],
  services: services.map((s) => ({
    name: s,
    domains: [`${s}.example`],
    affinity: { keys: [{ header: 'x-user' }] },
    routes: [{ name: 'main', backends: [{ name: `${s}-v1`, weight: 100 }, { name: `${s}-v2`, weight: 0 }] }],
  })),
  backends: services.flatMap((s, i) => [
    { name: `${s}-v1`, endpoints: [`127.0.0.1:${20000 + i}`, `127.0.0.1:${21000 + i}`] },
    { name: `${s}-v2`, endpoints: [`127.0.0.1:${22000 + i}`] },
  ]),
};

const clients: DeltaClient[] = [];
function delta(kind: 'envoy' | 'grpc', id: string): DeltaClient {
  const c = new DeltaClient(`127.0.0.1:${h.tether.xdsPort}`, {
    id,
    cluster: 'test',
    user_agent_name: kind === 'envoy' ? 'envoy' : 'gRPC Node Pure JS',
    metadata: { fields: { TETHER_NODE_KIND: { stringValue: kind } } } as never,
  });
  clients.push(c);
  return c;
}

const split = (service: string, v2: number) => h.tether.manager.mutate('test', edits.setSplit(service, 'main', { [`${service}-v1`]: 100 - v2, [`${service}-v2`]: v2 }), {});

beforeAll(async () => {
  await h.start(config);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await h.close();
});

describe('delta ADS on the real server', () => {
  it('an Envoy over delta gets everything once, then only the route configuration an edit changed', async () => {
    const c = delta('envoy', 'envoy-1');
    const snap = h.tether.cache.get('envoy')!;
    c.send(CLUSTER_TYPE);
    const cds = await c.nextOf(CLUSTER_TYPE);
    expect(names(cds)).toEqual([...snap.sets[CLUSTER_TYPE].resources.keys()]);
    c.ack(cds);
    c.send(ENDPOINT_TYPE, { subscribe: [...snap.sets[ENDPOINT_TYPE].resources.keys()] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    c.send(LISTENER_TYPE);
    c.ack(await c.nextOf(LISTENER_TYPE));
    c.send(ROUTE_TYPE, { subscribe: [...snap.sets[ROUTE_TYPE].resources.keys()] });
    c.ack(await c.nextOf(ROUTE_TYPE));
    const v = h.tether.current().version;
    expect(await h.tether.registry.waitForConfigVersion(v, { timeoutMs: 3000 })).toBe(true);

    const result = await split('beta', 10);
    const rds = await c.nextOf(ROUTE_TYPE);
    expect(names(rds)).toEqual([...snap.sets[ROUTE_TYPE].resources.keys()]); // Envoy: one route configuration
    expect(rds.removed_resources).toEqual([]);
    c.ack(rds);
    expect(await h.tether.registry.waitForConfigVersion(String(result.version), { timeoutMs: 3000 })).toBe(true);
    await c.expectNothing();
    const route = JSON.stringify(c.heldOf(ROUTE_TYPE).values().next().value!.resource);
    expect(route).toContain('"beta-v2"');
  });

  it('a proxyless gRPC client over delta hears only about the service it subscribes to', async () => {
    const c = delta('grpc', 'grpc-1');
    c.send(LISTENER_TYPE, { subscribe: ['alpha'] });
    const lds = await c.nextOf(LISTENER_TYPE);
    expect(names(lds)).toEqual(['alpha']);
    c.ack(lds);
    const snap = h.tether.cache.get('grpc')!;
    const routeName = snap.sets[LISTENER_TYPE].resources.get('alpha')!.refs[0]!;
    c.send(ROUTE_TYPE, { subscribe: [routeName] });
    const rds = await c.nextOf(ROUTE_TYPE);
    c.ack(rds);
    const clustersOf = (routes: string) => snap.sets[ROUTE_TYPE].resources.get(routes)!.refs;
    c.send(CLUSTER_TYPE, { subscribe: [...clustersOf(routeName)] });
    const cds = await c.nextOf(CLUSTER_TYPE);
    c.ack(cds);
    const edsNames = cds.resources.flatMap((r) => snap.sets[CLUSTER_TYPE].resources.get(r.name)!.refs);
    c.send(ENDPOINT_TYPE, { subscribe: edsNames });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await waitFor('grpc-1 applied', () => h.tether.registry.list('grpc').find((n) => n.nodeId === 'grpc-1')?.appliedConfigVersion === h.tether.current().version || undefined, 3000);

    // An edit of another service: nothing for this client, and it still counts as applied.
    const other = await split('gamma', 20);
    await c.expectNothing(300);
    expect(await h.tether.registry.waitForConfigVersion(String(other.version), { kind: 'grpc', timeoutMs: 3000 })).toBe(true);

    // An edit of its own service: exactly its route configuration, which now also names
    // alpha-v2. Like grpc-js-xds, the client then asks for that cluster and its endpoints, and
    // only then has it applied the version.
    const own = await split('alpha', 30);
    const update = await c.nextOf(ROUTE_TYPE);
    expect(names(update)).toEqual([routeName]);
    c.ack(update);
    const now = h.tether.cache.get('grpc')!;
    const added = now.sets[ROUTE_TYPE].resources.get(routeName)!.refs.filter((n) => !c.heldOf(CLUSTER_TYPE).has(n));
    expect(added).toEqual(['alpha-v2']);
    await c.expectNothing(200);
    expect(h.tether.registry.list('grpc')[0]!.appliedConfigVersion).not.toBe(String(own.version));
    c.send(CLUSTER_TYPE, { subscribe: added });
    const newCluster = await c.nextOf(CLUSTER_TYPE);
    expect(names(newCluster)).toEqual(added);
    c.ack(newCluster);
    c.send(ENDPOINT_TYPE, { subscribe: now.sets[CLUSTER_TYPE].resources.get('alpha-v2')!.refs });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    expect(await h.tether.registry.waitForConfigVersion(String(own.version), { kind: 'grpc', timeoutMs: 3000 })).toBe(true);
    await c.expectNothing(100);
  });
});
