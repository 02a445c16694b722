/**
 * Issue 7: the Prometheus endpoint of a real Tether, scraped over HTTP while the real
 * @grpc/grpc-js-xds client sends traffic through it to sample replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edits } from '../../src/control/mutations';
import type { Replica } from '../../src/sample/replica';
import { Harness, hello, waitFor } from '../support/harness';

const h = new Harness();
let replicas: Replica[];

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${h.tether.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

beforeAll(async () => {
  replicas = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3')];
  await h.start(
    {
      // A listener, so Envoy nodes get routes too: session shares are computed for Envoy's view.
      listeners: [{ name: 'http', port: 10000 }],
      services: [
        { name: 'sticky', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'sticky' }] }] },
      ],
      backends: [{ name: 'sticky', endpoints: replicas.map((r) => r.address), balancer: { type: 'ring_hash' } }],
    },
    { metrics: { host: '127.0.0.1', port: 0 } },
  );
});
afterAll(() => h.close());

describe('metrics endpoint', () => {
  it('counts the gRPC node, its pushes and ACKs, convergence after an edit, config size and replica shares', async () => {
    const client = h.client('sticky');
    await hello(client, { 'x-user': 'alice' });
    let text = await scrape();
    expect(value(text, 'tether_xds_connected_nodes', { kind: 'grpc' })).toBe(1);
    expect(value(text, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(0);
    for (const type of ['listener', 'route', 'cluster', 'endpoint']) {
      expect(value(text, 'tether_xds_pushes_total', { kind: 'grpc', type })).toBeGreaterThanOrEqual(1);
      expect(value(text, 'tether_xds_acks_total', { kind: 'grpc', type })).toBeGreaterThanOrEqual(1);
    }
    expect(value(text, 'tether_config_resources', { kind: 'grpc', type: 'cluster' })).toBe(1);
    expect(value(text, 'tether_config_encoded_bytes', { kind: 'grpc', type: 'route' })).toBeGreaterThan(50);

    // Replica shares: exact ring arcs for the three replicas, summing to 1.
    await h.tether.metrics.sessionSharesSettled();
    text = await scrape();
    const shares = replicas.map((r) => value(text, 'tether_replica_session_share', { service: 'sticky', replica: r.address }) ?? NaN);
    expect(shares.every((s) => s > 0.1 && s < 0.6), JSON.stringify(shares)).toBe(true);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);

    // An edit: the node applies it, and the convergence histogram counts it.
    const before = value(text, 'tether_xds_convergence_seconds_count', { kind: 'grpc' }) ?? 0;
    const result = await h.tether.manager.mutate('test', edits.removeEndpoint('sticky', replicas[2]!.address), {});
    expect(await h.tether.registry.waitForConfigVersion(String(result.version), { timeoutMs: 5000 })).toBe(true);
    await waitFor('convergence observed', async () => ((value(await scrape(), 'tether_xds_convergence_seconds_count', { kind: 'grpc' }) ?? 0) > before ? true : undefined), 5000);
    await h.tether.metrics.sessionSharesSettled();
    text = await scrape();
    expect(value(text, 'tether_replica_session_share', { service: 'sticky', replica: replicas[2]!.address })).toBeUndefined();
    await hello(client, { 'x-user': 'alice' });
  });
});
