/**
 * Explain's wire form built in event-loop turns (issue 13): a large assignment is converted a
 * chunk of endpoints at a time, and must come out exactly as decoding it in one go does.
 */
import { describe, expect, it } from 'vitest';
import { endpointOwners, endpointOwnersInTurns, wireResources, wireResourcesInTurns } from '../../src/explain';
import { decodeOutput } from '../../src/explain/wire';
import { encodeMessage } from '../../src/envoy/encode';
import { staticEndpoints, translate } from '../../src/translate';
import { validConfig } from './explain-helpers';
import { configDocument } from '../../bench/xds/config-gen';

const doc = (n: number) => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10 }] }] }],
  backends: [
    // Weights and a drained endpoint, so the chunks carry more than addresses.
    { name: 'shop-v1', endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.1.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 5), ...(i === 7 ? { drain: true } : {}) })), balancer: { type: 'ring_hash' } },
    { name: 'shop-v2', endpoints: ['10.2.0.1:8080'] },
  ],
});

describe('wire form in turns', () => {
  for (const kind of ['envoy', 'grpc'] as const) {
    it(`${kind}: a 1,001-endpoint assignment converted in chunks equals the assignment decoded in one go`, async () => {
      const config = validConfig(doc(1001));
      const resources = translate(config, staticEndpoints(config), kind);
      let pauses = 0;
      const wire = await wireResourcesInTurns(resources, async () => void pauses++, 0);
      const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
      const whole = new Map(resources.endpoints.map((e) => [e.cluster_name, decodeOutput(CLA, encodeMessage(CLA, e))]));
      const big = [...whole.values()].find((e) => (e as { endpoints: Array<{ lb_endpoints: unknown[] }> }).endpoints[0]!.lb_endpoints.length === 1001);
      expect(big).toBeDefined();
      for (const [name, expected] of whole) expect(wire.endpoints.get(name!)).toEqual(expected);
      expect(wire).toEqual(wireResources(resources));
      // Every resource and every chunk of 250 endpoints after the first gave the loop a turn.
      expect(pauses).toBeGreaterThanOrEqual(resources.routes.length + resources.clusters.length + resources.endpoints.length + 4);
    });
  }

  it('a route configuration of 250 virtual hosts converted in chunks equals it decoded in one go', async () => {
    const config = validConfig(configDocument(250));
    const resources = translate(config, staticEndpoints(config), 'envoy');
    let pauses = 0;
    const wire = await wireResourcesInTurns(resources, async () => void pauses++, 0);
    const RC = 'envoy.config.route.v3.RouteConfiguration';
    expect(resources.routes[0]!.virtual_hosts).toHaveLength(250);
    expect(wire.routes).toEqual(resources.routes.map((r) => decodeOutput(RC, encodeMessage(RC, r))));
    expect(pauses).toBeGreaterThanOrEqual(resources.routes.length + resources.clusters.length + resources.endpoints.length + 2);
  });

  it("explain's endpoint owners indexed in turns answer as the one-go index does", async () => {
    const config = validConfig(configDocument(300));
    const endpoints = staticEndpoints(config);
    let turns = 0;
    const inTurns = await endpointOwnersInTurns(endpoints, async () => void turns++);
    const whole = endpointOwners(endpoints);
    expect(turns).toBe(endpoints.size);
    for (const list of endpoints.values()) for (const e of list) expect(inTurns(`${e.ip}:${e.port}`)).toEqual(whole(`${e.ip}:${e.port}`));
    expect(inTurns('10.0.0.1:8080')).toEqual(['svc-0-v1']);
  });
});
