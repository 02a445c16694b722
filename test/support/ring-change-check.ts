/**
 * Live traffic through a sticky service while its stable ring changes (replicas added and
 * removed), checking every request: it must reach the user's replica of the ring before the
 * change or after it, as the independent reference ring predicts (stable-ring-prediction.ts).
 * A client that applies the new ring size without the new endpoints, or the new endpoints
 * without the new size, sends some users to a third replica; each such request is reported with
 * the replica each of those mixed rings gives the user.
 */
import { waitFor } from './harness';
import { stableRingOwners, type RingReplica, type StableRingFlavour } from './stable-ring-prediction';

export interface RingChangeOptions {
  /** The replicas of each state: state 0 is served first, each later one is applied in turn. */
  states: ReadonlyArray<readonly RingReplica[]>;
  flavour: StableRingFlavour;
  users: readonly string[];
  /** Concurrent request loops: enough that some requests start in any window of a few ms. */
  workers: number;
  /** One request for `user`; resolves to the id of the replica that answered. */
  call(user: string): Promise<string>;
  /** Serves state k; resolves once the client's node has applied it. */
  apply(k: number): Promise<void>;
  /** Bound for the client to route every user by a new state. */
  convergeTimeoutMs?: number;
}

export interface Detour {
  user: string;
  got: string;
  allowed: string[];
  /** States the request may have been routed by. */
  states: string;
  /** The replica the new size over the old endpoints gives the user. */
  newSizeOldEndpoints: string;
  /** The replica the old size over the new endpoints gives the user. */
  oldSizeNewEndpoints: string;
}

export interface RingChangeResult {
  requests: number;
  detours: Detour[];
  errors: string[];
  /** One line for the test log. */
  summary: string;
}

export async function runRingChanges(o: RingChangeOptions): Promise<RingChangeResult> {
  const n = o.states.length;
  const owners = o.states.map((replicas) => {
    const owner = stableRingOwners(replicas, o.flavour);
    return new Map(o.users.map((u) => [u, owner(u)]));
  });
  const before = (j: number) => o.states[Math.max(0, j - 1)]!;
  const newSizeOldEndpoints = o.states.map((r, j) => stableRingOwners(before(j), o.flavour, r.length));
  const oldSizeNewEndpoints = o.states.map((r, j) => stableRingOwners(r, o.flavour, before(j).length));

  /** States whose apply has started: while it is k, the client routes by state k - 1 or k. */
  let started = 0;
  let requests = 0;
  const detours: Detour[] = [];
  const errors: string[] = [];

  const call = async (user: string): Promise<string | undefined> => {
    const from = started;
    try {
      const got = await o.call(user);
      const to = started;
      requests++;
      const first = Math.max(0, from - 1);
      const allowed = new Set<string>();
      for (let j = first; j <= to; j++) allowed.add(owners[j]!.get(user)!);
      if (!allowed.has(got)) {
        detours.push({
          user,
          got,
          allowed: [...allowed],
          states: `${first}..${to}`,
          newSizeOldEndpoints: newSizeOldEndpoints[to]!(user),
          oldSizeNewEndpoints: oldSizeNewEndpoints[to]!(user),
        });
      }
      return got;
    } catch (err) {
      errors.push(`${user}: ${(err as Error).message}`);
      return undefined;
    }
  };

  /** Until every user is routed as state k says (the client has switched). */
  const converged = (k: number) =>
    waitFor(
      `the client routing by state ${k} (${o.states[k]!.length} replicas)`,
      async () => {
        for (let i = 0; i < o.users.length; i += 100) {
          const batch = o.users.slice(i, i + 100);
          const got = await Promise.all(batch.map(call));
          if (batch.some((u, j) => got[j] !== owners[k]!.get(u))) return false;
        }
        return true;
      },
      o.convergeTimeoutMs ?? 20_000,
    );

  await converged(0);
  let stop = false;
  let next = 0;
  const loops = Array.from({ length: o.workers }, async () => {
    while (!stop) await call(o.users[next++ % o.users.length]!);
  });
  try {
    for (let k = 1; k < n; k++) {
      started = k;
      await o.apply(k);
      await converged(k);
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  const moves = o.states.slice(1).map((r, i) => `${o.states[i]!.length}→${r.length}`).join(', ');
  const newSize = detours.filter((d) => d.got === d.newSizeOldEndpoints).length;
  const oldSize = detours.filter((d) => d.got === d.oldSizeNewEndpoints).length;
  const summary =
    `ring changes ${moves}: ${requests} requests, ${detours.length} to a replica outside {before, after} ` +
    `(as new size/old endpoints predicts: ${newSize}, old size/new endpoints: ${oldSize}), ${errors.length} failed`;
  return { requests, detours, errors, summary };
}
