/**
 * Envoy's limits that a Tether config can reach, on a real Envoy: a config at each of Tether's
 * limits is applied by Envoy (no update rejected) and routes, and one step past each, Envoy
 * itself refuses (`envoy --mode validate` on the same values): so Tether's limits are Envoy's.
 * Tether's refusals past them are tested in test/config/envoy-limits.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, staticBootstrap, validateWithEnvoy, type EnvoyProcess } from '../support/envoy';

const MAX_WEIGHT_SUM = 4_294_967_295;
const MAX_SECONDS = 9_223_372_035;
const MAX_HEADER_BYTES = 16_384;
const MAX_RING = 8_388_608;

function cluster(lbPolicy: string, weights: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'c',
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: lbPolicy,
    ...extra,
    load_assignment: {
      cluster_name: 'c',
      endpoints: [{ lb_endpoints: weights.map((w, i) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 2 + i } } }, load_balancing_weight: w })) }],
    },
  };
}

const toCluster = (extra: Record<string, unknown> = {}) => [{ match: { prefix: '/' }, route: { cluster: 'c', ...extra } }];

describe.skipIf(!envoyAvailable())("Envoy's limits on a real Envoy", () => {
  const h = new Harness();
  const envoys: EnvoyProcess[] = [];
  let port = 0;
  let dir = '';

  beforeAll(async () => {
    const [a, b] = [await h.replica('r1'), await h.replica('r2')];
    port = await freePort();
    dir = fs.mkdtempSync(path.join(h.dir, 'validate-'));
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [{
        name: 'demo',
        affinity: { keys: [{ cookie: { name: 'session', ttl: `${MAX_SECONDS}s` } }] },
        routes: [
          // Not requested: an HTTP/1 client takes 16 KiB of headers in all (Node's limit too).
          { name: 'big', match: { prefix: '/big' }, headers: { response: { set: { 'x-big': 'b'.repeat(MAX_HEADER_BYTES) } } }, backends: [{ name: 'demo-v1' }] },
          { name: 'main', timeout: `${MAX_SECONDS}s`, backends: [{ name: 'demo-v1' }] },
        ],
      }],
      backends: [{
        name: 'demo-v1',
        balancer: { type: 'maglev' },
        endpoints: [{ address: `127.0.0.1:${a.httpPort}`, weight: MAX_WEIGHT_SUM - 1 }, { address: `127.0.0.1:${b.httpPort}`, weight: 1 }],
      }],
    });
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.close()));
    await h.close();
  });

  it('a config at every limit is applied and routes', async () => {
    const envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    envoys.push(envoy);
    await envoy.waitForStat('http.http.rds.http.update_success');
    await envoy.waitListening(port);
    const reply = await request(port, { path: '/' });
    expect(reply.status).toBe(200);
    // The weights are all but one unit on r1.
    expect(reply.json?.replica).toBe('r1');
    expect(String(reply.headers['set-cookie'])).toMatch(/^session=.*Max-Age=9223372035/);
    const dump = JSON.stringify(await envoy.configDump());
    expect(dump).toContain(`"timeout":"${MAX_SECONDS}s"`);
    expect(dump).toContain(`"value":"${'b'.repeat(MAX_HEADER_BYTES)}"`);
    await envoy.expectNoRejections();
  });

  it('endpoint weights in one locality: Envoy refuses a sum past 4294967295 (ring_hash and maglev)', () => {
    for (const policy of ['MAGLEV', 'RING_HASH']) {
      // A small ring: 4294967294:1 would otherwise grow it to 8M entries.
      const extra = policy === 'RING_HASH' ? { ring_hash_lb_config: { maximum_ring_size: 1024 } } : {};
      expect(validateWithEnvoy(dir, staticBootstrap({ routes: toCluster(), clusters: [cluster(policy, [MAX_WEIGHT_SUM - 1, 1], extra)] })).ok).toBe(true);
      const over = validateWithEnvoy(dir, staticBootstrap({ routes: toCluster(), clusters: [cluster(policy, [MAX_WEIGHT_SUM, 1], extra)] }));
      expect(over).toEqual({ ok: false, reason: 'The sum of weights of all upstream hosts in a locality exceeds 4294967295' });
    }
  });

  it('durations: Envoy refuses 9223372036s and more, in any Duration field', () => {
    const at = staticBootstrap({ routes: toCluster({ timeout: `${MAX_SECONDS}s` }), clusters: [cluster('ROUND_ROBIN', [1], { connect_timeout: `${MAX_SECONDS}s` })] });
    expect(validateWithEnvoy(dir, at).ok).toBe(true);
    const routeOver = validateWithEnvoy(dir, staticBootstrap({ routes: toCluster({ timeout: `${MAX_SECONDS + 1}s` }), clusters: [cluster('ROUND_ROBIN', [1])] }));
    expect(routeOver.ok).toBe(false);
    expect(routeOver.reason).toMatch(/Duration out-of-range/);
    const cookieOver = staticBootstrap({ routes: toCluster({ hash_policy: [{ cookie: { name: 's', ttl: `${MAX_SECONDS + 1}s` } }] }), clusters: [cluster('RING_HASH', [1])] });
    expect(validateWithEnvoy(dir, cookieOver).reason).toMatch(/Duration out-of-range/);
  });

  it('header values and names to add: Envoy refuses more than 16384 bytes', () => {
    const add = (key: string, value: string) => staticBootstrap({ routes: [{ match: { prefix: '/' }, direct_response: { status: 200 }, response_headers_to_add: [{ header: { key, value } }] }] });
    expect(validateWithEnvoy(dir, add('x-a', 'v'.repeat(MAX_HEADER_BYTES))).ok).toBe(true);
    expect(validateWithEnvoy(dir, add('x-a', 'v'.repeat(MAX_HEADER_BYTES + 1))).ok).toBe(false);
    expect(validateWithEnvoy(dir, add('x'.repeat(MAX_HEADER_BYTES), 'v')).ok).toBe(true);
    expect(validateWithEnvoy(dir, add('x'.repeat(MAX_HEADER_BYTES + 1), 'v')).ok).toBe(false);
  });

  it("ring sizes: Envoy's largest maximum_ring_size is Tether's, 8388608", () => {
    const ring = (size: number) => cluster('RING_HASH', [1], { ring_hash_lb_config: { minimum_ring_size: 1024, maximum_ring_size: size } });
    expect(validateWithEnvoy(dir, staticBootstrap({ routes: toCluster(), clusters: [ring(MAX_RING)] })).ok).toBe(true);
    expect(validateWithEnvoy(dir, staticBootstrap({ routes: toCluster(), clusters: [ring(MAX_RING + 1)] })).ok).toBe(false);
  });
});
