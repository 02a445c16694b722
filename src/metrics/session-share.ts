/**
 * Each replica's share of a sticky service's sessions, as Envoy nodes are served it: for every
 * cluster a route sends to whose balancer hashes (RING_HASH or MAGLEV), the share of the 64-bit
 * hash space each endpoint owns on the ring (arc lengths) or in the maglev table (slots / M),
 * from src/affinity's exact model of Envoy's construction. Sessions hash uniformly over that
 * space, so this is the share of sessions each replica gets (all replicas reachable).
 *
 * What is served comes from the served rendition's ENVOY_BALANCERS view
 * (control/served-balancers.ts: each cluster's content signature, and its balancer and endpoints
 * decoded from the snapshot's bytes on demand by explain's model), never from a translation or
 * a decoding of its own.
 *
 * Cost control, since a config may hold thousands of sticky clusters with rings of millions of
 * entries:
 * - A cluster is recomputed only when its Cluster or ClusterLoadAssignment content changes
 *   (the snapshot's per-resource content hashes); everything else is reused.
 * - Non-hashing clusters, and clusters no route sends to, are skipped without decoding.
 * - Changed clusters are decoded, and small rings and tables computed exactly, in slices of
 *   about `sliceMs` of CPU (at least one cluster per slice), the first one synchronously in
 *   servedConfigChanged, the rest in later event-loop turns so xDS streams are not held up.
 *   Decoding has its own slice of PLAN_SLICE_MS (~0.2 s for 10,000 clusters the first time).
 * - A ring or table too large for a slice (more than WORKER_MIN_COST: a 2,000-endpoint stable
 *   ring has 2M entries and takes 4–7 s) is computed on the compute worker thread (src/compute)
 *   instead, so no cluster holds the event loop.
 * - Until its turn (and before XXH64 is loaded) a cluster shows its nominal shares (endpoint
 *   weight / total, what the algorithm approximates); a changed cluster not decoded yet keeps
 *   its previous shares.
 *   Measured on the dev machine: 1,000 maglev clusters (65,537 slots) ~1.7 s of background
 *   work, 1,000 / 10,000 stable rings of 3 replicas ~1.7 s / ~15 s, never holding the event loop
 *   more than ~50 ms; an unchanged config of 10,000 is re-checked in ~36 ms.
 */
import { Gauge, type Registry } from 'prom-client';
import { balancerHosts, createPicker, hashingReady, initHashing, nominalShares, pickerCost } from '../affinity';
import { computePool, WORKER_MIN_COST, type ComputePool } from '../compute';
import type { Rendition } from '../control/rendition';
import { ENVOY_BALANCERS, type ServedBalancer, type ServedHashBalancer } from '../control/served-balancers';
import type { Logger } from '../log';
import { turnSlice } from '../util/yield-loop';

/**
 * What the share computation reads of a served config: its rendition (publisher.ts `served()`),
 * through the ENVOY_BALANCERS view (control/served-balancers.ts), built once per rendition.
 */
export type ServedResources = Pick<Rendition, 'view'>;

/** Each replica's share of a sticky service's sessions (0..1). */
export const SESSION_SHARE_METRIC = 'tether_replica_session_share_ratio';
/** The same series under its name before the `_ratio` convention: deprecated in 0.1.x, removed in the next release. */
export const DEPRECATED_SESSION_SHARE_METRIC = 'tether_replica_session_share';

/** CPU time per slice of the exact computation, ms. */
export const DEFAULT_SHARE_SLICE_MS = 20;
/** CPU time per slice of decoding changed clusters, ms. */
const PLAN_SLICE_MS = 20;

interface ClusterShares {
  /** Content hashes of the Cluster and its ClusterLoadAssignment. */
  signature: string;
  /** Undefined: the cluster does not hash (or is not modelled); no series. */
  shares?: Map<string, number>;
  exact: boolean;
  /** Kept until the exact shares are computed. */
  pending?: ServedHashBalancer;
  /** Not planned yet: the served balancer, decoded in planSome. */
  served?: ServedBalancer;
  /** Sent to the worker thread. */
  offloaded?: boolean;
}


export interface SessionShareMetrics {
  servedConfigChanged(served: ServedResources | undefined): void;
  /** Resolves once every share reflects the latest served config exactly. */
  settled(): Promise<void>;
}

