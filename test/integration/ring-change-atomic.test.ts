/**
 * Issue 11.1 through the real @grpc/grpc-js-xds client: a scale event changes a stable ring's
 * size and its endpoints together, and no RPC may see one without the other.
 *
 * With one cluster per backend, the new minimum_ring_size (CDS) reached the client before the
 * new endpoints (EDS), and grpc-js-xds rebuilt its ring from the new size and the old
 * endpoints in between: 18 % of users (3 → 4 replicas) landed on an old replica that was
 * neither theirs before nor after. Here traffic runs while replicas are added and removed
 * (3 → 4 → 3 → 4 → 5 → 6 → 5 → 4 → 3), and every RPC must reach the user's replica of the ring
 * before the change or after it, as the independent reference ring predicts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness, hello, waitFor } from '../support/harness';
import { stableRingOwners } from '../support/stable-ring-prediction';
import type { Replica } from '../../src/sample/replica';

const h = new Harness();
let replicas: Replica[];

/** Replica counts, from the first config on: each step adds or removes one replica. */
const COUNTS = [3, 4, 3, 4, 5, 6, 5, 4, 3];
const USERS = Array.from({ length: 300 }, (_, i) => `user-${i}`);
/** Concurrent RPC loops: enough that some RPCs are picked in any window of a few ms. */
const WORKERS = 32;

const config = (n: number) => ({
  services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'all', backends: [{ name: 'shop' }] }] }],
  backends: [{ name: 'shop', endpoints: replicas.slice(0, n).map((r) => r.address) }],
});

beforeAll(async () => {
  replicas = [];
  for (let i = 1; i <= Math.max(...COUNTS); i++) replicas.push(await h.replica(`r-${i}`));
  await h.start(config(COUNTS[0]!));
});

afterAll(() => h.close());

interface Violation {
  user: string;
  got: string;
  allowed: string[];
  states: string;
  /** The replica the mixed ring (new size, old endpoints) of the change gives the user. */
  mixed: string;
}

it('every RPC during repeated scale-out and scale-in reaches the user’s replica before or after the change', async () => {
  const client = h.client('shop');
  // state j: the replica of each user once config j is applied.
  const owners = COUNTS.map((n) => {
    const owner = stableRingOwners(replicas.slice(0, n));
    return new Map(USERS.map((u) => [u, owner(u)]));
  });
  // What the defect gave: state j's ring size over state j - 1's replicas.
  const mixed = COUNTS.map((n, j) => stableRingOwners(replicas.slice(0, COUNTS[Math.max(0, j - 1)]!), n));
  /** Configs whose apply has started: while it is k, the client routes by state k - 1 or k. */
  let started = 0;
  let rpcs = 0;
  const violations: Violation[] = [];
  const errors: string[] = [];

  /** One RPC, checked against every state the client may have routed it by. */
  const call = async (user: string): Promise<string | undefined> => {
    const from = started;
    try {
      const reply = await hello(client, { 'x-user': user }, 10_000);
      const to = started;
      rpcs++;
      const states = { first: Math.max(0, from - 1), last: to };
      const allowed = new Set<string>();
      for (let j = states.first; j <= states.last; j++) allowed.add(owners[j]!.get(user)!);
      if (!allowed.has(reply.replica_id)) {
        const m = mixed[states.last]!(user);
        violations.push({ user, got: reply.replica_id, allowed: [...allowed], states: `${states.first}..${states.last}`, mixed: m });
      }
      return reply.replica_id;
    } catch (err) {
      errors.push(`${user}: ${(err as Error).message}`);
      return undefined;
    }
  };

  /** Until every user is routed as state k says (the client has switched). */
  const converged = (k: number) =>
    waitFor(
      `the client routing by state ${k} (${COUNTS[k]} replicas)`,
      async () => {
        for (let i = 0; i < USERS.length; i += 100) {
          const batch = USERS.slice(i, i + 100);
          const got = await Promise.all(batch.map(call));
          if (batch.some((u, j) => got[j] !== owners[k]!.get(u))) return false;
        }
        return true;
      },
      20_000,
    );

  await converged(0);
  let stop = false;
  let next = 0;
  const loops = Array.from({ length: WORKERS }, async () => {
    while (!stop) await call(USERS[next++ % USERS.length]!);
  });
  try {
    for (let k = 1; k < COUNTS.length; k++) {
      const before = h.tether.current().version;
      started = k;
      const result = await h.tether.applyText(JSON.stringify(config(COUNTS[k]!)), 'test');
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(h.tether.current().version).not.toBe(before);
      const applied = await h.tether.registry.waitForConfigVersion(h.tether.current().version, { kind: 'grpc', timeoutMs: 20_000 });
      expect(applied, `config ${k} applied by the gRPC node`).toBe(true);
      await converged(k);
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }

  const moves = COUNTS.slice(1).map((n, i) => `${COUNTS[i]}→${n}`).join(', ');
  const asMixed = violations.filter((v) => v.got === v.mixed).length;
  console.info(
    `ring changes ${moves}: ${rpcs} RPCs, ${violations.length} to a replica outside {before, after} ` +
      `(${asMixed} as the new size over the old endpoints predicts), ${errors.length} failed`,
  );
  expect(violations.slice(0, 20), `${violations.length} RPCs reached a replica that was neither the user's before nor after`).toEqual([]);
  expect(errors.slice(0, 20)).toEqual([]);
  // The check had traffic to look at: every step ran at least its convergence probe.
  expect(rpcs).toBeGreaterThan(USERS.length * COUNTS.length);
}, 60_000);
