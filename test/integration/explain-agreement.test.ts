/**
 * Explain predicts what real clients do: Tether on 127.0.0.1 with five sample replicas, the
 * real @grpc/grpc-js-xds client on xds:///sticky (ring hash on x-user), and for 1,200 distinct
 * users the replica Explain (node kind grpc, over the admin API) names is the replica the
 * client reached, every time. The balancer's sizes are whatever Tether serves by default, so
 * this holds whatever the default ring sizing is. grpc-js-xds has no maglev, so a maglev
 * service is explained for Envoy against Envoy's own maglev test vector instead.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHashing, xxh64 } from '../../src/affinity';
import { createAdminClient, type AdminClient } from '../../src/admin/admin-proto';
import type { ExplainRequest } from '../../src/generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../src/generated/tether/tether/admin/v1/ExplainResponse';
import type { Replica } from '../../src/sample/replica';
import { ADMIN_TOKEN, Harness, hello } from '../support/harness';

const USERS = 1200;
const MAGLEV_PORTS = [90, 91, 92, 93, 94, 95];
/** maglev_lb_test.cc Basic: table 7 over 127.0.0.1:90..95, slot i → this port. */
const MAGLEV_VECTOR = [92, 94, 90, 91, 95, 90, 93];

const h = new Harness();
let replicas: Replica[];
let admin: AdminClient;

function explain(req: ExplainRequest): Promise<ExplainResponse__Output> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  return new Promise((resolve, reject) =>
    admin.Explain(req, md, { deadline: Date.now() + 10_000 }, (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res))),
  );
}

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

beforeAll(async () => {
  await initHashing();
  replicas = [];
  for (let i = 1; i <= 5; i++) replicas.push(await h.replica(`r${i}`));
  await h.start({
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      { name: 'sticky', domains: ['sticky.example'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'sticky' }] }] },
      { name: 'mg', domains: ['mg.example'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'mg' }] }] },
    ],
    backends: [
      { name: 'sticky', endpoints: replicas.map((r) => r.address) },
      { name: 'mg', endpoints: MAGLEV_PORTS.map((p) => `127.0.0.1:${p}`), balancer: { type: 'maglev', tableSize: 7 } },
    ],
  });
  admin = createAdminClient(`127.0.0.1:${h.tether.adminPort}`);
});

afterAll(async () => {
  admin?.close();
  await h.close();
});

describe('Explain agrees with the real clients', () => {
  it(`grpc: the predicted replica is the one grpc-js-xds reaches, for ${USERS} of ${USERS} users`, async () => {
    const client = h.client('sticky');
    const idOf = new Map(replicas.map((r) => [r.address, r.id]));
    const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
    const reached = await inBatches(users, 100, async (user) => (await hello(client, { 'x-user': user })).replica_id);
    const predicted = await inBatches(users, 100, async (user) => {
      const res = await explain({ service: 'sticky', node_kind: 'grpc', headers: [{ name: 'x-user', value: user }] });
      expect(res.predictable).toBe(true);
      return idOf.get(res.pick!.address) ?? `unknown address ${res.pick!.address}`;
    });
    const disagreements = users.filter((_, i) => predicted[i] !== reached[i]).map((u, i) => `${u}: predicted ${predicted[i]}, reached ${reached[i]}`);
    expect(disagreements).toEqual([]);
    expect(predicted.filter((id, i) => id === reached[i])).toHaveLength(USERS);
    // Every replica serves some users: the agreement is not one replica taking everyone.
    expect(new Set(reached).size).toBe(replicas.length);
  });

  it("envoy maglev: Envoy's Basic vector (table 7 over :90..:95)", async () => {
    for (let i = 0; i < 50; i++) {
      const user = `maglev-user-${i}`;
      const res = await explain({ service: 'mg', node_kind: 'envoy', headers: [{ name: 'x-user', value: user }] });
      const slot = Number(xxh64(user) % 7n);
      expect(res.pick).toMatchObject({ balancer: 'maglev', index: slot, size: 7, address: `127.0.0.1:${MAGLEV_VECTOR[slot]}`, backends: ['mg'] });
    }
  });
});
