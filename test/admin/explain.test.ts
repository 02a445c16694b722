/**
 * Explain and WhatIf through a real gRPC client against the admin server over the real
 * config manager, publisher and store: answers, errors as statuses, auth, and that WhatIf
 * changes nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain as affinityExplain, hex64, initHashing, xxh64 } from '../../src/affinity';
import type { ExplainRequest } from '../../src/generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../src/generated/tether/tether/admin/v1/ExplainResponse';
import type { WhatIfRequest } from '../../src/generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../../src/generated/tether/tether/admin/v1/WhatIfResponse';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { waitFor } from '../support/harness';
import { AdminHarness, TOKEN, badRequest, failure } from './harness';

const config = () => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [
    {
      name: 'shop',
      domains: ['shop.example.com'],
      affinity: { keys: [{ header: 'x-user' }, { cookie: { name: 'sid', ttl: '1h' } }] },
      routes: [
        { name: 'beta', match: { headers: { 'x-beta': { exact: '1' } } }, backends: [{ name: 'shop-v2' }] },
        { name: 'main', backends: [{ name: 'shop-v1' }] },
      ],
    },
    { name: 'canary', domains: ['canary.example.com'], routes: [{ name: 'all', backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10 }] }] },
  ],
  backends: [
    { name: 'shop-v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'], balancer: { type: 'ring_hash', minRingSize: 1024 } },
    { name: 'shop-v2', endpoints: ['10.0.1.1:8080'], balancer: { type: 'ring_hash', minRingSize: 1024 } },
  ],
});

let h: AdminHarness;
beforeAll(async () => {
  await initHashing();
  h = await AdminHarness.start({ config: config() });
});
afterAll(async () => {
  await h?.close();
});

function bearer(token: string | null = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return md;
}

const call = <Req, Res>(method: 'Explain' | 'WhatIf', req: Req, md = bearer()): Promise<Res> =>
  new Promise((resolve, reject) => {
    const fn = (h.client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    fn.call(h.client, req, md, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
const explain = (req: ExplainRequest, md?: grpc.Metadata) => call<ExplainRequest, ExplainResponse__Output>('Explain', req, md);
const whatIf = (req: WhatIfRequest, md?: grpc.Metadata) => call<WhatIfRequest, WhatIfResponse__Output>('WhatIf', req, md);

describe('Explain', () => {
  it('names the route, the keys and their hashes, the request hash, the ring entry and the replica', async () => {
    const res = await explain({ service: 'shop', headers: [{ name: 'X-User', value: 'alice' }] });
    // 3 hosts on a 1024 minimum: ceil(1024 / 3) = 342 entries each.
    const endpoints = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => ({ ip, port: 8080, weight: 1 }));
    const want = affinityExplain({
      keys: [{ kind: 'header', name: 'x-user', terminal: true }],
      request: { headers: { 'x-user': 'alice' } },
      flavour: 'envoy',
      endpoints,
      balancer: { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8_388_608 },
    });
    expect(res).toMatchObject({
      version: '1',
      node_kind: 'envoy',
      service: 'shop',
      route_config: 'http',
      route: 'main',
      routes: [
        { route: 'beta', matched: false, reason: 'header x-beta is "1"' },
        { route: 'main', matched: true, reason: '' },
      ],
      used_keys: ['header:x-user'],
      request_hash: `0x${hex64(xxh64('alice'))}`,
      cluster: 'shop-v1',
      predictable: true,
      reason: '',
      pick: { cluster: 'shop-v1', balancer: 'ring_hash', address: want.host, backends: ['shop-v1'], size: 1026 },
    });
    expect(res.pick!.index).toBe(want.location?.kind === 'ring_hash' ? want.location.index : -1);
    expect(res.steps.map((s) => [s.key, s.outcome, s.input, s.hash])).toEqual([
      ['header:x-user', 'hashed', 'alice', `0x${hex64(xxh64('alice'))}`],
      ['cookie:sid', 'skipped', '', ''],
    ]);
  });

  it('grpc: only header keys; the same pick for the same user on the capped ring', async () => {
    const res = await explain({ service: 'shop', node_kind: 'grpc', headers: [{ name: 'x-user', value: 'alice' }], cookies: { sid: 'x' } });
    expect(res).toMatchObject({ node_kind: 'grpc', route_config: 'shop', route: 'main', predictable: true, used_keys: ['header:x-user'] });
    expect(res.steps.map((s) => s.key)).toEqual(['header:x-user']);
  });

  it('says when the pick is random, or the cookie Envoy would set', async () => {
    const none = await explain({ service: 'shop', node_kind: 'grpc' });
    expect(none).toMatchObject({ predictable: false, pick: null, request_hash: '' });
    expect(none.reason).toMatch(/random/);
    const cookie = await explain({ service: 'shop', connection_remote: '192.0.2.1:40000', connection_local: '10.9.9.9:10000' });
    expect(cookie.set_cookie).toMatch(/^sid="[0-9a-f]{16}"; Max-Age=3600; HttpOnly$/);
    expect(cookie.predictable).toBe(true);
    const beta = await explain({ service: 'shop', headers: [{ name: 'x-beta', value: '1' }, { name: 'x-user', value: 'bob' }] });
    expect(beta.pick).toMatchObject({ cluster: 'shop-v2', address: '10.0.1.1:8080', backends: ['shop-v2'] });
  });

  it('a weighted split: random cluster per request, with each cluster’s pick', async () => {
    const res = await explain({ service: 'canary', path: '/x?y=1' });
    expect(res.predictable).toBe(false);
    expect(res.reason).toMatch(/weighted split \(shop-v1 90\.0 %, shop-v2 10\.0 %\)/);
    expect(res.weighted_clusters.map((c) => [c.cluster, c.weight, c.share])).toEqual([
      ['shop-v1', 90, 0.9],
      ['shop-v2', 10, 0.1],
    ]);
  });

  it('NOT_FOUND for an unknown service; INVALID_ARGUMENT naming every bad field', async () => {
    const missing = await failure(explain({ service: 'shp' }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.details).toBe("unknown service 'shp'; did you mean 'shop'?");
    const bad = await failure(explain({ service: '', node_kind: 'proxy', client_ip: 'nope', path: 'x', connection_remote: '1.2.3.4:5' }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(bad).violations.map((v) => v.field)).toEqual(['service', 'node_kind', 'client_ip', 'path', 'connection_local']);
  });

  it('needs the token', async () => {
    for (const token of [null, 'wrong']) {
      expect((await failure(explain({ service: 'shop' }, bearer(token)))).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await failure(whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' } }, bearer(token)))).code).toBe(grpc.status.UNAUTHENTICATED);
    }
  });
});

describe('WhatIf', () => {
  it('adding a replica: sessions moving, the ideal, shares per replica; nothing is committed', async () => {
    const res = await whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, node_kind: 'envoy', samples: 20_000 });
    expect(res).toMatchObject({ version: '1', node_kind: 'envoy', samples: 20_000, changed: true, node_kinds: ['envoy'], unserved_kinds: [], kinds_from: 'requested' });
    expect(res.routes.map((r) => [r.service, r.route, r.cluster_before, r.cluster_after, r.sticky_before, r.sticky_after, r.key])).toEqual([
      ['shop', 'main', 'shop-v1', 'shop-v1', true, true, 'header:x-user'],
    ]);
    const [main] = res.routes;
    expect(main!.ideal).toBeCloseTo(0.25, 10);
    expect(main!.moved).toBeGreaterThan(0.3);
    expect(main!.moved).toBeLessThan(0.37);
    expect(main!.replicas.map((r) => [r.address, r.backends])).toEqual([
      ['10.0.0.1:8080', ['shop-v1']],
      ['10.0.0.2:8080', ['shop-v1']],
      ['10.0.0.3:8080', ['shop-v1']],
      ['10.0.0.4:8080', ['shop-v1']],
    ]);
    expect(main!.replicas[3]!.before).toBe(0);
    expect(main!.replicas.reduce((s, r) => s + Number(r.after), 0)).toBeCloseTo(1, 10);
    expect(res.changes).toEqual([{ node_kind: 'envoy', type: 'EDS', name: 'shop-v1', action: 'MODIFIED', diff: expect.stringContaining('10.0.0.4') }]);
    expect(h.version()).toBe(1);
    expect((await h.manager.history()).length).toBe(1);
  });

  it('listed sessions: where each lands before and after, by the route key’s value; bounds checked', async () => {
    const res = await whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, samples: 1000, sessions: ['alice', 'bob', 'carol'] });
    const sessions = res.routes[0]!.sessions;
    expect(sessions.map((x) => x.value)).toEqual(['alice', 'bob', 'carol']);
    for (const x of sessions) {
      const placed = await explain({ service: 'shop', headers: [{ name: 'x-user', value: x.value }] });
      expect(x.before).toBe(placed.pick!.address);
      expect(x.after).toMatch(/^10\.0\.0\.[1-4]:8080$/);
      expect(x.moved).toBe(x.before !== x.after);
    }
    const bad = await failure(whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, sessions: ['ok', ''] }));
    expect(badRequest(bad).violations).toEqual([{ field: 'sessions[1]', description: 'must have 1 to 8192 characters' }]);
  });

  it('draining, for gRPC nodes; a split that makes the route random', async () => {
    const drain = await whatIf({ drain_endpoint: { backend: 'shop-v1', address: '10.0.0.3:8080' }, node_kind: 'grpc', samples: 10_000 });
    expect(drain.routes[0]!.replicas.find((r) => r.address === '10.0.0.3:8080')!.after).toBe(0);
    const split = await whatIf({ set_split: { service: 'shop', route: 'main', weights: { 'shop-v1': 50, 'shop-v2': 50 } }, node_kind: 'envoy', samples: 10_000 });
    expect(split.routes[0]).toMatchObject({ cluster_before: 'shop-v1', cluster_after: '(weighted)', sticky_after: false });
    expect(split.routes[0]!.backends.map((b) => [b.backend, b.before, b.after])).toEqual([
      ['shop-v1', 1, expect.closeTo(0.5, 10)],
      ['shop-v2', 0, expect.closeTo(0.5, 10)],
    ]);
  });

  it('a whole config as text; no change says so', async () => {
    const same = await whatIf({ apply_config: { text: JSON.stringify(config()) } });
    expect(same).toMatchObject({ changed: false, routes: [], changes: [] });
  });

  it('errors as the mutation would fail, with paths under the change; ABORTED on a stale expected_version', async () => {
    expect((await failure(whatIf({ add_endpoint: { backend: 'nope', address: '10.0.0.4:8080' } }))).code).toBe(grpc.status.NOT_FOUND);
    const zero = await failure(whatIf({ set_split: { service: 'shop', route: 'main', weights: { 'shop-v1': 0 } } }));
    expect(zero.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(zero).violations).toEqual([{ field: 'set_split.weights', description: 'the weights must add up to more than 0' }]);
    const backend = await failure(whatIf({ upsert_backend: { backend: { fields: { name: { stringValue: 'shop-v1' }, endpoints: { listValue: { values: [{ stringValue: '10.0.0.1:99999' }] } } } } } }));
    expect(backend.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(backend).violations.map((v) => v.field)).toContain('upsert_backend.backend.endpoints[0].address');
    const none = await failure(whatIf({ samples: 5_000_000 }));
    expect(badRequest(none).violations.map((v) => v.field)).toEqual(['samples', 'change']);
    const stale = await failure(whatIf({ remove_endpoint: { backend: 'shop-v1', address: '10.0.0.1:8080', options: { expected_version: 7 } } }));
    expect(stale.code).toBe(grpc.status.ABORTED);
    expect(h.version()).toBe(1);
  });
});

describe('the default kind of node (no node_kind)', () => {
  it('no node connected: every kind the config serves (here both), Envoy first', async () => {
    const res = await whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, samples: 2_000 });
    expect(res).toMatchObject({ node_kind: 'envoy', node_kinds: ['envoy', 'grpc'], unserved_kinds: [], kinds_from: 'served' });
    expect(res.routes.map((r) => [r.node_kind, r.route])).toEqual([
      ['envoy', 'main'],
      ['grpc', 'main'],
    ]);
    expect(res.changes.map((c) => `${c.node_kind} ${c.type}`)).toEqual(['envoy EDS', 'grpc EDS']);
    const e = await explain({ service: 'shop', headers: [{ name: 'x-user', value: 'alice' }] });
    expect(e.node_kind).toBe('envoy');
    expect(e.notes).toEqual([
      'explained for Envoy nodes (no node is connected; the config serves the service to them)',
      'gRPC nodes are served too: node_kind "grpc" explains for them',
    ]);
  });

  it('the kinds of the nodes connected now', async () => {
    const node = await h.adsClient({ id: 'grpc-1', user_agent_name: 'gRPC Node' });
    node.send(CLUSTER_TYPE, []);
    await waitFor('the gRPC node in the registry', () => (h.registry.list().length > 0 ? true : undefined), 5_000);
    try {
      const res = await whatIf({ add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, samples: 2_000 });
      expect(res).toMatchObject({ node_kind: 'grpc', node_kinds: ['grpc'], kinds_from: 'connected' });
      expect(res.routes.map((r) => r.node_kind)).toEqual(['grpc']);
      const e = await explain({ service: 'shop', headers: [{ name: 'x-user', value: 'alice' }] });
      expect(e).toMatchObject({ node_kind: 'grpc', route_config: 'shop', predictable: true });
      expect(e.notes).toEqual(['explained for gRPC nodes (the kind of node connected now)']);
    } finally {
      node.close();
      await waitFor('the gRPC node gone', () => (h.registry.list().length === 0 ? true : undefined), 5_000);
    }
  });

  it('a config without listeners: gRPC only; Envoy, when asked for, is reported as served nothing', async () => {
    const g = await AdminHarness.start({
      config: {
        services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] }],
        backends: [{ name: 'shop-v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'] }],
      },
    });
    try {
      const call2 = <Req, Res>(method: 'Explain' | 'WhatIf', req: Req): Promise<Res> =>
        new Promise((resolve, reject) => {
          const fn = (g.client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
          fn.call(g.client, req, bearer(), { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
        });
      const change = { add_endpoint: { backend: 'shop-v1', address: '10.0.0.4:8080' }, samples: 5_000 };
      const res = await call2<WhatIfRequest, WhatIfResponse__Output>('WhatIf', change);
      expect(res).toMatchObject({ node_kind: 'grpc', node_kinds: ['grpc'], unserved_kinds: [], kinds_from: 'served' });
      expect(res.routes).toHaveLength(1);
      expect(res.routes[0]!.moved).toBeGreaterThan(0.15);
      const envoy = await call2<WhatIfRequest, WhatIfResponse__Output>('WhatIf', { ...change, node_kind: 'envoy' });
      expect(envoy).toMatchObject({ node_kinds: ['envoy'], unserved_kinds: ['envoy'], routes: [] });
      const e = await call2<ExplainRequest, ExplainResponse__Output>('Explain', { service: 'shop', headers: [{ name: 'x-user', value: 'alice' }] });
      expect(e).toMatchObject({ node_kind: 'grpc', predictable: true });
    } finally {
      await g.close();
    }
  });
});
