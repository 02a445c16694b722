import * as http from 'node:http';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startReplica, type Replica } from '../../src/sample/replica';
import { SAMPLE_SERVICE_NAME } from '../../src/sample/grpc-server';
import { createSampleClient, type HelloReply__Output, type SampleServiceClient } from '../../src/sample/sample-proto';
import type { SampleHttpReply } from '../../src/sample/http-server';
import { MAX_BODY_BYTES } from '../../src/sample/http-server';
import { freePort } from '../support/envoy';

const COLD_MS = 50;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function replica(options: Partial<Parameters<typeof startReplica>[0]> = {}): Promise<Replica> {
  const r = await startReplica({ id: 'replica-1', version: 'v2', coldDelayMs: COLD_MS, ...options });
  cleanups.push(() => r.close());
  return r;
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

function get(port: number, path: string, headers: Record<string, string> = {}, agent?: http.Agent): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, ms: performance.now() - started }));
    });
    req.on('error', reject);
  });
}

async function getJson(port: number, path: string, headers: Record<string, string> = {}): Promise<SampleHttpReply & { ms: number; replicaHeader: unknown }> {
  const res = await get(port, path, headers);
  expect(res.status).toBe(200);
  return { ...(JSON.parse(res.text) as SampleHttpReply), ms: res.ms, replicaHeader: res.headers['x-replica'] };
}

function client(address: string): SampleServiceClient {
  const c = createSampleClient(address);
  cleanups.push(() => c.close());
  return c;
}

function hello(c: SampleServiceClient, user: string, via: 'field' | 'metadata' = 'field'): Promise<{ reply: HelloReply__Output; header: grpc.Metadata; ms: number }> {
  const started = performance.now();
  const md = new grpc.Metadata();
  if (via === 'metadata' && user) md.set('x-user', user);
  return new Promise((resolve, reject) => {
    let header = new grpc.Metadata();
    const call = c.Hello({ user: via === 'field' ? user : '' }, md, (err, reply) =>
      err ? reject(err) : resolve({ reply: reply!, header, ms: performance.now() - started }),
    );
    call.on('metadata', (m) => (header = m));
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}


describe('HTTP', () => {
  it('reports id, version, echoes path and headers, sets x-replica', async () => {
    const r = await replica();
    const body = await getJson(r.httpPort, '/shop/cart?x=1', { 'x-user': 'alice', 'x-injected': 'yes', host: 'shop.internal' });
    expect(body).toMatchObject({ replica: 'replica-1', version: 'v2', user: 'alice', method: 'GET', path: '/shop/cart?x=1' });
    expect(body.headers).toMatchObject({ 'x-user': 'alice', 'x-injected': 'yes', host: 'shop.internal' });
    expect(body.replicaHeader).toBe('replica-1');
  });

  it('is slow on a user’s first request and fast after, per user', async () => {
    const r = await replica();
    const first = await getJson(r.httpPort, '/', { 'x-user': 'alice' });
    expect(first.cached).toBe(false);
    expect(first.latencyMs).toBeGreaterThanOrEqual(COLD_MS);
    expect(first.ms).toBeGreaterThanOrEqual(COLD_MS - 1);

    const second = await getJson(r.httpPort, '/', { 'x-user': 'alice' });
    expect(second.cached).toBe(true);
    expect(second.latencyMs).toBeLessThan(COLD_MS);

    const bob = await getJson(r.httpPort, '/', { 'x-user': 'bob' });
    expect(bob.cached).toBe(false);
    expect(bob.latencyMs).toBeGreaterThanOrEqual(COLD_MS);

    expect(r.stats()).toEqual({ requests: 3, users: 2, coldHits: 2, warmHits: 1 });
  });

  it('takes the user from the query when there is no x-user header; no user → no cache, no delay', async () => {
    const r = await replica({ coldDelayMs: 300 });
    const q = await getJson(r.httpPort, '/?user=carol');
    expect(q).toMatchObject({ user: 'carol', cached: false });
    expect((await getJson(r.httpPort, '/', { 'x-user': 'carol' })).cached).toBe(true);
    // The header wins over the query.
    expect((await getJson(r.httpPort, '/?user=dave', { 'x-user': 'carol' })).user).toBe('carol');

    const anon = await getJson(r.httpPort, '/anything');
    expect(anon).toMatchObject({ user: null, cached: false });
    expect(anon.latencyMs).toBeLessThan(300);
    expect(r.stats()).toEqual({ requests: 4, users: 1, coldHits: 1, warmHits: 2 });
  });

  it('answers /healthz with 200 ok without counting it', async () => {
    const r = await replica();
    const res = await get(r.httpPort, '/healthz');
    expect(res.status).toBe(200);
    expect(res.text.trim()).toBe('ok');
    expect(r.stats().requests).toBe(0);
  });

  it('shares one warm-up between concurrent first requests', async () => {
    const r = await replica();
    const [a, b] = await Promise.all([getJson(r.httpPort, '/', { 'x-user': 'eve' }), getJson(r.httpPort, '/', { 'x-user': 'eve' })]);
    expect([a.cached, b.cached]).toEqual([false, false]);
    expect(r.stats()).toMatchObject({ users: 1, coldHits: 2 });
    expect((await getJson(r.httpPort, '/', { 'x-user': 'eve' })).cached).toBe(true);
  });

  it('refuses bodies over 1 MiB and over-long session keys', async () => {
    const r = await replica();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.httpPort, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', (err) => (/EPIPE|ECONNRESET/.test(String(err)) ? undefined : reject(err)));
      req.write(Buffer.alloc(MAX_BODY_BYTES + 1024));
      req.end();
    });
    expect(status).toBe(413);
    // A small body is drained and ignored.
    const ok = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.httpPort, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end('hello');
    });
    expect(ok).toBe(200);
    expect((await get(r.httpPort, '/', { 'x-user': 'u'.repeat(300) })).status).toBe(400);
  });

  it('evicts the least recently used user past the cache capacity', async () => {
    const r = await replica({ coldDelayMs: 1, cacheCapacity: 2 });
    for (const u of ['a', 'b', 'a', 'c']) await getJson(r.httpPort, '/', { 'x-user': u }); // b is evicted
    expect(r.stats().users).toBe(2);
    expect((await getJson(r.httpPort, '/', { 'x-user': 'a' })).cached).toBe(true);
    expect((await getJson(r.httpPort, '/', { 'x-user': 'b' })).cached).toBe(false);
  });
});

