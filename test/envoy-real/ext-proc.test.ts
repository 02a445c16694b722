/**
 * Issue 12.11: ext_proc session keys through a real Envoy. examples/session-key.yaml (only its
 * listener port and endpoints changed) served by Tether with its in-process ext_proc server,
 * which the gateway bootstrap's tether-extproc cluster points at. Envoy runs the filter on the
 * chat routes, hashes the header Tether's server writes, and re-matches routes on the bucket:
 * a JWT `sub` and a JSON body's `user` keep a user on one replica, a minted cookie is set and
 * then honoured, the bucket canary takes the users it should. With the ext_proc server stopped
 * (`tether ext-proc`, the built CLI, killed by PID), fail-open (extProc.failureModeAllow, the
 * default) still serves and fail-closed refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess, type HttpReply } from '../support/envoy';
import { expectedBucket, unsigned } from '../extproc/helpers';
import type { Replica } from '../../src/sample/replica';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const EXAMPLE = path.join(ROOT, 'examples', 'session-key.yaml');

/** The example, with the listener on 127.0.0.1:port and the backends on local replicas. */
function exampleConfig(port: number, v1: Replica[], v2: Replica[], extProc: Record<string, unknown> = {}): string {
  const doc = parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  doc.listeners[0].port = port;
  doc.listeners[0].address = '127.0.0.1';
  doc.backends.find((b: { name: string }) => b.name === 'chat-v1').endpoints = v1.map((r) => `127.0.0.1:${r.httpPort}`);
  doc.backends.find((b: { name: string }) => b.name === 'chat-v2').endpoints = v2.map((r) => `127.0.0.1:${r.httpPort}`);
  if (Object.keys(extProc).length > 0) doc.extProc = extProc;
  return stringify(doc);
}

const CANARY_END = 1000;
/** Users on either side of the canary's bucket range [0, 1000). */
const users = (canary: boolean, n: number): string[] =>
  Array.from({ length: 400 }, (_, i) => `user-${i}`)
    .filter((u) => (expectedBucket(u) < CANARY_END) === canary)
    .slice(0, n);

const bearer = (sub: string) => ({ authorization: `Bearer ${unsigned({ sub })}` });

function seen(reply: HttpReply): { replica: string; version: string; session?: string; bucket?: string } {
  expect(reply.status, reply.body).toBe(200);
  const json = reply.json!;
  return { replica: json.replica, version: json.version, session: json.headers['x-tether-session'], bucket: json.headers['x-tether-bucket'] };
}

