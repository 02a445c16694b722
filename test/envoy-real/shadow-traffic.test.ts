/**
 * Shadow traffic on a real Envoy (issue 12.10): the configured fraction of requests reaches the
 * shadow backend (counted on the shadow replica itself, within binomial tolerance over 2,000
 * requests) while clients only ever see the primary's replies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import type { Replica } from '../../src/sample/replica';

const REQUESTS = 2000;
const PERCENT = 10;
const CONCURRENCY = 20;

describe.skipIf(!envoyAvailable())('shadow traffic on a real Envoy', () => {
  const h = new Harness();
  let port = 0;
  let envoy: EnvoyProcess;
  let shadow: Replica;

  beforeAll(async () => {
    const primary = await h.replica('primary-1', 'v1');
    shadow = await h.replica('shadow-1', 'v2');
    port = await freePort();
    await h.start(
      {
        listeners: [{ name: 'http', port, address: '127.0.0.1' }],
        services: [{ name: 'shop', domains: ['shop.test'], routes: [{ name: 'main', backends: [{ name: 'shop-v1' }], mirror: [{ backend: 'shop-v2', percent: PERCENT }] }] }],
        backends: [
          { name: 'shop-v1', endpoints: [`127.0.0.1:${primary.httpPort}`] },
          { name: 'shop-v2', endpoints: [`127.0.0.1:${shadow.httpPort}`] },
        ],
      },
      { admin: false },
    );
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitListening(port);
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it(`${PERCENT} % of ${REQUESTS} requests reach the shadow; clients see only the primary`, async () => {
    const before = shadow.stats().requests;
    const versions = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        next++;
        const reply = await request(port, { headers: { host: 'shop.test', 'x-user': `u${next}` }, fresh: false });
        const key = `${reply.status} ${reply.json?.replica}`;
        versions.set(key, (versions.get(key) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(Object.fromEntries(versions)).toEqual({ '200 primary-1': REQUESTS });

    // Envoy does not wait for the shadow: count once every mirrored request Envoy sent has landed.
    const mirrored = await envoy.until('the mirrored requests to complete', async () => {
      const sent = await envoy.stat('cluster.shop-v2.upstream_rq_completed');
      return sent !== undefined && sent > 0 && shadow.stats().requests - before === sent ? sent : undefined;
    }, 15_000, 100);
    console.info(`shadow traffic: ${mirrored} of ${REQUESTS} requests mirrored (${(mirrored / REQUESTS * 100).toFixed(1)} %, configured ${PERCENT} %)`);
    // Binomial: mean 200, sd ≈ 13.4; ±60 is 4.5 sd.
    expect(Math.abs(mirrored - (REQUESTS * PERCENT) / 100)).toBeLessThanOrEqual(60);
    expect(await envoy.stat('cluster.shop-v2.upstream_rq_2xx')).toBe(mirrored);
    await envoy.expectNoRejections();
  });
});
