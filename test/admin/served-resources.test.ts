/**
 * GetServedResources on a real Tether: the snapshot a node is served, from the bytes the
 * streams send, as proto3 JSON; a connected node's own kind decides over the requested one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import { CliError } from '../../src/cli/errors';
import { AdsClient } from '../support/ads-client';
import { ADMIN_TOKEN, Harness, waitFor } from '../support/harness';

const CONFIG = `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    routes: [{ backends: [{ name: shop-v1 }] }]
backends:
  - name: shop-v1
    endpoints: ["127.0.0.1:8081"]
`;

describe('GetServedResources', () => {
  const h = new Harness();
  let admin: AdminClient;
  let grpcNode: AdsClient;

  beforeAll(async () => {
    await h.start(CONFIG, { watch: false });
    admin = createAdminClient({ address: `127.0.0.1:${h.tether.adminPort}`, token: ADMIN_TOKEN });
    grpcNode = new AdsClient(`127.0.0.1:${h.tether.xdsPort}`, { node: { id: 'grpc-1', cluster: 'test', user_agent_name: 'gRPC Node Pure JS' } });
    grpcNode.send(CLUSTER_TYPE, ['shop-v1']);
    await waitFor('the gRPC node to connect', () => h.tether.registry.list().some((n) => n.nodeId === 'grpc-1'));
  });
  afterAll(async () => {
    grpcNode?.close();
    admin?.close();
    await h.close();
  });

  it('returns every resource of the kind, as sent, in JSON', async () => {
    const res = await admin.call('GetServedResources', { node_id: '', node_kind: 'envoy' });
    expect(res).toMatchObject({ version: '1', node_kind: 'envoy', node_connected: false });
    expect(res.resources.map((r) => `${r.type} ${r.name}`)).toEqual(['CDS shop-v1', 'EDS shop-v1', 'LDS http', 'RDS http']);
    const snapshot = h.tether.cache.get('envoy')!;
    expect(res.type_versions).toEqual({ CDS: snapshot.sets[CLUSTER_TYPE].version, EDS: expect.any(String), LDS: expect.any(String), RDS: expect.any(String), SDS: expect.any(String) });
    const cluster = JSON.parse(res.resources[0]!.json);
    expect(cluster).toMatchObject({ name: 'shop-v1', type: 'EDS', connect_timeout: '1s' });
    expect(res.resources[0]!.version).toBe(snapshot.sets[CLUSTER_TYPE].resources.get('shop-v1')!.hash);
  });

  it("a connected node's kind wins; a bad kind is INVALID_ARGUMENT", async () => {
    const res = await admin.call('GetServedResources', { node_id: 'grpc-1', node_kind: 'envoy' });
    expect(res).toMatchObject({ node_kind: 'grpc', node_connected: true });
    expect(res.resources.map((r) => `${r.type} ${r.name}`)).toContain('LDS shop');
    const err = await admin.call('GetServedResources', { node_id: '', node_kind: 'proxy' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).codeName).toBe('INVALID_ARGUMENT');
    expect((err as CliError).message).toContain('node_kind');
  });
});