describe.skipIf(!envoyAvailable())('ext_proc session keys through a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;
  let v1: Replica[];
  let v2: Replica[];

  beforeAll(async () => {
    v1 = [await h.replica('v1-a'), await h.replica('v1-b'), await h.replica('v1-c')];
    v2 = [await h.replica('v2-a', 'v2')];
    port = await freePort();
    const tether = await h.start(exampleConfig(port, v1, v2), { watch: false, admin: false, extProc: { host: '127.0.0.1', port: 0 } });
    envoy = await startEnvoy({ xdsPort: tether.xdsPort, extProcPort: tether.extProcPort, bootstrap: 'gateway' });
    await envoy.waitConnected();
    await envoy.waitListening(port);
  });
  afterEach(async () => envoy && (await envoy.expectNoRejections()));
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  const chat = (options: { headers?: Record<string, string>; body?: string } = {}) =>
    request(port, { path: '/v1/chat/completions', headers: { host: 'chat.local', ...options.headers }, ...(options.body !== undefined ? { body: options.body } : {}) });

  it('a JWT sub claim keys the request: one replica per user, whatever else the request carries', async () => {
    const placed = new Map<string, string>();
    for (const sub of users(false, 8)) {
      const replies = [];
      // x-user (the service's own fallback key) changes each time: the claim must win.
      for (let i = 0; i < 3; i++) replies.push(seen(await chat({ headers: { ...bearer(sub), 'x-user': `other-${i}` } })));
      expect(replies.map((r) => r.session)).toEqual([sub, sub, sub]);
      expect(replies[0]!.bucket).toBe(String(expectedBucket(sub)));
      expect(new Set(replies.map((r) => r.replica)).size, `${sub} moved between replicas`).toBe(1);
      expect(replies[0]!.version).toBe('v1');
      placed.set(sub, replies[0]!.replica);
    }
    // Keys spread: stickiness is by key, not everyone on one replica.
    expect(new Set(placed.values()).size).toBeGreaterThan(1);
  });

  it('the bucket header re-matches the route: canary users reach chat-v2, always', async () => {
    for (const sub of users(true, 3)) {
      for (let i = 0; i < 2; i++) {
        const r = seen(await chat({ headers: bearer(sub) }));
        expect(r.version, `${sub} (bucket ${expectedBucket(sub)})`).toBe('v2');
      }
    }
    // A client cannot pick its own bucket: the header it sends is overwritten.
    const [sub] = users(false, 1);
    expect(seen(await chat({ headers: { ...bearer(sub!), 'x-tether-bucket': '1' } })).version).toBe('v1');
  });

  it('a JSON body field keys the request, the same key landing where the same JWT sub lands', async () => {
    for (const user of users(false, 4)) {
      const body = JSON.stringify({ model: 'm', user, messages: [{ role: 'user', content: 'hi' }] });
      const fromBody = [];
      for (let i = 0; i < 3; i++) fromBody.push(seen(await chat({ headers: { 'content-type': 'application/json' }, body })));
      expect(fromBody.map((r) => r.session)).toEqual([user, user, user]);
      expect(new Set(fromBody.map((r) => r.replica)).size).toBe(1);
      expect(fromBody[0]!.replica).toBe(seen(await chat({ headers: bearer(user) })).replica);
    }
  });

  it("a JSON body near the source's maxBytes (64 KiB) is keyed, though the listener's connection buffer is the edge's 32 KiB", async () => {
    const user = users(false, 1)[0]!;
    const body = JSON.stringify({ model: 'm', user, messages: [{ role: 'user', content: 'x'.repeat(60 * 1024) }] });
    expect(body.length).toBeGreaterThan(48 * 1024);
    const reply = seen(await chat({ headers: { 'content-type': 'application/json' }, body }));
    expect(reply.session).toBe(user);
    expect(reply.replica).toBe(seen(await chat({ headers: bearer(user) })).replica);
  });

  it('a request with no key gets a minted cookie, and the next request with it sticks to the same replica', async () => {
    const first = await chat();
    const set = first.headers['set-cookie'] ?? [];
    expect(set).toHaveLength(1);
    const m = /^chat-sid=([A-Za-z0-9_-]{22}); Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/.exec(set[0]!);
    expect(m, set[0]).not.toBeNull();
    const sid = m![1]!;
    const a = seen(first);
    expect(a.session).toBe(sid);
    for (let i = 0; i < 3; i++) {
      const next = await chat({ headers: { cookie: `other=1; chat-sid=${sid}` } });
      expect(next.headers['set-cookie']).toBeUndefined();
      const b = seen(next);
      expect(b.session).toBe(sid);
      expect(b.replica).toBe(a.replica);
    }
    // Another anonymous client gets another id.
    const other = await chat();
    expect(other.headers['set-cookie']?.[0]).not.toContain(sid);
  });

  it('extProc.address: Envoy takes the ext_proc cluster Tether sends over CDS (HTTP/2) and keys through it', async () => {
    const edited = exampleConfig(port, v1, v2, { cluster: 'session-keys', address: `127.0.0.1:${h.tether.extProcPort}` });
    expect(await h.tether.applyText(edited, 'ext_proc over CDS')).toMatchObject({ ok: true, changed: true });
    await envoy.until('Envoy to route ext_proc to session-keys', async () => {
      const dump = JSON.stringify(await envoy.configDump());
      return dump.includes('"cluster_name":"session-keys"') && dump.includes('"name":"session-keys"');
    });
    const clusters = await envoy.clusters();
    expect(clusters.cluster_statuses.map((c: { name: string }) => c.name)).toContain('session-keys');
    const [sub] = users(false, 1);
    const before = (await envoy.stat('cluster.session-keys.upstream_rq_total')) ?? 0;
    expect(seen(await chat({ headers: bearer(sub!) })).session).toBe(sub);
    // The stream went through the CDS cluster (a gRPC stream is one upstream request).
    expect(await envoy.stat('cluster.session-keys.upstream_rq_total')).toBeGreaterThan(before);
  });
});