describe('gRPC', () => {
  it('reports id and version, user from the request field or x-user metadata', async () => {
    const r = await replica();
    expect(r.address).toBe(`127.0.0.1:${r.grpcPort}`);
    const c = client(r.address);
    const first = await hello(c, 'alice');
    expect(first.reply).toMatchObject({ replica_id: 'replica-1', version: 'v2', user: 'alice', cached: false });
    expect(first.reply.latency_ms).toBeGreaterThanOrEqual(COLD_MS);
    expect(first.header.get('x-replica')).toEqual(['replica-1']);

    const second = await hello(c, 'alice', 'metadata');
    expect(second.reply).toMatchObject({ user: 'alice', cached: true });
    expect(second.reply.latency_ms).toBeLessThan(COLD_MS);

    const anon = await hello(c, '');
    expect(anon.reply).toMatchObject({ user: '', cached: false });
  });

  it('serves grpc.health.v1; setServing(false) fails it and /healthz while requests are still served', async () => {
    const r = await replica();
    const Health = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const health = new Health(r.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
    };
    cleanups.push(() => health.close());
    const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))));
    expect([await check(''), await check(SAMPLE_SERVICE_NAME), r.serving]).toEqual(['SERVING', 'SERVING', true]);
    r.setServing(false);
    expect([await check(''), await check(SAMPLE_SERVICE_NAME), r.serving]).toEqual(['NOT_SERVING', 'NOT_SERVING', false]);
    expect((await get(r.httpPort, '/healthz')).status).toBe(503);
    expect((await hello(client(r.address), 'gina')).reply.replica_id).toBe('replica-1');
    expect((await get(r.httpPort, '/', { 'x-user': 'gina' })).status).toBe(200);
    r.setServing(true);
    expect([await check(''), (await get(r.httpPort, '/healthz')).status]).toEqual(['SERVING', 200]);
  });

  it('shares the session cache with HTTP', async () => {
    const r = await replica();
    await getJson(r.httpPort, '/', { 'x-user': 'frank' });
    expect((await hello(client(r.address), 'frank')).reply.cached).toBe(true);
    expect(r.stats()).toEqual({ requests: 2, users: 1, coldHits: 1, warmHits: 1 });
  });

  it('refuses an over-long session key with INVALID_ARGUMENT', async () => {
    const r = await replica();
    await expect(hello(client(r.address), 'u'.repeat(300))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('lifecycle', () => {
  it('close() frees both ports and is idempotent', async () => {
    const r = await startReplica({ id: 'r', coldDelayMs: 1 });
    await getJson(r.httpPort, '/', { 'x-user': 'a' });
    const keepAlive = new http.Agent({ keepAlive: true });
    await get(r.httpPort, '/', {}, keepAlive); // an idle keep-alive connection must not block close
    await Promise.all([r.close(), r.close()]);
    keepAlive.destroy();
    expect(await portIsFree(r.httpPort)).toBe(true);
    expect(await portIsFree(r.grpcPort)).toBe(true);
  });

  it('fails requests still in their cold delay with 503 / UNAVAILABLE when closing', async () => {
    const r = await startReplica({ id: 'r', coldDelayMs: 5000 });
    const c = createSampleClient(r.address);
    const httpPending = get(r.httpPort, '/', { 'x-user': 'slow' });
    const grpcPending = hello(c, 'slow2').catch((err: grpc.ServiceError) => err.code);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await r.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await httpPending).status).toBe(503);
    expect(await grpcPending).toBe(grpc.status.UNAVAILABLE);
    c.close();
  });

  it('rejects a port already in use, releasing what it had bound', async () => {
    const r = await replica();
    await expect(startReplica({ id: 'dup', httpPort: r.httpPort })).rejects.toThrow(/EADDRINUSE/);
    const httpPort = await freePort();
    await expect(startReplica({ id: 'dup', httpPort, grpcPort: r.grpcPort })).rejects.toThrow(/No address added|EADDRINUSE/);
    expect(await portIsFree(httpPort)).toBe(true);
  });

  it('validates options', async () => {
    await expect(startReplica({ id: '' })).rejects.toThrow(/id/);
    await expect(startReplica({ id: 'x', httpPort: 70_000 })).rejects.toThrow(/httpPort/);
    await expect(startReplica({ id: 'x', coldDelayMs: -1 })).rejects.toThrow(/coldDelayMs/);
  });
});
