/**
 * Session affinity through a real Envoy, with HTTP requests to real sample replicas: header,
 * the cookie Envoy generates, client IP (distinct 127.0.x.y source addresses), query
 * parameter, the ordered fallback chain header → cookie → client IP, and maglev. Every request
 * is compared with what Explain (in-process, over what Tether serves) says Envoy picks; a few
 * go through the built `tether explain` too. The header, cookie and client-IP services are the
 * examples/ files' own, with the replicas' addresses put in.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainOutcome } from '../../src/explain';
import { mapBounded } from '../support/bounded';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess, type RequestOptions } from '../support/envoy';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { servedExplainer, type ServedExplainer } from '../support/served-explain';
import { cleanEnv, hasBuild, runCli } from '../cli/harness';

/** Requests in flight at once. */
const FLIGHT = 16;
const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
const COOKIE = /^shop-session="([0-9a-f]{16})"; Max-Age=3600; Path=\/; HttpOnly$/;

type Json = Record<string, any>;

/** An example's single service and backend, on `domain`, with `endpoints`. */
function fromExample(file: string, domain: string, endpoints: string[]): { service: Json; backend: Json } {
  const doc = parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as Json;
  const service = { ...doc.services[0], domains: [domain] };
  const backend = { ...doc.backends[0], endpoints };
  return { service, backend };
}

/** Distinct loopback client addresses: 127.0.<block>.1, .2, … */
const clientIps = (block: number, n: number) => Array.from({ length: n }, (_, i) => `127.0.${block}.${i + 1}`);

