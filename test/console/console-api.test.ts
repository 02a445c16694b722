/**
 * The console's HTTP API on a real Tether (metrics port, 127.0.0.1): access as the admin API's
 * (bearer token; `open` only for loopback clients naming a loopback host), bad requests
 * answered with every field named, the change feed, and static files kept to the bundle.
 */
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import type { Tether } from '../../src/server/tether';

const CONFIG = `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    affinity: { keys: [{ header: x-user }] }
    routes: [{ name: main, backends: [{ name: shop-v1 }] }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:8080", "10.0.0.2:8080"]
`;

interface Reply {
  status: number;
  body: string;
  json: () => any;
}

function call(port: number, path: string, options: { method?: string; token?: string; body?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.host) headers.host = options.host;
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, json: () => JSON.parse(body) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('console API', () => {
  const h = new Harness();
  const open = new Harness();
  let tether: Tether;
  let port: number;
  let openPort: number;

  beforeAll(async () => {
    tether = await h.start(CONFIG, { metrics: { host: '127.0.0.1', port: 0 } });
    port = tether.metricsPort!;
    openPort = (await open.start(CONFIG, { metrics: { host: '127.0.0.1', port: 0 }, console: { open: true } })).metricsPort!;
  });
  afterAll(async () => {
    await h.close();
    await open.close();
  });

  it('needs the admin token; the page itself loads without one', async () => {
    expect((await call(port, '/console/api/overview')).json()).toEqual({ error: "missing 'authorization: Bearer <token>' metadata" });
    const wrong = await call(port, '/console/api/overview', { token: 'nope' });
    expect([wrong.status, wrong.json().error]).toEqual([401, 'invalid admin token']);
    const ok = await call(port, '/console/api/overview', { token: ADMIN_TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ version: 1, services: [{ name: 'shop', keys: ['header x-user'], routes: [{ name: 'main', backends: [{ backend: 'shop-v1', share: 1 }] }] }] });
    const page = await call(port, '/console/');
    expect(page.status === 200 || page.status === 503).toBe(true);
    expect((await call(port, '/console')).status).toBe(302);
    expect((await call(port, '/metrics')).status).toBe(200);
  });

  it('--console-open: loopback clients naming a loopback host need no token', async () => {
    expect((await call(openPort, '/console/api/nodes')).status).toBe(200);
    expect((await call(openPort, '/console/api/nodes', { host: `localhost:${openPort}` })).status).toBe(200);
    // A page on another origin that resolves to 127.0.0.1 (DNS rebinding) names its own host.
    expect((await call(openPort, '/console/api/nodes', { host: `evil.example:${openPort}` })).status).toBe(401);
    expect((await call(openPort, '/console/api/nodes', { token: ADMIN_TOKEN, host: `evil.example:${openPort}` })).status).toBe(200);
  });

  it('answers bad requests with every field named, and nothing else', async () => {
    const bad = await call(port, '/console/api/explain', { method: 'POST', token: ADMIN_TOKEN, body: JSON.stringify({ headers: ['x'], clientIp: 7, extra: 1 }) });
    expect(bad.status).toBe(400);
    expect(bad.json().fieldErrors).toEqual([
      { path: 'service', message: 'required' },
      { path: 'headers', message: 'must be an object of name → value' },
      { path: 'clientIp', message: 'must be a string, got number' },
      { path: 'extra', message: 'unknown field' },
    ]);
    const notJson = await call(port, '/console/api/what-if', { method: 'POST', token: ADMIN_TOKEN, body: '{' });
    expect([notJson.status, notJson.json().error]).toEqual([400, expect.stringContaining('the body is not JSON')]);
    const change = await call(port, '/console/api/what-if', { method: 'POST', token: ADMIN_TOKEN, body: JSON.stringify({ change: 'remove_endpoint', backend: 'shop-v1', address: '10.0.0.1:8080', weight: 3 }) });
    expect([change.status, change.json().fieldErrors]).toEqual([400, [{ path: 'remove_endpoint.weight', message: 'only AddEndpoint takes a weight' }]]);
    const unknown = await call(port, '/console/api/explain', { method: 'POST', token: ADMIN_TOKEN, body: JSON.stringify({ service: 'shoop' }) });
    expect([unknown.status, unknown.json().error]).toEqual([404, "unknown service 'shoop'; did you mean 'shop'?"]);
    expect((await call(port, '/console/api/diff?from=1&to=99', { token: ADMIN_TOKEN })).json()).toEqual({ error: 'version 99 is not in the history' });
    expect((await call(port, '/console/api/diff?from=x&to=1', { token: ADMIN_TOKEN })).status).toBe(400);
    expect((await call(port, '/console/api/rings?kind=toaster', { token: ADMIN_TOKEN })).status).toBe(400);
    expect((await call(port, '/console/api/toString', { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await call(port, '/console/api/explain', { token: ADMIN_TOKEN })).status).toBe(405);
    expect((await call(port, '/console/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await call(port, '/console/.key')).status).toBe(404);
  });

  it('explain answers as the admin API does, ring shares included', async () => {
    const res = await call(port, '/console/api/explain', { method: 'POST', token: ADMIN_TOKEN, body: JSON.stringify({ service: 'shop', headers: { 'x-user': 'alice' }, kind: 'envoy' }) });
    const body = res.json();
    expect(body).toMatchObject({ service: 'shop', route: 'main', predictable: true, pick: { cluster: 'shop-v1', balancer: 'ring_hash' } });
    const rings = (await call(port, '/console/api/rings', { token: ADMIN_TOKEN })).json();
    const ring = rings.rings.find((r: { cluster: string }) => r.cluster === 'shop-v1');
    expect(ring.replicas.map((r: { address: string; share: number }) => [r.address, r.share])).toEqual(body.pick.shares.map((s: { address: string; share: number }) => [s.address, s.share]));
  });

  it('the change feed says when the config changes', async () => {
    const events: string[] = [];
    const req = http.request({ host: '127.0.0.1', port, path: '/console/api/events', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const got = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} events: ${events.join(' | ')}`)), 10_000);
        const check = () => (events.length >= n ? (clearTimeout(timer), resolve()) : setTimeout(check, 20));
        check();
      });
    req.on('response', (res) => res.on('data', (d: Buffer) => events.push(...d.toString().split('\n\n').filter((e) => e.startsWith('event: change')))));
    req.end();
    await got(1);
    expect(events[0]).toContain('"version":1');
    await tether.manager.mutate('test', (doc) => ({ ...doc, backends: [{ name: 'shop-v1', endpoints: ['10.0.0.1:8080'] }] }), {});
    await got(2);
    expect(events[1]).toContain('"version":2');
    req.destroy();
  });
});
