import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXT_PROC_METHOD_PATH, type SessionKeyPolicy } from '../../src/extproc';
import { commonOf, requestBody, requestHeaders, responseHeaders, setHeaders, signHs, startHarness, unsigned, type Harness } from './helpers';

const SECRET = 'another-shared-secret-0123456789';
let h: Harness;

const policies: Record<string, SessionKeyPolicy> = {
  mint: {
    sources: [{ header: 'x-user' }],
    mintCookie: { name: 'tether-sid', ttlSeconds: 3600, sameSite: 'Lax' },
  },
  mintBody: {
    sources: [{ jsonBody: { path: 'user' } }],
    mintCookie: { name: 'sid', path: '/api', secure: true, httpOnly: false },
  },
  everything: {
    sources: [
      { jwtClaim: { claim: 'sub', verify: { hmacSecret: SECRET } } },
      { jwtClaim: { claim: 'sub', cookie: 'jwt' } },
      { header: 'x-user' },
      { cookie: 'sid' },
      { query: 'user' },
      { jsonBody: { path: 'user', maxBytes: 256 } },
    ],
    mintCookie: { name: 'sid' },
  },
  closed: { sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecret: SECRET } } }, { jsonBody: { path: 'user' } }], failureMode: 'closed', mintCookie: { name: 'sid' } },
};

beforeAll(async () => {
  h = await startHarness({ services: new Map(Object.entries(policies)) });
});
afterAll(() => h?.close());

