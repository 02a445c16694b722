import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionKeyPolicy } from '../../src/extproc';
import { commonOf, expectedBucket, requestBody, requestHeaders, setHeaders, startHarness, type Harness } from './helpers';

let h: Harness;

const policies: Record<string, SessionKeyPolicy> = {
  user: { sources: [{ header: 'x-user' }, { jsonBody: { path: 'user' } }] },
  conversation: { sources: [{ jsonBody: { path: 'metadata.conversation_id' } }] },
  indexed: { sources: [{ jsonBody: { path: 'messages[1].name' } }] },
  small: { sources: [{ jsonBody: { path: 'user', maxBytes: 100 } }, { header: 'x-fallback' }] },
  smallClosed: { sources: [{ jsonBody: { path: 'user', maxBytes: 100 } }], failureMode: 'closed' },
  closed: { sources: [{ jsonBody: { path: 'user' } }], failureMode: 'closed' },
  bodyFirst: { sources: [{ jsonBody: { path: 'user' } }, { header: 'x-user' }] },
};

const JSON_POST = { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' };
const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'llama', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', name: 'n-2', content: 'Hi' }], ...extra });

beforeAll(async () => {
  h = await startHarness({ services: new Map(Object.entries(policies)) });
});
afterAll(() => h?.close());

/** request_headers (with a body to come), then the body chunks; every response in order. */
async function post(service: string, chunks: (string | Buffer)[], headers: Record<string, string> = {}) {
  const stream = h.open({ 'x-tether-service': service });
  const responses = [await stream.send(requestHeaders({ ...JSON_POST, ...headers }, { endOfStream: chunks.length === 0 }))];
  for (let i = 0; i < chunks.length; i++) responses.push(await stream.send(requestBody(chunks[i]!, i === chunks.length - 1)));
  expect((await stream.end()).code).toBe(0);
  return responses;
}

describe('JSON body source', () => {
  test('asks for the buffered body with mode_override, then sets the key from the body', async () => {
    const [headers, body] = await post('user', [chat({ user: 'user-17' })]);
    expect(headers!.response).toBe('request_headers');
    expect(headers!.mode_override).toMatchObject({ request_body_mode: 'BUFFERED', response_header_mode: 'SKIP', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' });
    expect(commonOf(headers)?.header_mutation ?? null).toBeNull();
    expect(body!.response).toBe('request_body');
    expect(setHeaders(body)).toEqual({ 'x-tether-session': 'user-17', 'x-tether-bucket': String(expectedBucket('user-17')) });
    expect(commonOf(body)!.clear_route_cache).toBe(true);
  });

  test('dot paths and array indexes; numbers become their decimal form', async () => {
    expect(setHeaders((await post('conversation', [chat({ metadata: { conversation_id: 'conv-9' } })]))[1])['x-tether-session']).toBe('conv-9');
    expect(setHeaders((await post('conversation', [chat({ metadata: { conversation_id: 1234 } })]))[1])['x-tether-session']).toBe('1234');
    expect(setHeaders((await post('indexed', [chat()]))[1])['x-tether-session']).toBe('n-2');
    expect(setHeaders((await post('conversation', [chat({ metadata: {} })]))[1])).toEqual({});
  });

  test('a key in an earlier header source means the body is never asked for', async () => {
    const [headers] = await post('user', [], { 'x-user': 'header-user' });
    expect(headers!.mode_override).toBeUndefined();
    expect(setHeaders(headers)['x-tether-session']).toBe('header-user');
  });

  test('several chunks: intermediate chunks are answered empty, the last one decides', async () => {
    const body = chat({ user: 'chunky' });
    const responses = await post('user', [body.slice(0, 10), body.slice(10, 40), body.slice(40)]);
    expect(responses.map((r) => r.response)).toEqual(['request_headers', 'request_body', 'request_body', 'request_body']);
    expect(commonOf(responses[1])).toBeNull();
    expect(commonOf(responses[2])).toBeNull();
    expect(setHeaders(responses[3])['x-tether-session']).toBe('chunky');
  });

  test('a complete body with end_of_stream false (trailers follow) is decided at once', async () => {
    const stream = h.open({ 'x-tether-service': 'user' });
    await stream.send(requestHeaders(JSON_POST, { endOfStream: false }));
    const response = await stream.send(requestBody(chat({ user: 'trailered' }), false));
    expect(setHeaders(response)['x-tether-session']).toBe('trailered');
    // Anything after the decision is acknowledged without mutation.
    expect(commonOf(await stream.send(requestBody('', true)))).toBeNull();
    await stream.end();
  });

  test('oversized body: no key and the next source decides (open), 413 (closed)', async () => {
    const big = chat({ user: 'big', padding: 'x'.repeat(200) });
    const [, open] = await post('small', [big], { 'x-fallback': 'fb' });
    expect(setHeaders(open)['x-tether-session']).toBe('fb');
    // Over the limit across chunks, without content-length: decided at the chunk that crossed it.
    const stream = h.open({ 'x-tether-service': 'smallClosed' });
    await stream.send(requestHeaders(JSON_POST, { endOfStream: false }));
    expect(commonOf(await stream.send(requestBody(big.slice(0, 60), false)))).toBeNull();
    const rejected = await stream.send(requestBody(big.slice(60, 160), false));
    expect(rejected.response).toBe('immediate_response');
    expect(rejected.immediate_response!.status!.code).toBe('PayloadTooLarge');
    expect(rejected.immediate_response!.details).toBe('tether_session_key_body_too_large');
    await stream.end();
  });

  test('a content-length over maxBytes is decided from the headers: no body asked (open), 413 (closed)', async () => {
    const [open] = await post('small', [], { 'content-length': '5000', 'x-fallback': 'fb' });
    expect(open!.mode_override).toBeUndefined();
    expect(setHeaders(open)['x-tether-session']).toBe('fb');
    const stream = h.open({ 'x-tether-service': 'smallClosed' });
    const closed = await stream.send(requestHeaders({ ...JSON_POST, 'content-length': '5000' }, { endOfStream: false }));
    expect(closed.immediate_response!.status!.code).toBe('PayloadTooLarge');
    await stream.end();
  });

  test('invalid JSON: no key (open), 400 (closed)', async () => {
    const [, open] = await post('user', ['{"user": "unterminated']);
    expect(setHeaders(open)).toEqual({});
    expect(open!.response).toBe('request_body');
    const [, closed] = await post('closed', ['{"user": nope}']);
    expect(closed!.immediate_response!.status!.code).toBe('BadRequest');
    expect(closed!.immediate_response!.details).toBe('tether_session_key_body_invalid_json');
    // An empty body is no key, not invalid JSON, even when fail-closed.
    const [, empty] = await post('closed', ['']);
    expect(empty!.response).toBe('request_body');
    expect(setHeaders(empty)).toEqual({});
    // Valid JSON that is not an object, or binary garbage.
    expect(setHeaders((await post('user', ['["user"]']))[1])).toEqual({});
    expect(setHeaders((await post('user', [Buffer.from([0xff, 0xfe, 0x00, 0x7b])]))[1])).toEqual({});
  });

  test('a non-JSON content type or a request without a body is never buffered', async () => {
    const [plain] = await post('user', [], { 'content-type': 'text/plain' });
    expect(plain!.mode_override).toBeUndefined();
    const stream = h.open({ 'x-tether-service': 'user' });
    const textPost = await stream.send(requestHeaders({ ...JSON_POST, 'content-type': 'text/plain' }, { endOfStream: false }));
    expect(textPost.mode_override).toBeUndefined();
    expect(textPost.response).toBe('request_headers');
    await stream.end();
    const get = h.open({ 'x-tether-service': 'user' });
    expect((await get.send(requestHeaders({ ':method': 'GET', 'content-type': 'application/json' }, { endOfStream: true }))).mode_override).toBeUndefined();
    await get.end();
    // application/*+json with parameters counts as JSON.
    const [vendor, body] = await post('user', [chat({ user: 'v' })], { 'content-type': 'application/vnd.api+json; charset=utf-8' });
    expect(vendor!.mode_override).toBeDefined();
    expect(setHeaders(body)['x-tether-session']).toBe('v');
  });

  test('body before header in source order: a provisional key from the header, overwritten by the body', async () => {
    const [headers, body] = await post('bodyFirst', [chat({ user: 'from-body' })], { 'x-user': 'from-header' });
    expect(headers!.mode_override).toBeDefined();
    // Provisional: stands if Envoy never sends the body (allow_mode_override off).
    expect(setHeaders(headers)['x-tether-session']).toBe('from-header');
    expect(setHeaders(body)['x-tether-session']).toBe('from-body');
    const [, noUser] = await post('bodyFirst', [chat()], { 'x-user': 'from-header' });
    expect(setHeaders(noUser)['x-tether-session']).toBe('from-header');
  });
});
