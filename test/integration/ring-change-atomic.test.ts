/**
 * Issue 11.1 through the real @grpc/grpc-js-xds client: a scale event changes a stable ring's
 * size (CDS) and its endpoints (EDS) together, and the client must never use one without the
 * other. With one ClusterLoadAssignment per backend it did: grpc-js-xds applied the new size to
 * the endpoints it held, and for that moment 18 % of users (3 → 4 replicas) landed on an old
 * replica that was neither theirs before nor after.
 *
 * Replicas are added and removed under live traffic (3 → 4 → 3 → 4 → 5 → 6 → 5 → 4 → 3):
 * - every RPC must reach the user's replica of the ring before the change or after it;
 * - every update the client's ring-hash balancer is given (recorded as it calls through to the
 *   real one) must pair a ring size with the endpoints it was computed for, so a mixed ring is
 *   caught even if no RPC happens to be picked while it is installed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness, hello } from '../support/harness';
import { recordRingUpdates, type RingUpdateRecorder } from '../support/grpc-ring-updates';
import { runRingChanges } from '../support/ring-change-check';
import { GRPC_STABLE_RING } from '../support/stable-ring-prediction';
import type { Replica } from '../../src/sample/replica';

const h = new Harness();
let replicas: Replica[];
let rings: RingUpdateRecorder;

/** Replica counts, from the first config on: each step adds or removes one replica. */
const COUNTS = [3, 4, 3, 4, 5, 6, 5, 4, 3];

const config = (n: number) => ({
  services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'all', backends: [{ name: 'shop' }] }] }],
  backends: [{ name: 'shop', endpoints: replicas.slice(0, n).map((r) => r.address) }],
});

beforeAll(async () => {
  replicas = [];
  for (let i = 1; i <= Math.max(...COUNTS); i++) replicas.push(await h.replica(`r-${i}`));
  rings = recordRingUpdates();
  await h.start(config(COUNTS[0]!));
});

afterAll(async () => {
  rings?.stop();
  await h.close();
});

it('every RPC during repeated scale-out and scale-in reaches the user’s replica before or after the change', async () => {
  const client = h.client('shop');
  const result = await runRingChanges({
    states: COUNTS.map((n) => replicas.slice(0, n)),
    flavour: GRPC_STABLE_RING,
    users: Array.from({ length: 300 }, (_, i) => `user-${i}`),
    workers: 32,
    call: async (user) => (await hello(client, { 'x-user': user }, 10_000)).replica_id,
    apply: async (k) => {
      const result = await h.tether.applyText(JSON.stringify(config(COUNTS[k]!)), 'test');
      expect(result.ok, JSON.stringify(result)).toBe(true);
      const applied = await h.tether.registry.waitForConfigVersion(h.tether.current().version, { kind: 'grpc', timeoutMs: 20_000 });
      expect(applied, `config ${k} applied by the gRPC node`).toBe(true);
    },
  });
  console.info(result.summary);
  expect(result.detours.slice(0, 20), `${result.detours.length} RPCs reached a replica that was neither the user's before nor after`).toEqual([]);
  expect(result.errors.slice(0, 20)).toEqual([]);
  // The check had traffic to look at: every step ran at least its convergence probe.
  expect(result.requests).toBeGreaterThan(300 * COUNTS.length);

  // Every ring the client built: a size of K × replicas over exactly those replicas.
  const states = new Set(COUNTS.map((n) => replicas.slice(0, n).map((r) => r.address).join(',')));
  const mixed = rings.updates.filter((u) => u.minRingSize !== GRPC_STABLE_RING.pointsPerHost * u.addresses.length || !states.has(u.addresses.join(',')));
  const sizes = [...new Set(rings.updates.map((u) => `${u.addresses.length}@${u.minRingSize}`))].join(' ');
  console.info(`ring-hash balancer updates: ${rings.updates.length} (replicas@min ring size: ${sizes}), ${mixed.length} mixed`);
  expect(rings.updates.length).toBeGreaterThanOrEqual(COUNTS.length);
  expect(mixed.map((u) => `${u.addresses.length} replicas with a ring sized ${u.minRingSize}`)).toEqual([]);
}, 60_000);
