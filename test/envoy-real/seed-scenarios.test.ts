/**
 * The seed scenarios through a real Envoy, from the examples/ files as written (only the
 * listener port and the endpoints replaced by sample replicas):
 * - examples/header-prefix-canary.yaml (Iter8): `userhash` starting with 101 → candidate,
 *   anything else → baseline; each version's replica sees its rewritten Host, and clients see
 *   the `version` response header;
 * - examples/weighted-canary.yaml (Ray Serve): a 90/10 split measures 10 % ± 3 points over
 *   2,000 requests.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mapBounded } from '../support/bounded';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness } from '../support/harness';
import { servedExplainer, type ServedExplainer } from '../support/served-explain';

const FLIGHT = 16;

type Json = Record<string, any>;
const example = (file: string): Json => parse(fs.readFileSync(path.resolve(__dirname, '../../examples', file), 'utf8')) as Json;

describe.skipIf(!envoyAvailable())('seed scenarios through a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;
  let ex: ServedExplainer;
  // Route matching and the weighted pick are per request: requests reuse these connections.
  const shared = new http.Agent({ keepAlive: true, maxSockets: FLIGHT });

  beforeAll(async () => {
    const v1 = [await h.replica('v1-a', 'v1'), await h.replica('v1-b', 'v1')].map((r) => `127.0.0.1:${r.httpPort}`);
    const v2 = [`127.0.0.1:${(await h.replica('v2-a', 'v2')).httpPort}`];
    port = await freePort();
    const canary = example('header-prefix-canary.yaml');
    const weighted = example('weighted-canary.yaml');
    // Both examples name their old version's backend first (two replicas) and the new one second.
    for (const doc of [canary, weighted]) {
      doc.backends[0].endpoints = v1;
      doc.backends[1].endpoints = v2;
    }
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      // flowers answers Host example.com; shop (every domain) the rest.
      services: [...canary.services, ...weighted.services],
      backends: [...canary.backends, ...weighted.backends],
    });
    ex = await servedExplainer(h.tether);
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    for (const host of ['example.com', 'shop.test']) {
      await envoy.until(`a reply for ${host}`, async () => (await request(port, { headers: { host } })).status === 200);
    }
  });

  afterEach(async () => {
    await envoy.expectNoRejections();
  });

  afterAll(async () => {
    shared.destroy();
    await envoy?.close();
    await h.close();
  });

  it('Iter8: userhash prefix 101 → candidate (rewritten Host, version flowers-v2), anything else → baseline, every time', async () => {
    // 10-bit userhash values spread evenly over their first three bits: 1/8 start with 101.
    const hashes = [...Array.from({ length: 256 }, (_, i) => (i * 4).toString(2).padStart(10, '0')), '101', '1011', '10', '0101', '1101', '111'];
    const tries = hashes.flatMap((u) => [u, u]);
    const replies = await mapBounded(tries, FLIGHT, async (userhash) => {
      const reply = await request(port, { headers: { host: 'example.com', userhash }, agent: shared });
      if (reply.status !== 200 || !reply.json) throw new Error(`userhash ${userhash}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
      return { userhash, version: reply.headers.version, replica: reply.json.version, host: reply.json.headers.host };
    });
    const candidate = { version: 'flowers-v2', replica: 'v2', host: 'flowers-predictor-default.ns-candidate' };
    const baseline = { version: 'flowers-v1', replica: 'v1', host: 'flowers-predictor-default.ns-baseline' };
    const wrong = replies.filter((r) => {
      const want = r.userhash.startsWith('101') ? candidate : baseline;
      return r.version !== want.version || r.replica !== want.replica || r.host !== want.host;
    });
    expect(wrong).toEqual([]);
    expect(replies.filter((r) => r.version === 'flowers-v2').length).toBe(2 * (32 + 2));
    // Explain matches the same route Envoy took.
    const routes = hashes.map((userhash) => ex.explain({ service: 'flowers', headers: { host: 'example.com', userhash } }).route);
    expect(hashes.filter((u, i) => routes[i] !== (u.startsWith('101') ? 'candidate' : 'baseline'))).toEqual([]);
  });

  it('Ray Serve: a 90/10 split measures 10 % ± 3 points for v2 over 2,000 requests', async () => {
    const replies = await mapBounded(Array.from({ length: 2000 }, (_, i) => i), FLIGHT, async () => {
      const reply = await request(port, { headers: { host: 'shop.test' }, agent: shared });
      if (reply.status !== 200 || !reply.json) throw new Error(`HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
      return { version: reply.headers.version, replica: reply.json.version };
    });
    // The response header each backend sets names the version that answered.
    expect(replies.filter((r) => r.version !== r.replica)).toEqual([]);
    const share = replies.filter((r) => r.version === 'v2').length / replies.length;
    console.log(`weighted canary 90/10: v2 served ${(share * 100).toFixed(1)} % of 2,000 requests`);
    expect(share).toBeGreaterThanOrEqual(0.07);
    expect(share).toBeLessThanOrEqual(0.13);
  });
});
