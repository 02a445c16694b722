/** The metrics listener on a real ADS server (grpc-js on 127.0.0.1) driven by a raw ADS client. */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { silentLogger } from '../../src/log';
import { combineListeners, createTetherMetrics } from '../../src/metrics';
import { addAdsService } from '../../src/xds/ads-server';
import { NodeRegistry } from '../../src/xds/node-status';
import { AdsClient } from '../support/ads-client';
import { eventually } from '../xds/harness';
import { mesh, type MeshSpec } from '../xds/fixtures/resources';
import { value } from './exposition';

const V1: MeshSpec = { services: { a: 'c1' }, clusters: { c1: [9001] } };
/** c1 gains an endpoint: an EDS push to nodes subscribed to c1. */
const V2: MeshSpec = { services: { a: 'c1' }, clusters: { c1: [9001, 9002] } };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start() {
  const metrics = createTetherMetrics({ processMetrics: false });
  const registry = new NodeRegistry();
  const cache = new SnapshotCache();
  const server = new grpc.Server();
  const ads = addAdsService(server, { cache, logger: silentLogger(), status: combineListeners(registry, metrics.listener) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanup.push(() => {
    ads.close();
    return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });
  const publish = (spec: MeshSpec, version: string) => {
    const snapshot = buildSnapshot(mesh(spec), 'grpc', version);
    metrics.configPublished(version);
    metrics.snapshotPublished(snapshot);
    cache.set('grpc', snapshot);
  };
  const client = (id: string) => {
    const c = new AdsClient(`127.0.0.1:${port}`, { node: { id, cluster: 'test', user_agent_name: 'gRPC Node Pure JS' } });
    cleanup.push(() => c.close());
    return c;
  };
  return { metrics, registry, publish, client, text: () => metrics.registry.metrics() };
}

/** Subscribes like grpc-js-xds (LDS → RDS → CDS → EDS) and ACKs each answer. */
async function subscribe(c: AdsClient, services: string[], clusters: string[]): Promise<void> {
  c.send(LISTENER_TYPE, services);
  c.ack(await c.nextOf(LISTENER_TYPE));
  c.send(ROUTE_TYPE, services);
  c.ack(await c.nextOf(ROUTE_TYPE));
  c.send(CLUSTER_TYPE, clusters);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, clusters);
  c.ack(await c.nextOf(ENDPOINT_TYPE));
}

describe('metrics on real ADS traffic', () => {
  it('counts connected nodes, pushes, ACKs, NACKs and convergence of a published change', async () => {
    const h = await start();
    h.publish(V1, '1');
    const a = h.client('node-a');
    const b = h.client('node-b');
    await subscribe(a, ['a'], ['c1']);
    await subscribe(b, ['a'], ['c1']);
    await eventually(() => h.registry.list().every((s) => s.appliedConfigVersion === '1') && h.registry.list().length === 2);

    let t = await h.text();
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'grpc' })).toBe(2);
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(0);
    for (const type of ['listener', 'route', 'cluster', 'endpoint']) {
      expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type })).toBe(2);
      expect(value(t, 'tether_xds_acks_total', { kind: 'grpc', type })).toBe(2);
    }
    // Both streams opened after version 1 was published: their first config is not a convergence.
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'grpc' })).toBe(0);
    expect(value(t, 'tether_config_resources', { kind: 'grpc', type: 'cluster' })).toBe(1);
    const endpointBytesV1 = value(t, 'tether_config_encoded_bytes', { kind: 'grpc', type: 'endpoint' });

    // Version 2 changes c1's endpoints: EDS is pushed to both; a ACKs it, b NACKs it.
    h.publish(V2, '2');
    const edsA = await a.nextOf(ENDPOINT_TYPE);
    const edsB = await b.nextOf(ENDPOINT_TYPE);
    a.ack(edsA);
    b.nack(edsB, 'rejected for the test');
    await eventually(() => h.registry.list().find((s) => s.nodeId === 'node-a')?.appliedConfigVersion === '2', 3000, 'a applies 2');
    await eventually(() => h.registry.list().find((s) => s.nodeId === 'node-b')?.types[ENDPOINT_TYPE]?.lastNack !== undefined, 3000, 'b NACK');

    t = await h.text();
    expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type: 'endpoint' })).toBe(4);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type: 'cluster' })).toBe(2);
    expect(value(t, 'tether_xds_acks_total', { kind: 'grpc', type: 'endpoint' })).toBe(3);
    expect(value(t, 'tether_xds_nacks_total', { kind: 'grpc', type: 'endpoint' })).toBe(1);
    expect(value(t, 'tether_xds_nacks_total', { kind: 'grpc', type: 'cluster' })).toBe(0);
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'grpc' })).toBe(1);
    const seconds = value(t, 'tether_xds_convergence_seconds_sum', { kind: 'grpc' });
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(3);
    expect(value(t, 'tether_config_encoded_bytes', { kind: 'grpc', type: 'endpoint' })).toBeGreaterThan(endpointBytesV1);

    a.close();
    await eventually(() => h.registry.list().length === 1, 3000, 'a gone');
    t = await h.text();
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'grpc' })).toBe(1);
    expect(h.metrics.trackedStreams).toBe(1);
  });
});
