/**
 * Strong stickiness on a real Envoy (issue 12.8): the stateful-session cookie Envoy sets keeps a
 * session on its replica while replicas are added (whatever the hash says); when that replica is
 * removed, `strict` answers 503 and the default re-routes (and re-pins); the cookie carries the
 * configured lifetime (Max-Age) and Envoy stops honouring it after that; and the Secure and
 * SameSite attributes reach the client. Observed through requests via Envoy and its /clusters.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, request, type EnvoyProcess, type HttpReply } from '../support/envoy';
import { withEnvoy } from '../support/with-envoy';
import type { Replica } from '../../src/sample/replica';

type Json = Record<string, any>;

const at = (r: Replica) => `127.0.0.1:${r.httpPort}`;

/** `name=value` of the Set-Cookie for `name`, and its attributes (lower-cased names). */
function setCookie(reply: HttpReply, name: string): { pair: string; attributes: Map<string, string> } | undefined {
  const headers = reply.headers['set-cookie'] ?? [];
  const line = headers.find((h) => h.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...rest] = line.split(';').map((p) => p.trim());
  const attributes = new Map(rest.map((a) => {
    const eq = a.indexOf('=');
    return eq < 0 ? [a.toLowerCase(), ''] : [a.slice(0, eq).toLowerCase(), a.slice(eq + 1)];
  }));
  return { pair: pair!, attributes };
}