describe.skipIf(!envoyAvailable())('affinity through a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;
  let ex: ServedExplainer;
  /** Replica HTTP address → replica id. */
  const idOf = new Map<string, string>();
  // Header, query and maglev hashes do not depend on the connection: those requests reuse these.
  const shared = new http.Agent({ keepAlive: true, maxSockets: FLIGHT });

  /** One request through Envoy for `host`; the id of the replica that answered. */
  async function reach(host: string, options: RequestOptions = {}): Promise<{ replica: string; setCookie: string[]; clientAddress: string }> {
    const reply = await request(port, { ...options, headers: { host, ...options.headers } });
    if (reply.status !== 200 || !reply.json) throw new Error(`${host} ${options.path ?? '/'}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
    return { replica: reply.json.replica, setCookie: [reply.headers['set-cookie'] ?? []].flat(), clientAddress: reply.clientAddress };
  }

  /** The replica Explain names, or a description of why it names none. */
  const predicted = (outcome: ExplainOutcome): string =>
    outcome.pick ? (idOf.get(outcome.pick.address) ?? `unknown address ${outcome.pick.address}`) : `no pick: ${outcome.reason}`;

  /** Lines for every key where Explain and Envoy disagree (expected: none). */
  const disagreements = (labels: string[], explained: string[], reached: string[]) =>
    labels.flatMap((label, i) => (explained[i] === reached[i] ? [] : [`${label}: explain ${explained[i]}, Envoy ${reached[i]}`]));

  beforeAll(async () => {
    const replicas = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3')];
    const endpoints = replicas.map((r) => `127.0.0.1:${r.httpPort}`);
    replicas.forEach((r, i) => idOf.set(endpoints[i]!, r.id));
    port = await freePort();
    const header = fromExample('header-affinity.yaml', 'header.test', endpoints);
    const cookie = fromExample('cookie-affinity.yaml', 'cookie.test', endpoints);
    const ip = fromExample('client-ip-affinity.yaml', 'ip.test', endpoints);
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        header.service,
        cookie.service,
        ip.service,
        { name: 'query', domains: ['query.test'], affinity: { keys: [{ queryParameter: 'user' }] }, routes: [{ backends: [{ name: 'query-v1' }] }] },
        {
          name: 'chain',
          domains: ['chain.test'],
          // No cookie ttl: Envoy hashes the cookie only when sent, so a request without it falls to the client IP.
          affinity: { keys: [{ header: 'x-user' }, { cookie: 'sid' }, { clientIp: true }] },
          routes: [{ backends: [{ name: 'chain-v1' }] }],
        },
        { name: 'maglev', domains: ['maglev.test'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'maglev-v1' }] }] },
      ],
      backends: [
        header.backend,
        cookie.backend,
        ip.backend,
        { name: 'query-v1', endpoints },
        { name: 'chain-v1', endpoints },
        { name: 'maglev-v1', endpoints, balancer: { type: 'maglev' } },
      ],
    });
    ex = await servedExplainer(h.tether);
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    // Every virtual host routes (RDS and every cluster's EDS are in) before anything is measured.
    for (const host of ['header.test', 'cookie.test', 'ip.test', 'query.test', 'chain.test', 'maglev.test']) {
      await envoy.until(`a reply from ${host}`, async () => (await request(port, { headers: { host, 'x-user': 'warm-up' } })).status === 200);
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

  it('header: 50 users × 20 requests each stay on one replica; 300 users cover all; explain names Envoy’s pick for 1,000 users', async () => {
    const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const reached = await mapBounded(users, FLIGHT, async (u) => (await reach('header.test', { headers: { 'x-user': u }, agent: shared })).replica);
    const explained = users.map((u) => predicted(ex.explain({ service: 'sticky-svc', headers: { 'x-user': u } })));
    expect(disagreements(users, explained, reached)).toEqual([]);
    expect(new Set(reached.slice(0, 300)).size).toBe(3);

    const repeats = users.slice(0, 50).flatMap((u, i) => Array.from({ length: 19 }, () => ({ u, i })));
    const again = await mapBounded(repeats, FLIGHT, async ({ u }) => (await reach('header.test', { headers: { 'x-user': u }, agent: shared })).replica);
    const moved = repeats.filter(({ i }, k) => again[k] !== reached[i]).map(({ u }, k) => `${u} → ${again[k]}`);
    expect(moved).toEqual([]);
  });

  it('a header sent several times: Envoy sorts the values and chains their hashes; explain agrees for 100 users', async () => {
    const users = Array.from({ length: 100 }, (_, i) => [`dup-b-${i}`, `dup-a-${i}`, ...(i % 2 ? [`dup-c-${i}`] : [])]);
    const reached = await mapBounded(users, FLIGHT, async (values) => (await reach('header.test', { headers: { 'x-user': values }, agent: shared })).replica);
    const explained = users.map((values) => predicted(ex.explain({ service: 'sticky-svc', headers: { 'x-user': values } })));
    expect(disagreements(users.map((v) => v.join(' + ')), explained, reached)).toEqual([]);
    // The order the lines arrive in does not matter.
    const reversed = await mapBounded(users, FLIGHT, async (values) => (await reach('header.test', { headers: { 'x-user': [...values].reverse() }, agent: shared })).replica);
    expect(disagreements(users.map((v) => v.join(' + ')), reversed, reached)).toEqual([]);
  });

  it('cookie: Envoy sets it (name, Max-Age, Path) on 200 first visits, later requests with it stick, explain predicts both', async () => {
    const visits = Array.from({ length: 200 }, (_, i) => i);
    const first = await mapBounded(visits, FLIGHT, () => reach('cookie.test'));
    const listener = `127.0.0.1:${port}`;
    const labels = first.map((f) => `client ${f.clientAddress}`);
    for (const f of first) expect(f.setCookie, f.clientAddress).toEqual([expect.stringMatching(COOKIE)]);
    const values = first.map((f) => COOKIE.exec(f.setCookie[0]!)![1]!);
    expect(new Set(values).size).toBe(visits.length);

    // The cookie Envoy generates comes from the connection's two addresses: explain predicts its exact text and the replica.
    const generated = first.map((f) => ex.explain({ service: 'shop', connection: { remote: f.clientAddress, local: listener } }));
    expect(disagreements(labels, generated.map((o) => o.setCookie ?? `no cookie: ${o.reason}`), first.map((f) => f.setCookie[0]!))).toEqual([]);
    expect(disagreements(labels, generated.map(predicted), first.map((f) => f.replica))).toEqual([]);

    // Later requests carry the cookie as the client got it, each on a new connection: same replica, no new cookie.
    const later = visits;
    const back = await mapBounded(later, FLIGHT, (i) => reach('cookie.test', { headers: { cookie: `shop-session="${values[i]}"` } }));
    expect(disagreements(later.map((i) => labels[i]!), back.map((b) => b.replica), later.map((i) => first[i]!.replica))).toEqual([]);
    expect(back.filter((b) => b.setCookie.length > 0)).toEqual([]);
    const withCookie = values.map((v) => predicted(ex.explain({ service: 'shop', cookies: { 'shop-session': `"${v}"` } })));
    expect(disagreements(labels, withCookie, first.map((f) => f.replica))).toEqual([]);
    expect(new Set(first.map((f) => f.replica)).size).toBe(3);
  });

  it('client IP: 240 clients on distinct 127.0.x.y addresses each stay on one replica; explain names it', async () => {
    const ips = clientIps(1, 240);
    const tries = ips.flatMap((ip) => [ip, ip]);
    const reached = await mapBounded(tries, FLIGHT, async (ip) => (await reach('ip.test', { localAddress: ip })).replica);
    const byIp = new Map<string, Set<string>>();
    tries.forEach((ip, k) => byIp.set(ip, (byIp.get(ip) ?? new Set()).add(reached[k]!)));
    expect([...byIp].filter(([, set]) => set.size !== 1).map(([ip, set]) => `${ip}: ${[...set].join(', ')}`)).toEqual([]);
    const explained = tries.map((ip) => predicted(ex.explain({ service: 'session-service', clientIp: ip })));
    expect(disagreements(tries, explained, reached)).toEqual([]);
    expect(new Set(reached).size).toBe(3);
  });

  it('client IP with X-Forwarded-For: no hop is trusted by default, so Envoy hashes the socket’s address; explain agrees', async () => {
    const forwarded = Array.from({ length: 60 }, (_, i) => `203.0.113.7, 198.51.100.${i + 1}`);
    const reached = await mapBounded(forwarded, FLIGHT, async (xff) => (await reach('ip.test', { localAddress: '127.0.4.1', headers: { 'x-forwarded-for': xff } })).replica);
    const explained = forwarded.map((xff) => predicted(ex.explain({ service: 'session-service', clientIp: '127.0.4.1', headers: { 'x-forwarded-for': xff } })));
    expect(disagreements(forwarded, explained, reached)).toEqual([]);
    // One socket address, one replica: the header a client writes does not choose it.
    expect(new Set(reached).size).toBe(1);
  });

  it('query parameter: the first `user` value decides wherever it sits in the query; explain agrees for 150 users', async () => {
    const users = Array.from({ length: 150 }, (_, i) => `q-${i}`);
    const paths = users.flatMap((u) => [`/?user=${u}`, `/search?x=1&user=${u}&user=other`]);
    const reached = await mapBounded(paths, FLIGHT, async (p) => (await reach('query.test', { path: p, agent: shared })).replica);
    const explained = paths.map((p) => predicted(ex.explain({ service: 'query', path: p })));
    expect(disagreements(paths, explained, reached)).toEqual([]);
    expect(users.filter((_, i) => reached[2 * i] !== reached[2 * i + 1])).toEqual([]);
    expect(new Set(reached).size).toBe(3);

    // A fragment in the path: Envoy answers 400 without routing, and explain says so.
    const fragment = await request(port, { headers: { host: 'query.test' }, path: '/?user=q-1#top' });
    expect(fragment.status).toBe(400);
    const refused = ex.explain({ service: 'query', path: '/?user=q-1#top' });
    expect(refused.pick).toBeUndefined();
    expect(refused.reason).toContain('HTTP 400');
  });

  it('fallback chain header → cookie → client IP: the first key present decides, whatever the later ones say', async () => {
    const ips = clientIps(2, 200);
    // Each group of requests must land together; the key named is the one that decides.
    const groups: Array<{ decides: string; requests: RequestOptions[] }> = [];
    for (let i = 0; i < 60; i++) {
      // Header present: the cookie and the client address vary and do not matter.
      groups.push({
        decides: 'header:x-user',
        requests: [
          { headers: { 'x-user': `chain-${i}`, cookie: `sid=a-${i}` }, localAddress: ips[i]! },
          { headers: { 'x-user': `chain-${i}`, cookie: `sid=b-${i}` }, localAddress: ips[i + 100]! },
          { headers: { 'x-user': `chain-${i}` }, localAddress: ips[(i + 7) % 200]! },
        ],
      });
      // No header, cookie present: the client address varies and does not matter.
      groups.push({
        decides: 'cookie:sid',
        requests: [
          { headers: { cookie: `other=1; sid=c-${i}` }, localAddress: ips[i]! },
          { headers: { cookie: `sid=c-${i}` }, localAddress: ips[199 - i]! },
        ],
      });
      // Neither: the client address decides.
      groups.push({ decides: 'clientIp', requests: [{ localAddress: ips[i]! }, { localAddress: ips[i]!, headers: { cookie: 'other=2' } }] });
    }
    const all = groups.flatMap((g, gi) => g.requests.map((o) => ({ o, gi })));
    const reached = await mapBounded(all, FLIGHT, async ({ o }) => (await reach('chain.test', o)).replica);
    const outcomes = all.map(({ o }) => ex.explain({ service: 'chain', headers: o.headers ?? {}, clientIp: o.localAddress! }));
    expect(disagreements(all.map(({ o }) => JSON.stringify(o)), outcomes.map(predicted), reached)).toEqual([]);
    expect(all.filter(({ gi }, k) => outcomes[k]!.usedKeys.join(',') !== groups[gi]!.decides)).toEqual([]);
    const landed = new Map<number, Set<string>>();
    all.forEach(({ gi }, k) => landed.set(gi, (landed.get(gi) ?? new Set()).add(reached[k]!)));
    expect([...landed].filter(([, set]) => set.size !== 1).map(([gi]) => JSON.stringify(groups[gi]))).toEqual([]);
    expect(new Set(reached).size).toBe(3);
  });

  it('maglev: 300 users, 100 of them twice, each on one replica; explain names Envoy’s pick', async () => {
    const users = Array.from({ length: 300 }, (_, i) => `mg-${i}`);
    const tries = [...users, ...users.slice(0, 100)];
    const reached = await mapBounded(tries, FLIGHT, async (u) => (await reach('maglev.test', { headers: { 'x-user': u }, agent: shared })).replica);
    const outcomes = tries.map((u) => ex.explain({ service: 'maglev', headers: { 'x-user': u } }));
    expect(outcomes.every((o) => o.pick?.balancer === 'maglev' && o.pick.size === 65537)).toBe(true);
    expect(disagreements(tries, outcomes.map(predicted), reached)).toEqual([]);
    expect(users.slice(0, 100).filter((_, i) => reached[300 + i] !== reached[i])).toEqual([]);
    expect(new Set(reached).size).toBe(3);
  });

  it.skipIf(!hasBuild)('the built `tether explain` names the replica Envoy picked (header, generated cookie, client IP)', async () => {
    const env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    const header = await reach('header.test', { headers: { 'x-user': 'cli-user' } });
    const visit = await reach('cookie.test');
    const ip = await reach('ip.test', { localAddress: '127.0.3.9' });
    const calls = [
      ['sticky-svc', '-H', 'x-user=cli-user'],
      ['shop', '--remote-address', visit.clientAddress, '--local-address', `127.0.0.1:${port}`],
      ['session-service', '--client-ip', '127.0.3.9'],
    ];
    const answers = await Promise.all(calls.map((args) => runCli(['explain', ...args, '-o', 'json'], { env, cwd: h.dir, timeoutMs: 30_000 })));
    for (const res of answers) expect(res.code, res.stderr).toBe(0);
    const [byHeader, byCookie, byIp] = answers.map((res) => JSON.parse(res.stdout));
    const replicaOf = (json: { pick?: { address: string }; reason: string }) => (json.pick ? idOf.get(json.pick.address) : `no pick: ${json.reason}`);
    expect(replicaOf(byHeader)).toBe(header.replica);
    expect(replicaOf(byCookie)).toBe(visit.replica);
    expect(byCookie.set_cookie).toBe(visit.setCookie[0]);
    expect(replicaOf(byIp)).toBe(ip.replica);
  });
});
