/**
 * Explain over translated resources: route matching, hash policies, and the pick, checked
 * against src/affinity run directly on the model (so the translation round trip loses
 * nothing) and against Envoy's maglev vectors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { explain as affinityExplain, hex64, initHashing, rotl64, xxh64 } from '../../src/affinity';
import { TetherError } from '../../src/config/errors';
import { clusterBalancer, explainRequest, type ExplainQuery } from '../../src/explain';
import { decodeOutput } from '../../src/explain/wire';
import { encodeMessage, pack } from '../../src/envoy/encode';
import type { Cluster, Cluster__Output } from '../../src/generated/envoy/config/cluster/v3/Cluster';
import { served, stickyDoc, validConfig } from './explain-helpers';

beforeAll(() => initHashing());

const users = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);
const q = (extra: Partial<ExplainQuery> = {}): ExplainQuery => ({ service: 'shop', kind: 'envoy', ...extra });

describe('the pick', () => {
  for (const kind of ['envoy', 'grpc'] as const) {
    it(`${kind}: ring hash picks exactly what src/affinity picks for the model, with the ring entry`, () => {
      const doc = stickyDoc(5, { type: 'ring_hash', minRingSize: 1500, maxRingSize: 100_000 });
      const ctx = served(doc, kind);
      const backend = validConfig(doc).backends[0]!;
      const endpoints = backend.endpoints.map((e) => ({ ip: e.host, port: e.port, weight: e.weight }));
      for (const user of users(200)) {
        const got = explainRequest(q({ kind, headers: { 'x-user': user } }), ctx);
        const want = affinityExplain({ keys: [{ kind: 'header', name: 'x-user', terminal: false }], request: { headers: { 'x-user': user } }, flavour: kind, endpoints, balancer: backend.balancer });
        expect(got.requestHash).toBe(`0x${hex64(xxh64(user))}`);
        expect(got.pick?.address).toBe(want.host);
        expect(got.pick).toMatchObject({ cluster: 'shop-v1', balancer: 'ring_hash', backends: ['shop-v1'] });
        if (want.location?.kind !== 'ring_hash') throw new Error('expected a ring location');
        expect(got.pick?.index).toBe(want.location.index);
        // Under gRPC's 4096 cap both kinds build the configured 1500 entries.
        expect(got.pick?.size).toBe(1500);
        expect(got.pick?.entryHash).toBe(`0x${hex64(want.location.entryHash)}`);
      }
    });
  }

  it('kept pickers (ExplainContext.pickers): built once per kind and cluster, the same answers as building each time', () => {
    for (const balancer of [{ type: 'ring_hash' }, { type: 'maglev', tableSize: 211 }]) {
      const ctx = served(stickyDoc(4, balancer), 'envoy');
      const pickers = new Map();
      const kept = { ...ctx, pickers };
      for (const user of users(100)) {
        expect(explainRequest(q({ headers: { 'x-user': user } }), kept)).toEqual(explainRequest(q({ headers: { 'x-user': user } }), ctx));
      }
      // Besides the cluster's own, one per replica: the ring without it (the fallback).
      expect([...pickers.keys()].filter((k) => !k.includes(' without '))).toEqual(['envoy/shop-v1']);
      const picker = pickers.get('envoy/shop-v1');
      explainRequest(q({ headers: { 'x-user': 'again' } }), kept);
      expect(pickers.get('envoy/shop-v1')).toBe(picker);
    }
  });

  it('grpc: the ring is clamped to the 4096 cap as grpc-js-xds does', () => {
    const ctx = served(stickyDoc(3, { type: 'ring_hash', minRingSize: 10_000, maxRingSize: 100_000 }), 'grpc');
    expect(explainRequest(q({ kind: 'grpc', headers: { 'x-user': 'a' } }), ctx).pick?.size).toBe(4096);
    const envoy = served(stickyDoc(3, { type: 'ring_hash', minRingSize: 10_000, maxRingSize: 100_000 }), 'envoy');
    expect(explainRequest(q({ headers: { 'x-user': 'a' } }), envoy).pick?.size).toBe(10_002);
  });

  it("envoy maglev: Envoy's Basic vector (6 hosts, table 7 → 92 94 90 91 95 90 93)", () => {
    const doc = {
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'mg' }] }] }],
      backends: [{ name: 'mg', endpoints: [90, 91, 92, 93, 94, 95].map((p) => `127.0.0.1:${p}`), balancer: { type: 'maglev', tableSize: 7 } }],
    };
    const vector = [92, 94, 90, 91, 95, 90, 93];
    const ctx = served(doc, 'envoy');
    for (const user of users(50)) {
      const got = explainRequest(q({ headers: { 'x-user': user } }), ctx);
      const slot = Number(xxh64(user) % 7n);
      expect(got.pick).toMatchObject({ balancer: 'maglev', index: slot, size: 7, address: `127.0.0.1:${vector[slot]}`, backends: ['mg'] });
    }
    // gRPC nodes get a ring hash instead (grpc-js-xds has no maglev): default sizes, capped.
    const grpc = explainRequest(q({ kind: 'grpc', headers: { 'x-user': 'u' } }), served(doc, 'grpc'));
    expect(grpc.pick).toMatchObject({ balancer: 'ring_hash', size: 1026 });
  });

  it('excludes drained endpoints, exactly as a ring built without them', () => {
    const doc = stickyDoc(4);
    ((doc.backends as Array<{ endpoints: unknown[] }>)[0]!.endpoints)[1] = { address: '10.0.0.2:8080', drain: true };
    const without = stickyDoc(4);
    ((without.backends as Array<{ endpoints: unknown[] }>)[0]!.endpoints).splice(1, 1);
    for (const kind of ['envoy', 'grpc'] as const) {
      const a = served(doc, kind);
      const b = served(without, kind);
      for (const user of users(300)) {
        const got = explainRequest(q({ kind, headers: { 'x-user': user } }), a).pick;
        expect(got?.address).not.toBe('10.0.0.2:8080');
        expect(got).toEqual(explainRequest(q({ kind, headers: { 'x-user': user } }), b).pick);
      }
    }
  });

  it('weighted endpoints: one of weight 3 beside one of weight 1 serves about 3/4 of users', () => {
    const doc = stickyDoc(2);
    (doc.backends as Array<{ endpoints: unknown[] }>)[0]!.endpoints = ['10.0.0.1:8080', { address: '10.0.0.2:8080', weight: 3 }];
    // Kept pickers: 2,000 explains would otherwise build 2,000 rings (about 30 s on a loaded box).
    const ctx = { ...served(doc, 'envoy'), pickers: new Map() };
    const counts = new Map<string, number>();
    for (const user of users(2000)) {
      const a = explainRequest(q({ headers: { 'x-user': user } }), ctx).pick!.address;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    expect(counts.get('10.0.0.2:8080')! / 2000).toBeGreaterThan(0.68);
    expect(counts.get('10.0.0.2:8080')! / 2000).toBeLessThan(0.82);
  });
});

describe('hash policies', () => {
  const multi = (keys: unknown[]) => stickyDoc(3, { type: 'ring_hash' }, { affinity: { keys } });

  it('folds every key with a value (rotl64(h, 1) ^ h_i) and lists each step', () => {
    const ctx = served(multi([{ header: 'x-user', terminal: false }, { queryParameter: 'session', terminal: false }, { clientIp: true, terminal: false }]), 'envoy');
    const got = explainRequest(q({ headers: { 'x-user': 'alice' }, path: '/cart?session=s1&x=2', clientIp: '192.0.2.7' }), ctx);
    const h = rotl64(rotl64(xxh64('alice'), 1) ^ xxh64('s1'), 1) ^ xxh64('192.0.2.7');
    expect(got.requestHash).toBe(`0x${hex64(h)}`);
    expect(got.usedKeys).toEqual(['header:x-user', 'query:session', 'clientIp']);
    expect(got.steps.map((s) => [s.key, s.outcome, s.input])).toEqual([
      ['header:x-user', 'hashed', 'alice'],
      ['query:session', 'hashed', 's1'],
      ['clientIp', 'hashed', '192.0.2.7'],
    ]);
    expect(got.steps[0]!.hash).toBe(`0x${hex64(xxh64('alice'))}`);
  });

  it('a terminal key with a value stops the list; without one the next keys decide', () => {
    const ctx = served(multi([{ header: 'x-user', terminal: true }, { cookie: { name: 'sid' }, terminal: false }]), 'envoy');
    const hit = explainRequest(q({ headers: { 'x-user': 'alice', cookie: 'sid=abc' } }), ctx);
    expect(hit.requestHash).toBe(`0x${hex64(xxh64('alice'))}`);
    expect(hit.steps.map((s) => s.outcome)).toEqual(['hashed', 'skipped']);
    const miss = explainRequest(q({ headers: { cookie: 'other=1; sid="abc"' } }), ctx);
    expect(miss.requestHash).toBe(`0x${hex64(xxh64('abc'))}`);
    expect(miss.usedKeys).toEqual(['cookie:sid']);
  });

  it('a cookie with a ttl that the request lacks: Envoy generates it from the connection', () => {
    const ctx = served(multi([{ cookie: { name: 'sid', ttl: '1h', path: '/' } }]), 'envoy');
    const unpredictable = explainRequest(q({}), ctx);
    expect(unpredictable.pick).toBeUndefined();
    expect(unpredictable.reason).toMatch(/connection/);
    const got = explainRequest(q({ connection: { remote: '192.0.2.7:50000', local: '10.1.1.1:10000' } }), ctx);
    const value = hex64(xxh64('192.0.2.7:5000010.1.1.1:10000'));
    expect(got.setCookie).toBe(`sid="${value}"; Max-Age=3600; Path=/; HttpOnly`);
    expect(got.requestHash).toBe(`0x${hex64(xxh64(value))}`);
    expect(got.pick).toBeDefined();
  });

  it('no key present: a random pick, said so', () => {
    const got = explainRequest(q({}), served(stickyDoc(3), 'envoy'));
    expect(got.pick).toBeUndefined();
    expect(got.requestHash).toBeUndefined();
    expect(got.reason).toMatch(/no affinity key had a value.*random/);
  });

  it('grpc hashes header keys only (cookie and client-IP keys are not sent to it)', () => {
    const ctx = served(multi([{ cookie: { name: 'sid' } }, { header: 'x-user' }]), 'grpc');
    const got = explainRequest(q({ kind: 'grpc', headers: { 'x-user': 'a', cookie: 'sid=zzz' } }), ctx);
    expect(got.usedKeys).toEqual(['header:x-user']);
    expect(got.requestHash).toBe(`0x${hex64(xxh64('a'))}`);
    const none = explainRequest(q({ kind: 'grpc', cookies: { sid: 'zzz' } }), ctx);
    expect(none.reason).toMatch(/random/);
  });

  it('a service without affinity: no hash policy, a round-robin balancer', () => {
    const doc = stickyDoc(2);
    delete (doc.services as Array<Record<string, unknown>>)[0]!.affinity;
    (doc.backends as Array<Record<string, unknown>>)[0]!.balancer = { type: 'round_robin' };
    const got = explainRequest(q({ headers: { 'x-user': 'a' } }), served(doc, 'envoy'));
    expect(got.pick).toBeUndefined();
    expect(got.reason).toMatch(/round_robin does not hash/);
  });
});

describe('route matching (first match wins)', () => {
  const doc = {
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      {
        name: 'shop',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [
          { name: 'exact', match: { exact: '/admin', headers: { 'x-role': { exact: 'ops' } } }, backends: [{ name: 'b1' }] },
          { name: 'regex', match: { regex: '/v[0-9]+/items', headers: { 'x-version': { range: { start: 2, end: 10 } } } }, backends: [{ name: 'b2' }] },
          { name: 'strings', match: { headers: { 'x-tier': { prefix: 'GO', ignoreCase: true }, 'x-region': { suffix: '-1' }, 'x-tags': { contains: 'beta' } } }, backends: [{ name: 'b3' }] },
          { name: 'absent', match: { prefix: '/api', headers: { 'x-debug': { present: false }, 'user-agent': { contains: 'bot', invert: true } } }, backends: [{ name: 'b4' }] },
          { name: 'query', match: { prefix: '/search', queryParams: { q: { regex: '^[a-z]+$' }, page: { present: true } } }, backends: [{ name: 'b5' }] },
          { name: 'userhash', match: { headers: { userhash: { regex: '101.*' } } }, backends: [{ name: 'b6' }] },
          { name: 'rest', backends: [{ name: 'b7' }] },
        ],
      },
    ],
    backends: ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'].map((name, i) => ({ name, endpoints: [`10.0.${i}.1:8080`] })),
  };
  const envoy = served(doc, 'envoy');
  const grpc = served(doc, 'grpc');
  const route = (extra: Partial<ExplainQuery>, ctx = envoy) => explainRequest(q({ ...extra, kind: ctx === grpc ? 'grpc' : 'envoy' }), ctx).route;

  it('paths: exact, regex (whole path, query string ignored), prefix', () => {
    expect(route({ path: '/admin', headers: { 'x-role': 'ops' } })).toBe('exact');
    expect(route({ path: '/admin/x', headers: { 'x-role': 'ops' } })).toBe('rest');
    expect(route({ path: '/v2/items?x=1', headers: { 'x-version': '3' } })).toBe('regex');
    expect(route({ path: '/v2/items/1', headers: { 'x-version': '3' } })).toBe('rest');
    expect(route({ path: '/v2/items', headers: { 'x-version': '10' } })).toBe('rest');
  });

  it('header string matchers, ignoreCase, several values joined with ","', () => {
    expect(route({ headers: { 'x-tier': 'gold', 'x-region': 'eu-1', 'x-tags': 'a,beta' } })).toBe('strings');
    expect(route({ headers: { 'x-tier': 'gold', 'x-region': 'eu-1', 'x-tags': ['a', 'b'] } })).toBe('rest');
    expect(route({ headers: { 'x-tier': 'gold', 'x-region': ['eu-2', 'eu-1'], 'x-tags': 'beta' } })).toBe('strings');
    expect(route({ headers: { 'x-tier': 'silver', 'x-region': 'eu-1', 'x-tags': 'beta' } })).toBe('rest');
  });

  it('absent and inverted matchers: Envoy fails an inverted matcher on an absent header, grpc-js-xds matches it', () => {
    expect(route({ path: '/api', headers: { 'user-agent': 'curl' } })).toBe('absent');
    expect(route({ path: '/api', headers: { 'user-agent': 'googlebot' } })).toBe('rest');
    expect(route({ path: '/api', headers: { 'user-agent': 'curl', 'x-debug': '1' } })).toBe('rest');
    expect(route({ path: '/api' })).toBe('rest');
    expect(route({ path: '/api' }, grpc)).toBe('absent');
  });

  it('query parameters (Envoy only; gRPC nodes never get such a route)', () => {
    expect(route({ path: '/search?q=shoes&page=2' })).toBe('query');
    expect(route({ path: '/search', query: { q: 'shoes', page: '' } })).toBe('query');
    expect(route({ path: '/search?q=Shoes&page=2' })).toBe('rest');
    expect(route({ path: '/search?q=shoes' })).toBe('rest');
    expect(explainRequest(q({ kind: 'grpc', path: '/search?q=shoes&page=2' }), grpc).routes.map((r) => r.route)).not.toContain('query');
  });

  it('a path with a fragment: Envoy answers 400 before routing (measured, test/envoy-real/affinity.test.ts); gRPC paths never have one', () => {
    const got = explainRequest(q({ path: '/search?q=shoes&page=2#top', headers: { 'x-user': 'bob' } }), envoy);
    expect(got).toMatchObject({ routes: [], steps: [], reason: expect.stringContaining('HTTP 400') });
    expect(got.route).toBeUndefined();
    expect(got.pick).toBeUndefined();
    expect(explainRequest(q({ path: '/search?q=shoes&page=2', headers: { 'x-user': 'bob' } }), envoy).route).toBe('query');
  });

  it('says why each earlier route did not match, and explains the matched route’s pick', () => {
    const got = explainRequest(q({ path: '/x', headers: { userhash: '1011', 'x-user': 'bob' } }), envoy);
    expect(got.route).toBe('userhash');
    expect(got.routes.slice(0, 2)).toEqual([
      { route: 'exact', matched: false, reason: 'path "/x" is not "/admin"' },
      { route: 'regex', matched: false, reason: 'path "/x" does not match regex "/v[0-9]+/items"' },
    ]);
    expect(got.routes.at(-1)).toEqual({ route: 'userhash', matched: true });
    expect(got.pick).toMatchObject({ cluster: 'b6', address: '10.0.5.1:8080', backends: ['b6'] });
  });
});

describe('clusters', () => {
  it('a weighted (non-sticky) split: random per request, with where the hash would land in each cluster', () => {
    const doc = {
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] }] }],
      backends: [
        { name: 'v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] },
        { name: 'v2', endpoints: ['10.0.1.1:8080'] },
      ],
    };
    const got = explainRequest(q({ headers: { 'x-user': 'alice' } }), served(doc, 'envoy'));
    expect(got.pick).toBeUndefined();
    expect(got.reason).toMatch(/weighted split \(v1 90\.0 %, v2 10\.0 %\).*random per request/);
    expect(got.weightedClusters.map((c) => [c.cluster, c.weight, c.share, c.pick?.backends])).toEqual([
      ['v1', 90, 0.9, ['v1']],
      ['v2', 10, 0.1, ['v2']],
    ]);
  });

  const stickyCanary = (stickySplit: unknown) => ({
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      {
        name: 'shop',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ name: 'main', stickySplit, backends: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] }],
      },
    ],
    backends: [
      { name: 'v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] },
      { name: 'v2', endpoints: ['10.0.1.1:8080'] },
    ],
  });

  it("a sticky split on Envoy ≥ 1.36 (use_hash_policy): the request hash picks the version as Envoy does, then that version's replica", () => {
    const ctx = served(stickyCanary(true), 'envoy');
    const picked = new Map<string, number>();
    for (const user of users(500)) {
      const got = explainRequest(q({ headers: { 'x-user': user } }), ctx);
      // Envoy: hash % 10000 in [0, 9000) → v1, else v2.
      const expected = got.hash! % 10_000n < 9000n ? 'v1' : 'v2';
      expect(got.cluster).toBe(expected);
      expect(got.pick?.cluster).toBe(expected);
      expect(got.pick).toEqual(got.weightedClusters.find((c) => c.cluster === expected)!.pick);
      picked.set(expected, (picked.get(expected) ?? 0) + 1);
    }
    expect(picked.get('v2')! / 500).toBeGreaterThan(0.05);
    expect(picked.get('v2')! / 500).toBeLessThan(0.15);
    const one = explainRequest(q({ headers: { 'x-user': 'alice' } }), ctx);
    expect(one.notes.some((n) => /^weighted split \(v1 90\.0 %, v2 10\.0 %\) picked by the request hash \(use_hash_policy\): \d+ of 10000 → v[12]$/.test(n))).toBe(true);
    // No key, no hash: Envoy picks at random.
    expect(explainRequest(q({}), ctx).reason).toMatch(/yields no hash: Envoy picks at random/);
  });

  it('a header-mode sticky split: the header value picks the version; without it, random', () => {
    const ctx = served(stickyCanary({ mode: 'header', header: 'x-bucket' }), 'envoy');
    expect(explainRequest(q({ headers: { 'x-user': 'a', 'x-bucket': '8999' } }), ctx).cluster).toBe('v1');
    expect(explainRequest(q({ headers: { 'x-user': 'a', 'x-bucket': '9000' } }), ctx).cluster).toBe('v2');
    expect(explainRequest(q({ headers: { 'x-user': 'a', 'x-bucket': '19000' } }), ctx).cluster).toBe('v2');
    const missing = explainRequest(q({ headers: { 'x-user': 'a' } }), ctx);
    expect(missing.pick).toBeUndefined();
    expect(missing.reason).toMatch(/chosen by the value of header x-bucket, which the request does not carry as a number/);
  });

  it('unknown service → NOT_FOUND with a suggestion; a service on no listener is not served to Envoy', () => {
    const ctx = served(stickyDoc(2), 'envoy');
    let err: unknown;
    try {
      explainRequest(q({ service: 'shp' }), ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TetherError);
    expect((err as TetherError).code).toBe('NOT_FOUND');
    expect((err as TetherError).message).toMatch(/did you mean 'shop'/);
    const doc = stickyDoc(2);
    doc.listeners = [];
    expect(() => explainRequest(q({}), served(doc, 'envoy'))).toThrow(/not served to envoy nodes/);
    expect(explainRequest(q({ kind: 'grpc', headers: { 'x-user': 'a' } }), served(doc, 'grpc')).pick).toBeDefined();
  });
});

describe('cluster balancer forms', () => {
  const wire = (cluster: Cluster) => decodeOutput<Cluster__Output>('envoy.config.cluster.v3.Cluster', encodeMessage('envoy.config.cluster.v3.Cluster', cluster));

  it('the typed load_balancing_policy extensions, with the bounded-load caveat for Envoy', () => {
    const ring = wire({
      name: 'c',
      load_balancing_policy: {
        policies: [
          {
            typed_extension_config: {
              name: 'ring',
              typed_config: pack('envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash', {
                minimum_ring_size: { value: '2048' },
                consistent_hashing_lb_config: { hash_balance_factor: { value: 150 } },
              }),
            },
          },
        ],
      },
    });
    const envoy = clusterBalancer(ring, 'envoy');
    expect(envoy.balancer).toEqual({ type: 'ring_hash', minRingSize: 2048, maxRingSize: 8_388_608 });
    expect(envoy.notes).toEqual([expect.stringMatching(/^bounded load \(hash_balance_factor 150\)/)]);
    expect(clusterBalancer(ring, 'grpc').notes).toEqual([]);
    const maglev = wire({
      name: 'm',
      load_balancing_policy: {
        policies: [{ typed_extension_config: { name: 'mg', typed_config: pack('envoy.extensions.load_balancing_policies.maglev.v3.Maglev', { table_size: { value: '7' } }) } }],
      },
    });
    expect(clusterBalancer(maglev, 'envoy').balancer).toEqual({ type: 'maglev', tableSize: 7 });
  });

  it('the legacy fields: lb_policy with its config, common_lb_config, and defaults', () => {
    expect(clusterBalancer(wire({ name: 'c', lb_policy: 'RING_HASH' }), 'envoy').balancer).toEqual({ type: 'ring_hash', minRingSize: 1024, maxRingSize: 8_388_608 });
    const hostnames = clusterBalancer(wire({ name: 'c', lb_policy: 'MAGLEV', common_lb_config: { consistent_hashing_lb_config: { use_hostname_for_hashing: true } } }), 'envoy');
    expect(hostnames).toMatchObject({ balancer: { type: 'maglev', tableSize: 65537 }, useHostname: true });
    expect(clusterBalancer(wire({ name: 'c', lb_policy: 'RING_HASH', ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }), 'envoy').unsupported).toMatch(/MURMUR_HASH_2/);
    expect(clusterBalancer(wire({ name: 'c' }), 'envoy').balancer).toEqual({ type: 'round_robin' });
  });
});

describe('regexes in explain run on RE2', () => {
  // JS backtracking needed seconds for (a+)+ against 26 a and a "!", doubling per a.
  it('(a+)+ against 60 a and a "!" answers at once, for both kinds', () => {
    const doc = {
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', routes: [{ name: 'evil', match: { headers: { 'x-v': { regex: '(a+)+' } } }, backends: [{ name: 'b1' }] }, { name: 'rest', backends: [{ name: 'b2' }] }] }],
      backends: ['b1', 'b2'].map((name, i) => ({ name, endpoints: [`10.0.${i}.1:8080`] })),
    };
    for (const kind of ['envoy', 'grpc'] as const) {
      const ctx = served(doc, kind);
      const started = performance.now();
      expect(explainRequest(q({ kind, headers: { 'x-v': `${'a'.repeat(60)}!` } }), ctx).route).toBe('rest');
      expect(explainRequest(q({ kind, headers: { 'x-v': 'a'.repeat(60) } }), ctx).route).toBe('evil');
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});
