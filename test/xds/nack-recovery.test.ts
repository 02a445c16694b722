/**
 * A NACKed version is held back only until the node ACKs another one of its type: versions are
 * content hashes, so a later config can reproduce exactly the rejected bytes (a cluster
 * removed, then added back as the pod is replaced) and must then reach the node. While the
 * version a node should hold is exactly the one it rejected, the stream reports itself
 * blocked (status and WaitForRollout fail on it instead of waiting for a push that never comes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { decodeResources, resourceNames, type AdsClient } from '../support/ads-client';
import { names } from '../support/delta-client';
import { mesh, type MeshSpec } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness;
afterEach(async () => {
  await h?.close();
});

const SERVICES = { a: 'c1', b: 'c2' };
const V1: MeshSpec = { services: SERVICES, clusters: { c1: [9001], c2: [9002] } };
/** Adds cluster c3: the node rejects this CDS. */
const V2: MeshSpec = { services: SERVICES, clusters: { ...V1.clusters, c3: [9003] } };
/** c3 back, byte-identical in CDS to V2's; its endpoint moved (a replaced pod): EDS differs. */
const V4: MeshSpec = { services: SERVICES, clusters: { ...V1.clusters, c3: [9004] } };

const status = () => h.registry.list()[0]!;

/** cluster → endpoint ports, from decoded ClusterLoadAssignments. */
function ports(assignments: Record<string, unknown>[]): Record<string, number[]> {
  type La = { cluster_name: string; endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] };
  return Object.fromEntries(
    (assignments as La[]).map((la) => [la.cluster_name, la.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.port_value))]),
  );
}

async function syncSotw(c: AdsClient, eds: string[]): Promise<void> {
  c.send(CLUSTER_TYPE, []);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, eds);
  c.ack(await c.nextOf(ENDPOINT_TYPE));
  c.send(LISTENER_TYPE, []);
  c.ack(await c.nextOf(LISTENER_TYPE));
  c.send(ROUTE_TYPE, ['a', 'b']);
  const rds = await c.nextOf(ROUTE_TYPE);
  c.ack(rds);
  await eventually(() => status().types[ROUTE_TYPE]?.ackedVersion === rds.version_info, 2000, 'RDS ACKed');
}

describe('SotW: a once-NACKed version', () => {
  it('is delivered again after the node ACKed another one (v1 → v2 NACKed → v3 ACKed → v4 = v2 bytes), with the EDS change behind it', async () => {
    h = await startAds();
    h.publish('envoy', mesh(V1), '1');
    const c = h.client();
    await syncSotw(c, ['c1', 'c2']);

    h.publish('envoy', mesh(V2), '2');
    const rejected = await c.nextOf(CLUSTER_TYPE);
    c.nack(rejected, 'c3: rejected for the test');
    await c.expectNothing(150);
    await eventually(() => status().blocked?.configVersion === '2', 2000, 'stream blocked on config 2');
    expect(status().blocked).toEqual({ configVersion: '2', typeUrl: CLUSTER_TYPE });

    h.publish('envoy', mesh(V1), '3');
    const back = await c.nextOf(CLUSTER_TYPE);
    expect(resourceNames(back)).toEqual(['c1', 'c2']);
    c.ack(back);
    await eventually(() => status().appliedConfigVersion === '3', 2000, 'config 3 applied');
    expect(status().blocked).toBeUndefined();

    h.publish('envoy', mesh(V4), '4');
    const again = await c.nextOf(CLUSTER_TYPE);
    expect(again.version_info).toBe(rejected.version_info);
    expect(again.resources).toEqual(rejected.resources);
    c.ack(again);
    // Envoy asks for the new cluster's endpoints once it has the cluster.
    c.send(ENDPOINT_TYPE, ['c1', 'c2', 'c3']);
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(ports(decodeResources(eds))).toEqual({ c1: [9001], c2: [9002], c3: [9004] });
    expect(eds.version_info).toBe(h.cache.get('envoy')!.sets[ENDPOINT_TYPE].version);
    c.ack(eds);
    await eventually(() => status().appliedConfigVersion === '4', 2000, 'config 4 applied');
  });

  it('while the NACKed version is the current one, reports the stream blocked on each new config that keeps it', async () => {
    h = await startAds();
    h.publish('envoy', mesh(V1), '1');
    const c = h.client();
    await syncSotw(c, ['c1', 'c2']);
    h.publish('envoy', mesh(V2), '2');
    c.nack(await c.nextOf(CLUSTER_TYPE), 'rejected');
    await eventually(() => status().blocked?.configVersion === '2', 2000, 'blocked on 2');
    // Config 3 changes only an endpoint: CDS is still exactly what the node rejected.
    h.publish('envoy', mesh({ ...V2, clusters: { ...V2.clusters, c1: [9011] } }), '3');
    await eventually(() => status().blocked?.configVersion === '3', 2000, 'blocked on 3');
    await c.expectNothing(150);
    expect(status().types[CLUSTER_TYPE]?.lastNack?.message).toBe('rejected');
    expect(h.logs.some((l) => l.msg.startsWith('config blocked') && l.configVersion === '3' && l.typeUrl === 'CDS')).toBe(true);
  });
});

describe('delta: a once-NACKed resource version', () => {
  it('is delivered again after the node ACKed another response of the type', async () => {
    h = await startAds();
    h.publish('envoy', mesh(V1), '1');
    const c = h.deltaClient();
    c.send(CLUSTER_TYPE);
    c.ack(await c.nextOf(CLUSTER_TYPE));
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));

    h.publish('envoy', mesh(V2), '2');
    const rejected = await c.nextOf(CLUSTER_TYPE);
    expect(names(rejected)).toEqual(['c3']);
    c.nack(rejected, 'c3: rejected for the test');
    await c.expectNothing(150);
    await eventually(() => status().blocked?.configVersion === '2', 2000, 'stream blocked on config 2');

    // Config 3 drops c3 (which the node never took) and adds c4: only c4 goes out, and is ACKed.
    h.publish('envoy', mesh({ services: SERVICES, clusters: { ...V1.clusters, c4: [9005] } }), '3');
    const other = await c.nextOf(CLUSTER_TYPE);
    expect(names(other)).toEqual(['c4']);
    c.ack(other);
    await eventually(() => status().blocked === undefined, 2000, 'no longer blocked');

    h.publish('envoy', mesh(V4), '4');
    const again = await c.nextOf(CLUSTER_TYPE);
    expect(names(again)).toEqual(['c3']);
    expect(again.removed_resources).toEqual(['c4']);
    expect(again.resources[0]!.version).toBe(rejected.resources[0]!.version);
    c.ack(again, {});
    c.send(ENDPOINT_TYPE, { subscribe: ['c3'] });
    const eds = await c.nextOf(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(['c3']);
    c.ack(eds);
    expect(ports([c.heldOf(ENDPOINT_TYPE).get('c3')!.resource])).toEqual({ c3: [9004] });
    await eventually(() => status().appliedConfigVersion === '4', 2000, 'config 4 applied');
  });
});
