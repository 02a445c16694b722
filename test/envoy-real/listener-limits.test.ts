/**
 * A listener's limits, timeouts and access log through a real Envoy: what /config_dump holds,
 * and what Envoy does with it: 431 for too many or too large request headers, a stalled
 * request stream reset (408) after streamIdle, a connection that never finishes its headers
 * closed after requestHeaders, an idle connection closed after idle, and a JSON access log
 * line on Envoy's stdout.
 */
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness } from '../support/harness';

type Json = Record<string, any>;

/** Writes `text` on a new connection and resolves with what came back and how long until Envoy closed it. */
function rawExchange(port: number, text: string, timeoutMs = 10_000): Promise<{ reply: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Envoy did not close the connection within ${timeoutMs} ms; got ${JSON.stringify(reply.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(text));
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closedAfterMs: Date.now() - started });
    });
  });
}

describe.skipIf(!envoyAvailable())('listener limits, timeouts and access log on a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;

  beforeAll(async () => {
    const replica = await h.replica('r1');
    port = await freePort();
    await h.start({
      listeners: [
        {
          name: 'web',
          port,
          address: '127.0.0.1',
          limits: { connectionBufferBytes: 16384, maxHeaders: 20, maxRequestHeadersKb: 8 },
          timeouts: { idle: '1500ms', streamIdle: '700ms', request: '30s', requestHeaders: '1s' },
        },
      ],
      services: [{ name: 'web', routes: [{ backends: [{ name: 'web-v1' }] }] }],
      backends: [{ name: 'web-v1', endpoints: [`127.0.0.1:${replica.httpPort}`] }],
    });
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, bootstrap: 'gateway', args: ['--file-flush-interval-msec', '100'] });
    await envoy.waitConnected();
    await envoy.until('a reply', async () => (await request(port)).status === 200);
  });
  afterEach(async () => {
    await envoy.expectNoRejections();
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it('/config_dump holds the buffer limit, header limits, timeouts, use_remote_address and the access log', async () => {
    const dump = await envoy.configDump();
    const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))!;
    const listener = (listeners.dynamic_listeners as Json[]).find((l) => l.name === 'web')!.active_state.listener;
    expect(listener.per_connection_buffer_limit_bytes).toBe(16384);
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    expect(hcm).toMatchObject({
      use_remote_address: true,
      max_request_headers_kb: 8,
      common_http_protocol_options: { idle_timeout: '1.500s', max_headers_count: 20 },
      stream_idle_timeout: '0.700s',
      request_timeout: '30s',
      request_headers_timeout: '1s',
      access_log: [{ name: 'envoy.access_loggers.stdout' }],
    });
    expect(hcm.access_log[0].typed_config.log_format.json_format).toMatchObject({ client: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', status: '%RESPONSE_CODE%' });
  });

  it('too many headers, or headers too large: 431', async () => {
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`x-h${i}`, 'v']));
    expect((await request(port, { headers: many })).status).toBe(431);
    expect((await request(port, { headers: { 'x-big': 'a'.repeat(9 * 1024) } })).status).toBe(431);
    // Within both limits: served.
    expect((await request(port, { headers: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-h${i}`, 'v'])) })).status).toBe(200);
  });

  it('a request whose body stalls is reset after streamIdle (408)', async () => {
    const { reply, closedAfterMs } = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 100\r\n\r\nonly-part');
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(600);
  });

  it('a connection that never finishes its headers is closed after requestHeaders', async () => {
    const { reply, closedAfterMs } = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: web\r\nX-Slow: ');
    expect(reply).toMatch(/^HTTP\/1\.1 408 |^$/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
  });

  it('an idle connection (no stream) is closed after idle', async () => {
    const { reply, closedAfterMs } = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: web\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(1400);
  });

  it('each request gets a JSON access log line on Envoy’s stdout', async () => {
    await request(port, { path: '/logged?x=1', headers: { 'user-agent': 'limits-test-agent' } });
    const line = await envoy.until('the access log line', () => envoy.logs().split('\n').find((l) => l.includes('limits-test-agent')));
    const entry = JSON.parse(line.slice(line.indexOf('{'))) as Json;
    expect(entry).toMatchObject({ method: 'GET', path: '/logged?x=1', status: 200, client: '127.0.0.1', upstream_cluster: 'web-v1', route: 'web-0' });
    // The 431s of the earlier test were logged too, with Envoy's reason.
    expect(envoy.logs()).toMatch(/"status":431/);
  });
});
