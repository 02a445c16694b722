/**
 * Issue 5, wired together: a real Tether (startTether, 127.0.0.1, ephemeral ports) serves its
 * ext_proc server beside xDS. Envoy's side of ext_proc is played by a grpc-js client built from
 * the real external_processor.proto (test/extproc/helpers.ts), sending what Envoy sends on a
 * route Tether configured (the x-tether-service initial metadata included), and the policies
 * come live from the served config: an applyText edit changes the next decision, no restart.
 * The same Tether's ADS server gives an Envoy node the ext_proc filter and a gRPC node none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsClient, decodeResources } from '../support/ads-client';
import { decodeMessage } from '../../src/envoy/encode';
import { Harness } from '../support/harness';
import { LISTENER_TYPE } from '../../src/envoy/resource-types';
import { EnvoyStream, expectedBucket, externalProcessorClient, requestHeaders, responseHeaders, setHeaders, type ExternalProcessorClient } from '../extproc/helpers';

const config = (sessionKey: string) => `
listeners: [{ name: http, port: 10000 }]
services:
  - name: chat
    domains: ["chat.example.com"]
    affinity:
      keys: [{ header: x-user }]
${sessionKey}
    routes: [{ backends: [{ name: chat-v1 }] }]
  - name: shop
    domains: ["shop.example.com"]
    routes: [{ backends: [{ name: chat-v1 }] }]
backends:
  - name: chat-v1
    endpoints: ["127.0.0.1:8081"]
`;

const ON_X_USER = config(`      sessionKey:
        sources: [{ header: x-user }]`);
const ON_SESSION_ID = config(`      sessionKey:
        sources: [{ header: x-session-id }]
        targetHeader: x-chat-key
        mintCookie: { name: chat-sid }`);
const WITHOUT = config('');

const h = new Harness();
let client: ExternalProcessorClient;

beforeAll(async () => {
  const tether = await h.start(ON_X_USER, { watch: false, admin: false, extProc: { host: '127.0.0.1', port: 0 } });
  expect(tether.extProcPort).toBeGreaterThan(0);
  client = externalProcessorClient(`127.0.0.1:${tether.extProcPort}`);
});

afterAll(async () => {
  client?.close();
  await h.close();
});

/** One HTTP request as Envoy runs it through ext_proc on a route of `service`. */
async function decide(service: string, headers: Record<string, string>): Promise<{ set: Record<string, string>; stream: EnvoyStream }> {
  const stream = new EnvoyStream(client, { 'x-tether-service': service });
  const response = await stream.send(requestHeaders({ ':authority': `${service}.example.com`, ...headers }));
  expect(response.request_headers, 'a HeadersResponse to request_headers').toBeTruthy();
  return { set: setHeaders(response), stream };
}

describe('tether serves ext_proc from its live config', () => {
  it('decides with the served policy (metadata names the service)', async () => {
    const { set, stream } = await decide('chat', { 'x-user': 'alice' });
    expect(set).toEqual({ 'x-tether-session': 'alice', 'x-tether-bucket': String(expectedBucket('alice')) });
    expect((await stream.end()).code).toBe(0);
  });

  it('a service without a sessionKey gets no mutation', async () => {
    const { set, stream } = await decide('shop', { 'x-user': 'alice' });
    expect(set).toEqual({});
    await stream.end();
  });

  it('an applyText edit of the policy changes the next decision; removing it stops them', async () => {
    const applied = await h.tether.applyText(ON_SESSION_ID, 'test edit');
    expect(applied).toMatchObject({ ok: true, changed: true });

    const found = await decide('chat', { 'x-user': 'alice', 'x-session-id': 's-42' });
    expect(found.set).toEqual({ 'x-chat-key': 's-42', 'x-tether-bucket': String(expectedBucket('s-42')) });
    await found.stream.end();

    // No key: the new policy mints a cookie and sets it on the response.
    const minted = await decide('chat', { 'x-user': 'alice' });
    expect(minted.set['x-chat-key']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const cookie = await minted.stream.send(responseHeaders());
    const added = cookie.response_headers?.response?.header_mutation?.set_headers ?? [];
    expect(added.map((o) => Buffer.from(o.header!.raw_value ?? '').toString())).toEqual([`chat-sid=${minted.set['x-chat-key']}; Path=/; HttpOnly`]);
    await minted.stream.end();

    expect(await h.tether.applyText(WITHOUT, 'test edit 2')).toMatchObject({ ok: true });
    const none = await decide('chat', { 'x-user': 'alice', 'x-session-id': 's-42' });
    expect(none.set).toEqual({});
    await none.stream.end();

    // An invalid edit is refused with its path, and the served policy stays.
    const bad = await h.tether.applyText(config(`      sessionKey: { sources: [{ header: X-Upper }] }`), 'bad edit');
    expect(bad).toEqual({
      ok: false,
      errors: [{ path: 'services[0].affinity.sessionKey.sources[0].header', message: 'must be lower case (Envoy lower-cases header names)' }],
    });
    expect(await h.tether.applyText(ON_X_USER, 'test edit 3')).toMatchObject({ ok: true });
    const back = await decide('chat', { 'x-user': 'bob' });
    expect(back.set['x-tether-session']).toBe('bob');
    await back.stream.end();
  });

  it('over ADS, an Envoy node gets the ext_proc filter and a gRPC node does not', async () => {
    const filtersOf = async (node: Record<string, unknown>): Promise<string[]> => {
      const ads = new AdsClient(`127.0.0.1:${h.tether.xdsPort}`, { node: { cluster: 'test', ...node } });
      try {
        ads.send(LISTENER_TYPE, []);
        const listeners = decodeResources(await ads.nextOf(LISTENER_TYPE)) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
        return listeners.flatMap((l) => {
          const packed = (l.filter_chains?.[0]?.filters?.[0]?.typed_config ?? l.api_listener?.api_listener) as { value: Uint8Array };
          const hcm = decodeMessage('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', packed.value);
          return (hcm.http_filters as Array<{ name: string }>).map((f) => `${l.name}:${f.name}`);
        });
      } finally {
        ads.close();
      }
    };
    expect(await filtersOf({ id: 'envoy-1', user_agent_name: 'envoy' })).toEqual(['http:envoy.filters.http.ext_proc', 'http:envoy.filters.http.router']);
    expect(await filtersOf({ id: 'grpc-1', user_agent_name: 'gRPC Node Pure JS' })).toEqual(['chat:envoy.filters.http.router', 'shop:envoy.filters.http.router']);
  });
});
