/**
 * What-if eject for gRPC nodes through the admin API: a gRPC client keeps its ring when
 * outlier detection ejects a replica and walks past it to the next entry of another replica
 * (what-if-sampling.ts `walkPast`, run on the compute worker). Exactly the sessions on the
 * ejected replica move, each to the fallback Explain names for it; no other session moves.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainRequest } from '../../src/generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../src/generated/tether/tether/admin/v1/ExplainResponse';
import type { WhatIfRequest } from '../../src/generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../../src/generated/tether/tether/admin/v1/WhatIfResponse';
import { AdminHarness, bearer } from './harness';

const EJECTED = '10.0.0.2:8080';
const USERS = Array.from({ length: 300 }, (_, i) => `user-${i}`);

let h: AdminHarness;
beforeAll(async () => {
  h = await AdminHarness.start({
    config: {
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] }],
      backends: [{ name: 'shop-v1', endpoints: ['10.0.0.1:8080', EJECTED, '10.0.0.3:8080', '10.0.0.4:8080'], balancer: { type: 'ring_hash', minRingSize: 1024 } }],
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const call = <Req, Res>(method: 'Explain' | 'WhatIf', req: Req): Promise<Res> =>
  new Promise((resolve, reject) => {
    const fn = (h.client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    fn.call(h.client, req, bearer(), { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });

describe('WhatIf eject_endpoint on gRPC nodes', () => {
  it('moves exactly the sessions Explain places on the ejected replica, each to the fallback Explain names', { timeout: 60_000 }, async () => {
    const explained = new Map<string, { address: string; fallback: string }>();
    for (const user of USERS) {
      const res = await call<ExplainRequest, ExplainResponse__Output>('Explain', { service: 'shop', node_kind: 'grpc', headers: [{ name: 'x-user', value: user }] });
      expect(res.pick, user).not.toBeNull();
      explained.set(user, { address: res.pick!.address, fallback: res.pick!.fallback_address });
    }
    const onEjected = USERS.filter((u) => explained.get(u)!.address === EJECTED);
    // ~1/4 of 300; enough of both kinds for the comparison to mean something.
    expect(onEjected.length).toBeGreaterThan(30);
    expect(onEjected.length).toBeLessThan(USERS.length - 30);

    const res = await call<WhatIfRequest, WhatIfResponse__Output>('WhatIf', { eject_endpoint: { address: EJECTED }, node_kind: 'grpc', samples: 20_000, sessions: USERS });
    const [route] = res.routes.filter((r) => r.service === 'shop' && r.route === 'main');
    expect(route, JSON.stringify(res.routes.map((r) => [r.service, r.route]))).toBeDefined();
    expect(route!.sessions).toHaveLength(USERS.length);
    for (const s of route!.sessions) {
      const e = explained.get(s.value)!;
      expect(s.before, s.value).toBe(e.address);
      expect(s.moved, s.value).toBe(e.address === EJECTED);
      expect(s.after, s.value).toBe(e.address === EJECTED ? e.fallback : e.address);
      expect(s.after, s.value).not.toBe(EJECTED);
    }
    // The sampled figure agrees: the ejected replica's share of the ring moves, nothing else.
    expect(route!.moved).toBeCloseTo(onEjected.length / USERS.length, 0);
    const ejectedShare = route!.replicas.find((r) => r.address === EJECTED)!;
    expect(Number(ejectedShare.after)).toBe(0);
    expect(route!.moved).toBeCloseTo(Number(ejectedShare.before), 1);
  });
});
