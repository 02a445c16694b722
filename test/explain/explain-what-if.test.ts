/**
 * What-if over translated resources before and after a change: sessions moving, the ideal,
 * per-replica and per-backend shares; and proposals validated like the mutations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing, whatIf as affinityWhatIf } from '../../src/affinity';
import { endpointOwners, explainRequest, routeImpacts, wireResources, type WhatIfSide } from '../../src/explain';
import { proposeConfig } from '../../src/control/proposal';
import { edits } from '../../src/control/mutations';
import { staticEndpoints, translate, type EnvoyResources } from '../../src/translate';
import { served, stickyDoc, validConfig } from './explain-helpers';
import { thrownTetherError } from '../support/thrown';

beforeAll(() => initHashing());

const SAMPLES = 20_000;

describe('sessions moving', () => {
  it('3 → 4 equal replicas on a fixed 1024-entry ring: exactly what src/affinity measures (~33.5 %, ideal 25 %)', () => {
    const ring = { type: 'ring_hash', minRingSize: 1024 };
    for (const kind of ['envoy', 'grpc'] as const) {
      const [impact, ...rest] = routeImpacts(served(stickyDoc(3, ring), kind), served(stickyDoc(4, ring), kind), { kind, samples: SAMPLES });
      expect(rest).toEqual([]);
      expect(impact).toMatchObject({ service: 'shop', route: 'main', clusterBefore: 'shop-v1', clusterAfter: 'shop-v1', stickyBefore: true, stickyAfter: true, key: 'header:x-user' });
      expect(impact!.ideal).toBeCloseTo(0.25, 10);
      expect(impact!.moved).toBeGreaterThan(0.3);
      expect(impact!.moved).toBeLessThan(0.37);
      // The synthetic x-user values hash to src/affinity's synthetic session hashes, so the
      // two measurements agree to the session.
      const state = (n: number) => ({
        endpoints: Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 8080, weight: 1 })),
        balancer: { type: 'ring_hash' as const, minRingSize: 1024, maxRingSize: 8_388_608 },
      });
      const reference = affinityWhatIf(state(3), state(4), { flavour: kind, samples: SAMPLES });
      expect(impact!.moved).toBe(reference.moved);
      expect(Object.fromEntries(impact!.replicas.map((r) => [r.address, r.after]))).toEqual(reference.perHostAfter);
      expect(impact!.replicas.map((r) => r.backends)).toEqual([['shop-v1'], ['shop-v1'], ['shop-v1'], ['shop-v1']]);
      expect(impact!.backends).toEqual([{ backend: 'shop-v1', before: 1, after: 1 }]);
    }
  });

  it('3 → 4 on a stable ring, gRPC nodes: the cluster reads its new ring shape’s assignment, and only the new replica’s share moves', () => {
    const [impact, ...rest] = routeImpacts(served(stickyDoc(3), 'grpc'), served(stickyDoc(4), 'grpc'), { kind: 'grpc', samples: SAMPLES });
    expect(rest).toEqual([]);
    expect(impact).toMatchObject({ clusterBefore: 'shop-v1', clusterAfter: 'shop-v1', stickyBefore: true, stickyAfter: true });
    const state = (n: number) => ({
      endpoints: Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 8080, weight: 1 })),
      balancer: { type: 'ring_hash' as const, minRingSize: 256 * n, maxRingSize: 4096 },
    });
    expect(impact!.moved).toBe(affinityWhatIf(state(3), state(4), { flavour: 'grpc', samples: SAMPLES }).moved);
    expect(impact!.moved).toBeLessThan(0.3);
    // Replicas are still named by their backend, whatever the cluster is called.
    expect(impact!.backends).toEqual([{ backend: 'shop-v1', before: 1, after: 1 }]);
  });

  it('draining a replica: its sessions all move (the ideal); the fixed-size ring reshuffles some others too', () => {
    const before = stickyDoc(4, { type: 'ring_hash', minRingSize: 1024 });
    const after = stickyDoc(4, { type: 'ring_hash', minRingSize: 1024 });
    (after.backends as Array<{ endpoints: unknown[] }>)[0]!.endpoints[3] = { address: '10.0.0.4:8080', drain: true };
    const [impact] = routeImpacts(served(before, 'envoy'), served(after, 'envoy'), { kind: 'envoy', samples: SAMPLES });
    const drained = impact!.replicas.find((r) => r.address === '10.0.0.4:8080')!;
    expect(drained.after).toBe(0);
    expect(drained.before).toBeGreaterThan(0.2);
    expect(impact!.ideal).toBeCloseTo(0.25, 10);
    const endpoints = Array.from({ length: 4 }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 8080, weight: 1, ...(i === 3 ? { drain: true } : {}) }));
    const balancer = { type: 'ring_hash' as const, minRingSize: 1024, maxRingSize: 8_388_608 };
    const reference = affinityWhatIf({ endpoints: endpoints.map(({ drain: _, ...e }) => e), balancer }, { endpoints, balancer }, { flavour: 'envoy', samples: SAMPLES });
    expect(impact!.moved).toBe(reference.moved);
    expect(impact!.moved).toBeGreaterThan(drained.before);
  });

  it('listed sessions: each placed before and after exactly as explain places it; on a stable ring only the new replica gains', () => {
    const before = served(stickyDoc(3), 'envoy');
    const after = served(stickyDoc(4), 'envoy');
    const users = Array.from({ length: 120 }, (_, i) => `user-${i}`);
    const [impact] = routeImpacts(before, after, { kind: 'envoy', samples: 1000, sessions: users });
    const at = (side: typeof before, user: string) => explainRequest({ service: 'shop', kind: 'envoy', headers: { 'x-user': user } }, side).pick!.address;
    const expected = users.map((value) => ({ value, before: at(before, value), after: at(after, value) }));
    expect(impact!.sessions).toEqual(expected.map((x) => ({ ...x, moved: x.before !== x.after })));
    const movers = impact!.sessions.filter((x) => x.moved);
    expect(movers.length).toBeGreaterThan(15);
    expect(movers.length).toBeLessThan(50);
    expect(new Set(movers.map((x) => x.after))).toEqual(new Set(['10.0.0.4:8080']));
    // Without sessions asked for, none are listed.
    expect(routeImpacts(before, after, { kind: 'envoy', samples: 100 })[0]!.sessions).toEqual([]);
  });

  it('listed sessions of a client-IP key are client addresses; one side random → never "moved", its replica empty', () => {
    const doc = stickyDoc(3, { type: 'ring_hash' }, { affinity: { keys: [{ clientIp: true }] } });
    const bigger = stickyDoc(4, { type: 'ring_hash' }, { affinity: { keys: [{ clientIp: true }] } });
    const [impact] = routeImpacts(served(doc, 'envoy'), served(bigger, 'envoy'), { kind: 'envoy', samples: 100, sessions: ['192.0.2.1', '192.0.2.2'] });
    expect(impact!.key).toBe('clientIp');
    const at = (d: Record<string, unknown>, ip: string) => explainRequest({ service: 'shop', kind: 'envoy', clientIp: ip }, served(d, 'envoy')).pick!.address;
    expect(impact!.sessions.map((x) => [x.before, x.after])).toEqual([
      [at(doc, '192.0.2.1'), at(bigger, '192.0.2.1')],
      [at(doc, '192.0.2.2'), at(bigger, '192.0.2.2')],
    ]);
    const split = structuredClone(doc);
    (split.backends as unknown[]).push({ name: 'shop-v2', endpoints: ['10.0.1.1:8080'], balancer: { type: 'ring_hash' } });
    (split.services as Array<{ routes: unknown[] }>)[0]!.routes = [{ name: 'main', backends: [{ name: 'shop-v1', weight: 50 }, { name: 'shop-v2', weight: 50 }] }];
    const [random] = routeImpacts(served(doc, 'envoy'), served(split, 'envoy'), { kind: 'envoy', samples: 100, sessions: ['192.0.2.1'] });
    expect(random!.sessions).toEqual([{ value: '192.0.2.1', before: at(doc, '192.0.2.1'), after: '', moved: false }]);
  });

  it('a sticky canary on Envoy ≥ 1.36 (use_hash_policy) going 90/10 → 50/50: sticky on both sides, ~40 % move, all to v2', () => {
    const canary = (v1: number, v2: number) => ({
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', stickySplit: true, backends: [{ name: 'v1', weight: v1 }, { name: 'v2', weight: v2 }] }] }],
      backends: [
        { name: 'v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] },
        { name: 'v2', endpoints: ['10.0.1.1:8080'] },
      ],
    });
    const [impact] = routeImpacts(served(canary(90, 10), 'envoy'), served(canary(50, 50), 'envoy'), { kind: 'envoy', samples: 5000 });
    expect(impact).toMatchObject({ stickyBefore: true, stickyAfter: true });
    expect(impact!.moved).toBeGreaterThan(0.37);
    expect(impact!.moved).toBeLessThan(0.43);
    const v2 = impact!.backends.find((b) => b.backend === 'v2')!;
    expect(v2.before).toBeCloseTo(0.1, 1);
    expect(v2.after).toBeCloseTo(0.5, 1);
  });

  it('reports only sticky routes whose placement changes', () => {
    const doc = stickyDoc(3);
    (doc.services as unknown[]).push({ name: 'other', domains: ['other.example'], routes: [{ backends: [{ name: 'plain' }] }] });
    (doc.backends as unknown[]).push({ name: 'plain', endpoints: ['10.0.9.1:80'] });
    const changed = structuredClone(doc);
    (changed.backends as Array<{ endpoints: string[] }>)[1]!.endpoints.push('10.0.9.2:80');
    expect(routeImpacts(served(doc, 'envoy'), served(changed, 'envoy'), { kind: 'envoy', samples: 100 })).toEqual([]);
    expect(routeImpacts(served(doc, 'envoy'), served(doc, 'envoy'), { kind: 'envoy', samples: 100 })).toEqual([]);
  });

  it('a sticky route turned into a weighted split: placement becomes random per request', () => {
    const doc = stickyDoc(2);
    (doc.backends as unknown[]).push({ name: 'shop-v2', endpoints: ['10.0.1.1:8080'], balancer: { type: 'ring_hash' } });
    const split = structuredClone(doc);
    (split.services as Array<{ routes: Array<{ backends: unknown[] }> }>)[0]!.routes[0]!.backends = [
      { name: 'shop-v1', weight: 90 },
      { name: 'shop-v2', weight: 10 },
    ];
    const [impact] = routeImpacts(served(doc, 'envoy'), served(split, 'envoy'), { kind: 'envoy', samples: SAMPLES });
    expect(impact).toMatchObject({ clusterBefore: 'shop-v1', clusterAfter: '(weighted)', stickyBefore: true, stickyAfter: false });
    expect(impact!.notes[0]).toMatch(/not sticky after the change/);
    expect(impact!.backends).toEqual([
      { backend: 'shop-v1', before: 1, after: 0.9 },
      { backend: 'shop-v2', before: 0, after: expect.closeTo(0.1, 10) },
    ]);
    // Each request lands on its session's replica with the chance that replica has at random.
    const stay = impact!.replicas.reduce((s, r) => s + r.before * r.after, 0);
    expect(impact!.moved).toBeCloseTo(1 - stay, 10);
    expect(impact!.ideal).toBeCloseTo(0.1, 10);
  });

  it('a sticky split (one ring cluster over both versions) reports the share per version', () => {
    // The shape of a sticky split: the route's single cluster lists both backends' endpoints,
    // weighted by the split, so a user keeps one version.
    const doc = stickyDoc(2);
    (doc.backends as unknown[]).push({ name: 'shop-v2', endpoints: ['10.0.1.1:8080', '10.0.1.2:8080'], balancer: { type: 'ring_hash' } });
    const side = (v2Weight: number): WhatIfSide => {
      const config = validConfig(doc);
      const endpoints = staticEndpoints(config);
      const resources: EnvoyResources = translate(config, endpoints, 'envoy');
      const name = 'shop~main~sticky';
      // A backend's endpoints are in the assignment its cluster names (a stable ring's is named after its shape).
      const claOf = (backend: string) =>
        resources.endpoints.find((e) => e.cluster_name === resources.clusters.find((c) => c.name === backend)!.eds_cluster_config!.service_name)!;
      const v1 = claOf('shop-v1');
      const v2 = claOf('shop-v2');
      const scaled = (cla: typeof v1, w: number) => cla.endpoints![0]!.lb_endpoints!.map((e) => ({ ...e, load_balancing_weight: { value: w } }));
      resources.clusters.push({ ...resources.clusters.find((c) => c.name === 'shop-v1')!, name, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name } });
      resources.endpoints.push({ cluster_name: name, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [...scaled(v1, 100 - v2Weight), ...scaled(v2, v2Weight)] }] });
      resources.routes[0]!.virtual_hosts![0]!.routes![0]!.route!.cluster = name;
      return { resources: wireResources(resources), owners: endpointOwners(endpoints) };
    };
    const [impact] = routeImpacts(side(10), side(30), { kind: 'envoy', samples: SAMPLES });
    expect(impact).toMatchObject({ clusterBefore: 'shop~main~sticky', clusterAfter: 'shop~main~sticky', stickyBefore: true, stickyAfter: true });
    const v2 = impact!.backends.find((b) => b.backend === 'shop-v2')!;
    expect(v2.before).toBeGreaterThan(0.07);
    expect(v2.before).toBeLessThan(0.13);
    expect(v2.after).toBeGreaterThan(0.26);
    expect(v2.after).toBeLessThan(0.34);
    expect(impact!.ideal).toBeCloseTo(0.2, 10);
    expect(impact!.moved).toBeGreaterThanOrEqual(0.18);
  });

  it('100,000 sessions take well under a second', () => {
    const start = performance.now();
    routeImpacts(served(stickyDoc(3), 'envoy'), served(stickyDoc(4), 'envoy'), { kind: 'envoy', samples: 100_000 });
    expect(performance.now() - start).toBeLessThan(3000);
  });
});

describe('proposals', () => {
  const doc = stickyDoc(3);
  const fail = thrownTetherError;

  it('applies the mutation’s own edit and validates the whole result', () => {
    const proposal = proposeConfig(doc, { edit: edits.addEndpoint('shop-v1', '10.0.0.9:8080', 2), field: 'add_endpoint' });
    expect(proposal.config.backends[0]!.endpoints.at(-1)).toMatchObject({ host: '10.0.0.9', port: 8080, weight: 2 });
    expect(doc.backends).toEqual(stickyDoc(3).backends);
  });

  it('NOT_FOUND and FAILED_PRECONDITION as the mutation would fail', () => {
    expect(fail(() => proposeConfig(doc, { edit: edits.drainEndpoint('nope', '10.0.0.1:8080'), field: 'drain_endpoint' })).code).toBe('NOT_FOUND');
    const one = stickyDoc(1);
    expect(fail(() => proposeConfig(one, { edit: edits.removeEndpoint('shop-v1', '10.0.0.1:8080'), field: 'remove_endpoint' })).code).toBe('FAILED_PRECONDITION');
  });

  it('INVALID_ARGUMENT with every error, request paths under the WhatIfRequest field', () => {
    const bad = fail(() => proposeConfig(doc, { edit: edits.upsertBackend({ name: 'shop-v1', endpoints: ['10.0.0.1:99999'], balancer: { type: 'round_robin' } }), field: 'upsert_backend' }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.fieldErrors.map((e) => e.path)).toEqual(expect.arrayContaining(['upsert_backend.backend.endpoints[0].address', 'upsert_backend.backend.balancer.type']));
    const weights = fail(() => proposeConfig(doc, { edit: edits.setSplit('shop', 'main', { 'shop-v1': -1 }), field: 'set_split' }));
    expect(weights.fieldErrors).toEqual([{ path: 'set_split.weights.shop-v1', message: expect.stringMatching(/whole number/) }]);
    const whole = fail(() => proposeConfig(doc, { document: { ...doc, backends: [] }, field: 'apply_config' }));
    expect(whole.fieldErrors.some((e) => e.path.startsWith('services[0]'))).toBe(true);
  });
});