export function createSessionShareMetrics(
  registry: Registry,
  options: { sliceMs: number; logger?: Logger; pool?: ComputePool },
): SessionShareMetrics {
  const pool = () => options.pool ?? computePool();
  let byCluster = new Map<string, ClusterShares>();
  let services: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  let generation = 0;
  let refining: Promise<void> = Promise.resolve();

  const collectShares = (gauge: Gauge<'service' | 'cluster' | 'replica'>): void => {
    gauge.reset();
    for (const [cluster, entry] of byCluster) {
      if (!entry.shares) continue;
      for (const service of services.get(cluster) ?? []) {
        for (const [replica, share] of entry.shares) gauge.set({ service, cluster, replica }, share);
      }
    }
  };
  const help =
    'Share (0..1) of a sticky service\'s sessions each replica of a consistent-hash cluster serves on Envoy nodes: ' +
    'its share of the hash space on the ring (RING_HASH) or in the table (MAGLEV), assuming all replicas reachable.';
  new Gauge({
    name: SESSION_SHARE_METRIC,
    help,
    labelNames: ['service', 'cluster', 'replica'],
    registers: [registry],
    collect() {
      collectShares(this);
    },
  });
  // The name before the Prometheus `_ratio` convention: kept for one release (see the README).
  new Gauge({
    name: DEPRECATED_SESSION_SHARE_METRIC,
    help: `DEPRECATED: use ${SESSION_SHARE_METRIC} (same values); this name goes away in the next release. ${help}`,
    labelNames: ['service', 'cluster', 'replica'],
    registers: [registry],
    collect() {
      collectShares(this);
    },
  });

  /** Decodes changed clusters for about PLAN_SLICE_MS; returns whether any remain. */
  const planSome = (entries: Map<string, ClusterShares>): boolean => {
    // The turn's slice, shared with other sliced work (turnSlice); at least one cluster a call.
    const deadline = turnSlice() + PLAN_SLICE_MS;
    let planned = 0;
    for (const [name, entry] of entries) {
      if (!entry.served) continue;
      if (planned++ > 0 && performance.now() >= deadline) return true;
      const served = entry.served;
      delete entry.served;
      try {
        delete entry.shares;
        Object.assign(entry, plan(entry.signature, served));
      } catch (err) {
        delete entry.shares;
        entry.exact = true;
        options.logger?.warn({ cluster: name, err: (err as Error).message }, 'replica session shares: cluster skipped');
      }
    }
    return false;
  };

  const keepNominal = (name: string, entry: ClusterShares, err: string) => {
    options.logger?.warn({ cluster: name, err }, 'replica session shares: keeping nominal shares');
    delete entry.pending;
  };

  /**
   * Computes small pending clusters exactly for about `sliceMs` (at least one) and sends large
   * ones to the worker (returned); `more`: whether any remain for a later slice.
   */
  const computeExact = (entries: Map<string, ClusterShares>): { more: boolean; offload: Array<[string, ClusterShares]> } => {
    const deadline = turnSlice() + options.sliceMs;
    const offload: Array<[string, ClusterShares]> = [];
    let computed = 0;
    for (const [name, entry] of entries) {
      if (!entry.pending || entry.offloaded) continue;
      if (pickerCost(entry.pending.endpoints, entry.pending.balancer, 'envoy') > WORKER_MIN_COST) {
        entry.offloaded = true;
        offload.push([name, entry]);
        continue;
      }
      if (computed > 0 && performance.now() >= deadline) return { more: true, offload };
      computed++;
      try {
        entry.shares = createPicker(entry.pending.endpoints, entry.pending.balancer, { flavour: 'envoy' })!.shares();
        entry.exact = true;
      } catch (err) {
        options.logger?.warn({ cluster: name, err: (err as Error).message }, 'replica session shares: keeping nominal shares');
      }
      delete entry.pending;
    }
    return { more: false, offload };
  };

  /** Worker batches in flight, across generations (an entry outlives its generation when unchanged). */
  const inflight = new Set<Promise<void>>();
  const computeOffloaded = (batch: Array<[string, ClusterShares]>): Promise<void> => {
    if (batch.length === 0) return Promise.resolve();
    const done = offloadBatch(batch).finally(() => inflight.delete(done));
    inflight.add(done);
    return done;
  };
  const offloadBatch = async (batch: Array<[string, ClusterShares]>): Promise<void> => {
    try {
      const results = await pool().shares(batch.map(([, e]) => e.pending!));
      batch.forEach(([name, entry], i) => {
        const r = results[i]!;
        if ('shares' in r) {
          entry.shares = r.shares;
          entry.exact = true;
          delete entry.pending;
        } else keepNominal(name, entry, r.error);
      });
    } catch (err) {
      for (const [name, entry] of batch) keepNominal(name, entry, (err as Error).message);
    }
  };

  const refine = async (gen: number, entries: Map<string, ClusterShares>, offloading: Array<Promise<void>>): Promise<void> => {
    try {
      await initHashing();
      for (;;) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (gen !== generation) return;
        if (planSome(entries)) continue;
        const { more, offload } = computeExact(entries);
        offloading.push(computeOffloaded(offload));
        if (!more) return;
      }
    } finally {
      await Promise.all(offloading);
    }
  };

  const plan = (signature: string, served: ServedBalancer): ClusterShares => {
    const balancer = served.plan();
    if (!balancer) return { signature, exact: true };
    return { signature, shares: nominalShares(balancerHosts(balancer.endpoints, 'envoy')), exact: false, pending: balancer };
  };

  return {
    servedConfigChanged(served) {
      const gen = ++generation;
      const view = served?.view(ENVOY_BALANCERS);
      const next = new Map<string, ClusterShares>();
      for (const [name, balancer] of view?.clusters ?? []) {
        const previous = byCluster.get(name);
        if (previous?.signature === balancer.signature) {
          next.set(name, previous);
          continue;
        }
        // Planned in planSome; until then the previous shares (if any) stay.
        next.set(name, { signature: balancer.signature, ...(previous?.shares ? { shares: previous.shares } : {}), exact: false, served: balancer });
      }
      byCluster = next;
      services = view?.services ?? new Map();
      const morePlans = planSome(next);
      const offloading: Array<Promise<void>> = [];
      let remaining = morePlans || [...next.values()].some((e) => e.pending);
      if (!morePlans && hashingReady()) {
        const { more, offload } = computeExact(next);
        offloading.push(computeOffloaded(offload));
        remaining = more;
      }
      refining = remaining ? refine(gen, next, offloading) : Promise.all(offloading).then(() => undefined);
    },
    async settled() {
      await refining;
      while (inflight.size > 0) await Promise.all(inflight);
    },
  };
}