describe.skipIf(!envoyAvailable())('strong stickiness on a real Envoy', () => {
  const tethered = withEnvoy();
  const h = tethered.h;
  let port = 0;
  let envoy: EnvoyProcess;
  let pool: Replica[] = [];
  /** Each service's backend endpoints, edited by the tests. */
  const members: Record<string, Replica[]> = {};

  const config = (): Json => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: [
      {
        name: 'pin',
        domains: ['pin.test'],
        affinity: { keys: [{ header: 'x-user' }], strong: { cookie: { name: 'shop-pin', ttl: '8h', path: '/', secure: true, sameSite: 'strict' } } },
        routes: [{ backends: [{ name: 'pin-pool' }] }],
      },
      {
        name: 'strict',
        domains: ['strict.test'],
        affinity: { keys: [{ header: 'x-user' }], strong: { cookie: 'strict-pin', strict: true } },
        routes: [{ backends: [{ name: 'strict-pool' }] }],
      },
      {
        name: 'brief',
        domains: ['brief.test'],
        affinity: { keys: [{ header: 'x-user' }], strong: { cookie: { name: 'brief-pin', ttl: '1s' } } },
        routes: [{ backends: [{ name: 'brief-pool' }] }],
      },
    ],
    // A fixed ring: adding a replica changes only EDS. (With the default stable ring the Cluster
    // changes too, and Envoy then waits for EDS that Tether holds back until CDS is ACKed, which
    // Envoy does only after warming: a 15 s initial_fetch_timeout stall — reported separately.)
    backends: Object.entries(members).map(([name, replicas]) => ({ name, endpoints: replicas.map(at), balancer: { type: 'ring_hash', ring: 'fixed' } })),
  });

  const get = (host: string, user: string, cookie?: string) =>
    request(port, { headers: { host, 'x-user': user, ...(cookie ? { cookie } : {}) }, fresh: false });

  /** Rewrites the config and waits until Envoy's /clusters has exactly these hosts for the backend. */
  async function setMembers(backend: string, replicas: Replica[]): Promise<void> {
    members[backend] = replicas;
    h.writeConfig(config());
    const want = replicas.map(at).sort().join(',');
    await envoy.until(`${backend} = ${want} in Envoy`, async () => {
      const status = ((await envoy.clusters()).cluster_statuses as Json[]).find((c) => c.name === backend);
      const hosts = (status?.host_statuses ?? []).map((s: Json) => `${s.address.socket_address.address}:${s.address.socket_address.port_value}`);
      return hosts.sort().join(',') === want;
    }, 20_000, 100);
  }

  beforeAll(async () => {
    pool = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3'), await h.replica('r4')];
    members['pin-pool'] = pool.slice(0, 2);
    members['strict-pool'] = pool.slice(0, 2);
    members['brief-pool'] = pool.slice(0, 2);
    port = await freePort();
    envoy = await tethered.start(config(), port, { admin: false });
  });

  it('the cookie reaches the client with its lifetime, path, HttpOnly, Secure and SameSite', async () => {
    const reply = await get('pin.test', 'alice');
    expect(reply.status).toBe(200);
    const cookie = setCookie(reply, 'shop-pin');
    expect(cookie, JSON.stringify(reply.headers)).toBeDefined();
    expect(cookie!.attributes.get('max-age')).toBe('28800');
    expect(cookie!.attributes.get('path')).toBe('/');
    expect(cookie!.attributes.has('httponly')).toBe(true);
    expect(cookie!.attributes.has('secure')).toBe(true);
    expect(cookie!.attributes.get('samesite')).toBe('Strict');
    // No attributes configured, no attributes sent.
    const plain = setCookie(await get('strict.test', 'alice'), 'strict-pin');
    expect(plain).toBeDefined();
    expect([...plain!.attributes.keys()].sort()).toEqual(['httponly']);
  });

  it('a pinned session keeps its replica while replicas are added; without the cookie the same users spread', async () => {
    const first = await get('pin.test', 'bob');
    const pinned = first.json!.replica;
    const cookie = setCookie(first, 'shop-pin')!.pair;
    await setMembers('pin-pool', pool);
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const withCookie = await Promise.all(users.map((u) => get('pin.test', u, cookie)));
    expect(withCookie.map((r) => r.json?.replica)).toEqual(users.map(() => pinned));
    const without = new Set((await Promise.all(users.map((u) => get('pin.test', u)))).map((r) => r.json?.replica));
    expect(without.size).toBeGreaterThanOrEqual(3); // the hash alone would have moved most of them
  });

  it('the pinned replica removed: re-routed to another one and re-pinned (strict: false)', async () => {
    const first = await get('pin.test', 'carol');
    const pinned = pool.find((r) => r.id === first.json!.replica)!;
    const cookie = setCookie(first, 'shop-pin')!.pair;
    await setMembers('pin-pool', pool.filter((r) => r !== pinned));
    const reply = await get('pin.test', 'carol', cookie);
    expect(reply.status).toBe(200);
    expect(reply.json!.replica).not.toBe(pinned.id);
    const repin = setCookie(reply, 'shop-pin');
    expect(repin?.pair).toBeDefined();
    expect(repin!.pair).not.toBe(cookie);
    expect((await get('pin.test', 'someone-else', repin!.pair)).json!.replica).toBe(reply.json!.replica);
  });

  it('the pinned replica removed with strict: true answers 503', async () => {
    const first = await get('strict.test', 'dave');
    const pinned = pool.find((r) => r.id === first.json!.replica)!;
    const cookie = setCookie(first, 'strict-pin')!.pair;
    expect((await get('strict.test', 'dave', cookie)).json!.replica).toBe(pinned.id);
    await setMembers('strict-pool', pool.slice(0, 2).filter((r) => r !== pinned));
    const reply = await get('strict.test', 'dave', cookie);
    expect(reply.status).toBe(503);
    // A new session (no cookie) is still served.
    expect((await get('strict.test', 'dave')).status).toBe(200);
  });

  it('the lifetime is honoured: Max-Age=1, and Envoy stops following the cookie once it has expired', async () => {
    const first = await get('brief.test', 'erin');
    const issuedAt = Date.now();
    const pinned = first.json!.replica;
    const cookie = setCookie(first, 'brief-pin')!;
    expect(cookie.attributes.get('max-age')).toBe('1');
    // A user whose hash picks the other replica: the cookie, not the hash, decides while valid.
    let other: string | undefined;
    for (let i = 0; i < 50 && other === undefined; i++) {
      if ((await get('brief.test', `probe-${i}`)).json!.replica !== pinned) other = `probe-${i}`;
    }
    expect(other).toBeDefined();
    const early = await get('brief.test', other!, cookie.pair);
    if (Date.now() - issuedAt < 900) expect(early.json!.replica).toBe(pinned);
    const expired = await envoy.until('the brief cookie to expire', async () => {
      const r = await get('brief.test', other!, cookie.pair);
      return r.json!.replica !== pinned ? Date.now() : undefined;
    }, 10_000, 100);
    expect(expired - issuedAt).toBeGreaterThanOrEqual(900);
  });
});
