/**
 * Older Envoys get the best their API supports (src/model/node-targets.ts): a node is served the
 * snapshot of its build's level, built only once such a node connects, then kept current with
 * every config change. Played with a raw ADS client that reports a build version as Envoy does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/envoy/encode';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/envoy/resource-types';
import type { Node } from '../../src/generated/envoy/config/core/v3/Node';
import { AdsClient } from '../support/ads-client';
import { Harness, waitFor } from '../support/harness';

const STICKY = 'shop~main~sticky';

function canary(v1: number, v2: number): object {
  return {
    services: [
      {
        name: 'shop',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ name: 'main', stickySplit: true, backends: [{ name: 'shop-v1', weight: v1 }, { name: 'shop-v2', weight: v2 }] }],
      },
    ],
    backends: [
      { name: 'shop-v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] },
      { name: 'shop-v2', endpoints: ['10.0.1.1:8080'] },
    ],
  };
}

const envoyNode = (id: string, major: number, minor: number, metadata?: Record<string, string>): Node => ({
  id,
  cluster: 'test',
  user_agent_name: 'envoy',
  user_agent_build_version: { version: { major_number: major, minor_number: minor, patch: 0 } },
  ...(metadata ? { metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }])) } } : {}),
});

async function clusterNames(client: AdsClient): Promise<string[]> {
  client.send(CLUSTER_TYPE, []);
  const response = await client.nextOf(CLUSTER_TYPE);
  client.ack(response);
  return response.resources.map((r) => String(decodeMessage('envoy.config.cluster.v3.Cluster', r.value).name)).sort();
}

function v2Points(assignment: Record<string, any>): number {
  return assignment.endpoints[0].lb_endpoints
    .filter((lb: Record<string, any>) => lb.endpoint.address.socket_address.address === '10.0.1.1')
    .reduce((a: number, lb: Record<string, any>) => a + lb.load_balancing_weight.value, 0);
}

describe('Envoy API levels', () => {
  const h = new Harness();
  const clients: AdsClient[] = [];
  const client = (node: Node) => {
    const c = new AdsClient(`127.0.0.1:${h.tether.xdsPort}`, { node, timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    await h.start(canary(90, 10));
  });
  afterAll(async () => {
    for (const c of clients) c.end();
    await h.close();
  });

  it('Envoy ≥ 1.36 gets weighted clusters (no sticky cluster); 1.34, and a 1.40 capped by TETHER_ENVOY_API, get the sticky ring', async () => {
    expect(await clusterNames(client(envoyNode('new', 1, 40)))).toEqual(['shop-v1', 'shop-v2']);
    expect(await clusterNames(client(envoyNode('old', 1, 34)))).toEqual(['shop-v1', 'shop-v2', STICKY]);
    expect(await clusterNames(client(envoyNode('capped', 1, 40, { TETHER_ENVOY_API: '1.34' })))).toEqual(['shop-v1', 'shop-v2', STICKY]);
    // The metadata can only lower the level.
    expect(await clusterNames(client(envoyNode('raised', 1, 34, { TETHER_ENVOY_API: '1.40' })))).toEqual(['shop-v1', 'shop-v2', STICKY]);
    // Status shows the build version Envoy reports (it sends no user_agent_version).
    expect(h.tether.registry.list().find((n) => n.nodeId === 'old')?.userAgent).toBe('envoy/1.34.0');
  });

  it('a connected older Envoy follows config changes', async () => {
    const old = client(envoyNode('follower', 1, 35));
    expect(await clusterNames(old)).toContain(STICKY);
    old.send(ENDPOINT_TYPE, [STICKY]);
    const first = await old.nextOf(ENDPOINT_TYPE);
    old.ack(first, [STICKY]);
    const before = decodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', first.resources[0]!.value);
    expect(v2Points(before)).toBe(13_107); // 10 % of 131072

    h.writeConfig(canary(50, 50));
    const after = await waitFor('the 50/50 sticky EDS', async () => {
      const next = await old.nextOf(ENDPOINT_TYPE);
      old.ack(next, [STICKY]);
      const cla = decodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', next.resources[0]!.value);
      return v2Points(cla) === 65_536 ? cla : undefined;
    }, 15_000);
    expect(v2Points(after)).toBe(65_536);
  });
});