describe('minting a session cookie', () => {
  test('no key → a random id is the key, set-cookie is appended to the response, and the next request reuses it', async () => {
    const first = h.open({ 'x-tether-service': 'mint' });
    const decided = await first.send(requestHeaders({}));
    const minted = setHeaders(decided)['x-tether-session']!;
    expect(minted).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const response = await first.send(responseHeaders({ ':status': '200', 'set-cookie': 'upstream=1' }));
    expect(response.response).toBe('response_headers');
    const option = commonOf(response)!.header_mutation!.set_headers![0]!;
    // Appended, never overwriting the upstream's own Set-Cookie: `append: true` with append_action
    // left at 0 (APPEND_IF_EXISTS_OR_ADD), which every Envoy version reads as "append".
    expect(option.append).toEqual({ value: true });
    expect(option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD').toBe('APPEND_IF_EXISTS_OR_ADD');
    expect(option.header!.key).toBe('set-cookie');
    expect(Buffer.from(option.header!.raw_value!).toString()).toBe(`tether-sid=${minted}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);
    await first.end();

    // The minted cookie is found although the policy lists no cookie source; nothing is minted again.
    const second = h.open({ 'x-tether-service': 'mint' });
    expect(setHeaders(await second.send(requestHeaders({ cookie: `tether-sid=${minted}` })))['x-tether-session']).toBe(minted);
    expect(commonOf(await second.send(responseHeaders()))).toBeNull();
    await second.end();
  });

  test('every stream mints its own id; a found key mints nothing', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const s = h.open({ 'x-tether-service': 'mint' });
      ids.add(setHeaders(await s.send(requestHeaders({})))['x-tether-session']!);
      await s.end();
    }
    expect(ids.size).toBe(20);
    const s = h.open({ 'x-tether-service': 'mint' });
    expect(setHeaders(await s.send(requestHeaders({ 'x-user': 'u' })))['x-tether-session']).toBe('u');
    expect(commonOf(await s.send(responseHeaders()))).toBeNull();
    await s.end();
  });

  test('with a body source: a provisional id at the headers, kept if the body has no key, dropped if it has', async () => {
    const noKey = h.open({ 'x-tether-service': 'mintBody' });
    const atHeaders = await noKey.send(requestHeaders({ ':method': 'POST', 'content-type': 'application/json' }, { endOfStream: false }));
    // Response headers are asked for because a cookie may have to be set.
    expect(atHeaders.mode_override).toMatchObject({ request_body_mode: 'BUFFERED', response_header_mode: 'SEND' });
    const provisional = setHeaders(atHeaders)['x-tether-session']!;
    expect(setHeaders(await noKey.send(requestBody('{"model":"m"}')))['x-tether-session']).toBe(provisional);
    const cookie = setHeaders(await noKey.send(responseHeaders()))['set-cookie'];
    expect(cookie).toBe(`sid=${provisional}; Path=/api; Secure`);
    await noKey.end();

    const withKey = h.open({ 'x-tether-service': 'mintBody' });
    await withKey.send(requestHeaders({ ':method': 'POST', 'content-type': 'application/json' }, { endOfStream: false }));
    expect(setHeaders(await withKey.send(requestBody('{"user":"body-user"}')))['x-tether-session']).toBe('body-user');
    expect(commonOf(await withKey.send(responseHeaders()))).toBeNull();
    await withKey.end();
  });

  test('fail-closed rejects instead of minting, and sets no cookie', async () => {
    const s = h.open({ 'x-tether-service': 'closed' });
    const rejected = await s.send(requestHeaders({ authorization: `Bearer ${signHs({ sub: 'x' }, 'wrong-secret-wrong-secret')}` }));
    expect(rejected.immediate_response!.status!.code).toBe('Unauthorized');
    expect(commonOf(await s.send(responseHeaders()))).toBeNull();
    await s.end();
  });
});

describe('robustness', () => {
  test('malformed input never breaks a stream or the server', async () => {
    const garbage: Record<string, string>[] = [
      { authorization: 'Bearer ' },
      { authorization: 'Bearer a.b' },
      { authorization: 'Bearer a.b.c.d' },
      { authorization: 'Bearer !!!.???.###' },
      { authorization: `Bearer ${Buffer.from('[1,2]').toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}.` },
      { authorization: `Bearer ${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('"str"').toString('base64url')}.x` },
      { authorization: `Bearer ${'A'.repeat(20_000)}.${'B'.repeat(20_000)}.C` },
      { authorization: `Bearer ${unsigned({ sub: 'x', exp: 'tomorrow' })}` },
      { cookie: 'jwt=; sid; =x; ;;; sid==' },
      { cookie: `jwt=${unsigned({ sub: null })}` },
      { ':path': '/?user=%E0%A4%A&&&=&user' },
      { ':path': '' },
      { 'x-user': 'line\r\nbreak\u0000' },
      { 'x-user': 'ünïcödé' },
      { 'x-user': 'x'.repeat(10_000) },
    ];
    for (const headers of garbage) {
      const s = h.open({ 'x-tether-service': 'everything' });
      const response = await s.send(requestHeaders(headers));
      expect(response.response).toBe('request_headers');
      const value = setHeaders(response)['x-tether-session'];
      // Always some header-safe key (a minted id at worst); unsafe keys are hashed.
      expect(value).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
      expect(value!.length).toBeLessThanOrEqual(4096);
      expect((await s.end()).code).toBe(0);
    }
    const unsafe = h.open({ 'x-tether-service': 'everything' });
    const hashed = setHeaders(await unsafe.send(requestHeaders({ 'x-user': 'line\r\nbreak' })))['x-tether-session'];
    expect(hashed).toBe(crypto.createHash('sha256').update('line\r\nbreak').digest('base64url'));
    await unsafe.end();

    for (const body of ['', '{', 'null', '{"user":{"nested":true}}', '{"user":""}', '{"__proto__":{"user":"p"}}', '\u0000\u0001']) {
      const s = h.open({ 'x-tether-service': 'everything' });
      const headers = await s.send(requestHeaders({ ':method': 'POST', 'content-type': 'application/json' }, { endOfStream: false }));
      const minted = setHeaders(headers)['x-tether-session'];
      const decided = await s.send(requestBody(body));
      expect(decided.response).toBe('request_body');
      expect(setHeaders(decided)['x-tether-session']).toBe(minted);
      await s.end();
    }
  });

  test('unexpected messages get an empty answer of the matching kind; observability mode gets none', async () => {
    const s = h.open({ 'x-tether-service': 'everything' });
    expect((await s.send(requestBody('{"user":"early"}'))).response).toBe('request_body');
    expect((await s.send(responseHeaders())).response).toBe('response_headers');
    expect((await s.send({ response_body: { body: Buffer.from('x'), end_of_stream: true } })).response).toBe('response_body');
    expect((await s.send({ request_trailers: { trailers: { headers: [] } } })).response).toBe('request_trailers');
    expect((await s.send({ response_trailers: { trailers: { headers: [] } } })).response).toBe('response_trailers');
    expect(await s.sendExpectingNothing({ ...requestHeaders({ 'x-user': 'u' }), observability_mode: true })).toBeUndefined();
    // A message with nothing set has no matching kind: no answer, the stream stays usable.
    expect(await s.sendExpectingNothing({})).toBeUndefined();
    expect(setHeaders(await s.send(requestHeaders({ 'x-user': 'after' })))['x-tether-session']).toBe('after');
    expect((await s.end()).code).toBe(0);

    const empty = h.open({ 'x-tether-service': 'everything' });
    expect((await empty.send({ request_headers: {} })).response).toBe('request_headers');
    await empty.end();
  });

  test('undecodable bytes end only that call; the server keeps serving', async () => {
    const raw = new grpc.Client(`127.0.0.1:${h.ext.port}`, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = raw.makeBidiStreamRequest(EXT_PROC_METHOD_PATH, (b: Buffer) => b, (b: Buffer) => b);
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', resolve);
      call.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      call.end();
    });
    raw.close();
    expect(status.code).not.toBe(grpc.status.OK);
    const s = h.open({ 'x-tether-service': 'everything' });
    expect(setHeaders(await s.send(requestHeaders({ 'x-user': 'still-here' })))['x-tether-session']).toBe('still-here');
    await s.end();
  });

  test('a client that goes away mid-request does not disturb others', async () => {
    const s = h.open({ 'x-tether-service': 'everything' });
    await s.send(requestHeaders({ ':method': 'POST', 'content-type': 'application/json' }, { endOfStream: false }));
    (s as unknown as { call: grpc.ClientDuplexStream<unknown, unknown> }).call.cancel();
    await s.status;
    const t = h.open({ 'x-tether-service': 'everything' });
    expect(setHeaders(await t.send(requestHeaders({ 'x-user': 'ok' })))['x-tether-session']).toBe('ok');
    await t.end();
    expect(h.ext.service.stats().errors).toBe(0);
  });
});

describe('logs', () => {
  test('name the key source and a short hash, never key material', async () => {
    const from = h.rawLogs.length;
    const marker = () => `SECRET-${crypto.randomBytes(6).toString('hex')}`;
    const secrets: string[] = [];
    const run = async (service: string, headers: Record<string, string>, body?: string) => {
      const s = h.open({ 'x-tether-service': service });
      const first = await s.send(requestHeaders(headers, { endOfStream: body === undefined }));
      const minted = setHeaders(first)['x-tether-session'];
      if (minted) secrets.push(minted);
      if (body !== undefined) {
        const decided = await s.send(requestBody(body));
        const key = setHeaders(decided)['x-tether-session'];
        if (key) secrets.push(key);
      }
      await s.send(responseHeaders());
      await s.end();
    };
    const verified = marker();
    const token = signHs({ sub: verified }, SECRET);
    secrets.push(verified, token);
    await run('everything', { authorization: `Bearer ${token}` });
    const unverified = marker();
    const badToken = signHs({ sub: unverified }, 'wrong-secret-wrong-secret');
    secrets.push(unverified, badToken);
    await run('everything', { authorization: `Bearer ${badToken}`, cookie: `jwt=${unsigned({ sub: unverified })}` });
    const closedToken = signHs({ sub: marker() }, 'wrong-secret-wrong-secret');
    secrets.push(closedToken);
    await run('closed', { authorization: `Bearer ${closedToken}` });
    const plain: Record<string, string>[] = [{ 'x-user': marker() }, { cookie: `sid=${marker()}` }, { ':path': `/?user=${marker()}` }];
    for (const headers of plain) {
      secrets.push(...Object.values(headers).map((v) => v.replace(/^.*=/, '')));
      await run('everything', headers);
    }
    const bodyKey = marker();
    secrets.push(bodyKey);
    await run('everything', { ':method': 'POST', 'content-type': 'application/json' }, JSON.stringify({ user: bodyKey }));
    const badJson = marker();
    secrets.push(badJson);
    await run('closed', { ':method': 'POST', 'content-type': 'application/json' }, `{"user": "${badJson}"`);
    await run('everything', {}); // minted

    const text = h.rawLogs.join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
    const lines = h.logs().slice(from);
    const decisions = lines.filter((l) => l.msg === 'ext_proc: session key');
    expect(new Set(decisions.map((l) => l.source))).toEqual(new Set(['jwt:sub', 'header:x-user', 'cookie:sid', 'query:user', 'json:user', 'minted']));
    for (const line of decisions) expect(line.keyHash).toMatch(/^[0-9a-f]{8}$/);
    expect(lines.some((l) => l.msg.includes('rejected') && l.reason === 'jwt_signature')).toBe(true);
    expect(lines.some((l) => l.msg.includes('rejected') && l.reason === 'body_invalid_json')).toBe(true);
  });
});