/** `tether ext-proc` (the built CLI) as a child process; resolves with its port once it serves. */
async function startStandaloneExtProc(configFile: string, port = 0): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'ext-proc', '-c', configFile, '--host', '127.0.0.1', '--port', String(port), '--no-watch'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tether ext-proc did not start within 20 s:\n${out}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`tether ext-proc exited (${code}):\n${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"serving session key policies"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  });
  return { child, port: bound };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe.skipIf(!envoyAvailable() || !fs.existsSync(BIN))('with the ext_proc server stopped', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let extProc: { child: ChildProcess; port: number } | undefined;
  let port = 0;
  let v1: Replica[];
  let v2: Replica[];

  beforeAll(async () => {
    v1 = [await h.replica('v1-a'), await h.replica('v1-b')];
    v2 = [await h.replica('v2-a', 'v2')];
    port = await freePort();
    // Tether serves xDS only; the ext_proc server runs apart on the same file (README).
    await h.start(exampleConfig(port, v1, v2), { watch: false, admin: false });
    extProc = await startStandaloneExtProc(h.configPath);
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, extProcPort: extProc.port, bootstrap: 'gateway' });
    await envoy.waitConnected();
    await envoy.waitListening(port);
  });
  afterEach(async () => envoy && (await envoy.expectNoRejections()));
  afterAll(async () => {
    await envoy?.close();
    if (extProc) await stop(extProc.child);
    await h.close();
  });

  const chat = (headers: Record<string, string> = {}) => request(port, { path: '/v1/chat/completions', headers: { host: 'chat.local', ...headers } });

  /** The ext_proc filter's failure_mode_allow as Envoy has it (config_dump). */
  async function failureModeAllow(): Promise<boolean | undefined> {
    const dump = await envoy.configDump();
    const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'));
    const listener = listeners?.dynamic_listeners?.find((l: { name: string }) => l.name === 'http')?.active_state?.listener;
    const hcm = listener?.filter_chains?.[0]?.filters?.[0]?.typed_config;
    const filter = hcm?.http_filters?.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_proc');
    return filter ? filter.typed_config.failure_mode_allow === true : undefined;
  }

  it('fail-open (the default) keeps serving, unkeyed; fail-closed refuses; both as Envoy applies them', async () => {
    const [sub] = users(false, 1);
    const keyed = seen(await chat(bearer(sub!)));
    expect(keyed.session).toBe(sub);
    expect(await failureModeAllow()).toBe(true);

    await stop(extProc!.child);
    // Fail-open: served without a key (the route hashes x-user, the service's own key).
    const placed = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = seen(await chat({ ...bearer(sub!), 'x-user': 'bob' }));
      expect(r.session).toBeUndefined();
      placed.add(r.replica);
    }
    expect(placed.size).toBe(1);
    // Envoy's own account: the calls failed and were let through.
    expect(await envoy.stat('http.http.ext_proc.failure_mode_allowed')).toBeGreaterThanOrEqual(3);

    const applied = await h.tether.applyText(exampleConfig(port, v1, v2, { failureModeAllow: false }), 'fail closed');
    expect(applied).toMatchObject({ ok: true, changed: true });
    await envoy.until('Envoy to apply failure_mode_allow: false', async () => (await failureModeAllow()) === false);
    const refused = await chat(bearer(sub!));
    expect(refused.status).toBe(500);

    // The server back on its port (Envoy's cluster names it): keyed again, fail-closed or not.
    extProc = await startStandaloneExtProc(h.configPath, extProc!.port);
    await envoy.until('requests keyed again', async () => (await chat(bearer(sub!))).status === 200, 15_000, 100);
    expect(seen(await chat(bearer(sub!))).session).toBe(sub);
  });
});
