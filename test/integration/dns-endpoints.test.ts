/**
 * Hostname endpoints: Tether resolves them (EDS carries IPs), re-resolves periodically and
 * pushes changes; the real grpc-js-xds client follows. Replicas listen on 127.0.0.1 and
 * 127.0.0.2 (both loopback) with the same port, as two pods behind one DNS name would.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness, hello, waitFor } from '../support/harness';

const h = new Harness();
let dns: Record<string, string[]> = {};
const lookups: string[] = [];

beforeAll(async () => {
  const first = await h.replica('pod-a', 'v1', 0, '127.0.0.1');
  await h.replica('pod-b', 'v1', 0, '127.0.0.2', first.grpcPort);
  dns = { 'app.internal': ['127.0.0.1'] };
  await h.start(
    { services: [{ name: 'app', routes: [{ backends: [{ name: 'app' }] }] }], backends: [{ name: 'app', endpoints: [`app.internal:${first.grpcPort}`] }] },
    {
      resolveIntervalMs: 100,
      lookup: async (host) => {
        lookups.push(host);
        const addresses = dns[host];
        if (!addresses) throw new Error(`ENOTFOUND ${host}`);
        return addresses;
      },
    },
  );
});

afterAll(() => h.close());

it('serves resolved IPs and pushes re-resolved ones to the client', async () => {
  const client = h.client('app');
  const seen = async () => new Set((await Promise.all(Array.from({ length: 40 }, () => hello(client)))).map((r) => r.replica_id));
  expect(await seen()).toEqual(new Set(['pod-a']));
  expect(lookups).toContain('app.internal');

  dns = { 'app.internal': ['127.0.0.1', '127.0.0.2'] };
  await waitFor('the second address to receive traffic', async () => (await seen()).has('pod-b'), 10_000, 50);

  // A DNS failure keeps the last known addresses: traffic keeps reaching both pods.
  dns = {};
  await new Promise((r) => setTimeout(r, 400));
  expect(await seen()).toEqual(new Set(['pod-a', 'pod-b']));
});
