/**
 * What-if: how a change moves sticky sessions, from the resources a kind of node is served
 * before and after it. For every route of a sticky service whose placement inputs change
 * (hash policies, cluster, balancer, endpoints), deterministic synthetic sessions — distinct
 * values of the route's first session key, e.g. `x-user: session-17` — go through the route's
 * real hash policy and each side's balancer (src/affinity); a session moves when its replica
 * differs. XXH64 of distinct values is uniform, so this samples real sessions faithfully.
 * Sessions the caller lists (`sessions`: values of that same key, e.g. real user ids) are
 * placed the same way and reported one by one, so a scale event's movers can be named.
 *
 * A side that is not sticky (a weighted split, which is random per request, or a balancer
 * that does not hash) places sessions at random: its per-replica shares are the nominal ones
 * (split share × endpoint weight share), and "moved" is the expected share of requests that
 * land elsewhere than the session's replica on the sticky side.
 */
import {
  balancerHosts,
  idealMovedShare,
  isHashing,
  keyLabel,
  nominalShares,
  DEFAULT_SAMPLES,
  type BalancerHost,
  type Flavour,
} from '../affinity';
import type { Route__Output } from '../generated/envoy/config/route/v3/Route';
import type { AffinityKey } from '../model/types';
import type { NodeKind } from '../model/node-targets';
import { clusterBalancer, clusterEndpoints, endpointsWithout, routeKeys } from './cluster-view';
import type { EndpointOwners } from './served-service';
import { runSampleJob, type SampleJob, type SampleResult, type SamplePart } from './what-if-sampling';
import { assignmentOf, type WireResources } from './wire';

/**
 * The most synthetic sessions one what-if may sample per route. 200,000 measure a moved share
 * to about ±0.1 point (one standard error) and take ~2 s per route on the worker thread; more
 * only costs time (a million took 8.4 s).
 */
export const MAX_WHAT_IF_SAMPLES = 200_000;

export interface ReplicaShareOutcome {
  address: string;
  backends: string[];
  before: number;
  after: number;
}

export interface BackendShareOutcome {
  backend: string;
  before: number;
  after: number;
}

/** Where one listed session lands; '' on a side that places it at random. */
export interface SessionPlacementOutcome {
  value: string;
  before: string;
  after: string;
  moved: boolean;
}

export interface RouteImpactOutcome {
  service: string;
  route: string;
  /** '' when the route does not exist on that side; '(weighted)' for a weighted split. */
  clusterBefore: string;
  clusterAfter: string;
  stickyBefore: boolean;
  stickyAfter: boolean;
  moved: number;
  ideal: number;
  replicas: ReplicaShareOutcome[];
  backends: BackendShareOutcome[];
  /** The key the synthetic sessions carry, e.g. "header:x-user". */
  key: string;
  notes: string[];
  /** WhatIfOptions.sessions placed on this route, in order. */
  sessions: SessionPlacementOutcome[];
}

export interface WhatIfSide {
  resources: WireResources;
  owners: EndpointOwners;
  /**
   * Replicas ("ip:port") out of every cluster that lists them (ejected by outlier detection,
   * failing health checks): Envoy rebuilds its rings from the others, at the configured size;
   * a gRPC client keeps its ring and walks past them (to the next priority when none is left).
   */
  ejected?: ReadonlySet<string>;
}

/** How one route places sessions on one side. */
interface Placement {
  cluster: string;
  keys: AffinityKey[];
  /**
   * Set when sessions are placed by hash: what the balancer is built from (one part, or the
   * clusters of a split the route's hash picks from), and its hosts.
   */
  hashing?: { parts: SamplePart[]; hosts: BalancerHost[] };
  /** Address → expected share when placement is random (or nominal, for the ideal). */
  nominal: Map<string, number>;
  /** Everything that decides placement, for telling changed routes from unchanged ones. */
  signature: string;
  notes: string[];
}

const WEIGHTED = '(weighted)';

/** The key kinds a client of `flavour` evaluates. */
const evaluable = (key: AffinityKey, flavour: Flavour): boolean => flavour === 'envoy' || key.kind === 'header';

function placement(route: Route__Output, side: WhatIfSide, flavour: Flavour): Placement | undefined {
  const action = route.route;
  if (!action) return undefined;
  const keys = routeKeys(action.hash_policy).keys;
  const targets: Array<{ name: string; share: number }> =
    action.cluster_specifier === 'cluster' && action.cluster
      ? [{ name: action.cluster, share: 1 }]
      : (action.weighted_clusters?.clusters ?? []).map((c) => ({ name: c.name, share: c.weight?.value ?? 0 }));
  const total = targets.reduce((s, t) => s + t.share, 0);
  if (targets.length === 0 || total <= 0) return undefined;

  const nominal = new Map<string, number>();
  const signature: unknown[] = [];
  const notes: string[] = [];
  let hashing: Placement['hashing'];
  // Envoy ≥ 1.36 sticky split: the route's hash picks the cluster too (hash % total, in order).
  const byHash = targets.length > 1 && action.weighted_clusters?.use_hash_policy?.value === true && flavour === 'envoy';
  const parts: SamplePart[] = [];
  const partHosts: BalancerHost[] = [];
  for (const t of targets) {
    const cluster = side.resources.clusters.get(t.name);
    if (!cluster) continue;
    const lb = clusterBalancer(cluster, flavour);
    const assignment = assignmentOf(side.resources, cluster);
    const all = clusterEndpoints(assignment, lb.useHostname);
    const ejected = side.ejected && all.some((e) => side.ejected!.has(`${e.ip}:${e.port}`)) ? side.ejected : undefined;
    const rest = ejected ? endpointsWithout(assignment, lb.useHostname, ejected) : all;
    // gRPC walks its unchanged ring past the ejected replicas while its priority has others.
    const walks = ejected !== undefined && flavour === 'grpc' && rest.length > 0 && balancerHosts(rest, flavour).some((h) => balancerHosts(all, flavour).some((a) => a.address === h.address));
    const endpoints = walks ? all : rest;
    const hosts = balancerHosts(endpoints, flavour);
    signature.push({ cluster: t.name, share: t.share, balancer: lb.balancer, hosts, ...(byHash ? { byHash } : {}), ...(ejected ? { ejected: [...ejected].sort(), walks } : {}) });
    for (const [address, share] of nominalShares(hosts)) nominal.set(address, (nominal.get(address) ?? 0) + (share * t.share) / total);
    for (const n of lb.notes) if (!notes.includes(n)) notes.push(n);
    if ((targets.length === 1 || byHash) && !lb.unsupported && hosts.length > 0 && isHashing(lb.balancer) && keys.some((k) => evaluable(k, flavour))) {
      const part: SamplePart = { weight: targets.length === 1 ? 1 : t.share, endpoints, balancer: lb.balancer, ...(walks ? { walkPast: [...ejected!] } : {}) };
      if (targets.length === 1) hashing = { parts: [part], hosts };
      else if (t.share > 0) {
        parts.push(part);
        partHosts.push(...hosts);
      }
    }
  }
  if (byHash && parts.length === targets.filter((t) => t.share > 0).length && parts.length > 0) hashing = { parts, hosts: partHosts };
  return {
    cluster: targets.length === 1 ? targets[0]!.name : WEIGHTED,
    keys,
    ...(hashing ? { hashing } : {}),
    nominal,
    signature: JSON.stringify({ keys, parts: signature }),
    notes,
  };
}

/** Service → route name → route, in served order. */
function servedRoutes(resources: WireResources, kind: NodeKind): Map<string, Map<string, Route__Output>> {
  const out = new Map<string, Map<string, Route__Output>>();
  for (const config of resources.routes) {
    const hosts = kind === 'grpc' ? config.virtual_hosts.slice(0, 1).map((vh) => ({ ...vh, name: config.name })) : config.virtual_hosts;
    for (const vh of hosts) {
      if (out.has(vh.name)) continue;
      out.set(vh.name, new Map(vh.routes.map((r) => [r.name, r])));
    }
  }
  return out;
}

const sameKeys = (a: readonly AffinityKey[], b: readonly AffinityKey[]) => JSON.stringify(a) === JSON.stringify(b);

export interface WhatIfOptions {
  kind: NodeKind;
  samples?: number;
  /** Real sessions to place too, by the value of each route's session key (RouteImpactOutcome.key). */
  sessions?: readonly string[];
}

/** Every sticky route whose session placement the change affects, in served order (computed here, synchronously). */
export function routeImpacts(before: WhatIfSide, after: WhatIfSide, options: WhatIfOptions): RouteImpactOutcome[] {
  return plannedImpacts(before, after, options).map((p) => p.finish(runSampleJob(p.job)));
}

/** One affected route: the sampling to run (anywhere, e.g. on a worker thread), then the outcome from its result. */
export interface PlannedImpact {
  job: SampleJob;
  finish(result: SampleResult): RouteImpactOutcome;
}

/**
 * The same, one plan per affected route, so a caller sharing the event loop (the admin API
 * beside xDS) can run the heavy part elsewhere: planning builds no ring or table.
 */
export function plannedImpacts(before: WhatIfSide, after: WhatIfSide, options: WhatIfOptions): PlannedImpact[] {
  const samples = options.samples ?? DEFAULT_SAMPLES;
  if (!Number.isInteger(samples) || samples < 1 || samples > MAX_WHAT_IF_SAMPLES) {
    throw new RangeError(`samples: must be an integer in [1, ${MAX_WHAT_IF_SAMPLES}] (got ${samples})`);
  }
  const flavour = options.kind;
  const a = servedRoutes(before.resources, flavour);
  const b = servedRoutes(after.resources, flavour);
  const services = [...new Set([...a.keys(), ...b.keys()])];
  const out: PlannedImpact[] = [];
  for (const service of services) {
    const routesBefore = a.get(service) ?? new Map<string, Route__Output>();
    const routesAfter = b.get(service) ?? new Map<string, Route__Output>();
    for (const name of new Set([...routesBefore.keys(), ...routesAfter.keys()])) {
      const rb = routesBefore.get(name);
      const ra = routesAfter.get(name);
      const pb = rb && placement(rb, before, flavour);
      const pa = ra && placement(ra, after, flavour);
      if (!pb?.hashing && !pa?.hashing) continue;
      if (pb && pa && pb.signature === pa.signature) continue;
      out.push(planImpact(service, name, pb, pa, before.owners, after.owners, flavour, samples, options.sessions ?? []));
    }
  }
  return out;
}

function planImpact(
  service: string,
  route: string,
  pb: Placement | undefined,
  pa: Placement | undefined,
  ownersBefore: EndpointOwners,
  ownersAfter: EndpointOwners,
  flavour: Flavour,
  samples: number,
  sessions: readonly string[],
): PlannedImpact {
  // The sessions carry the first key the sticky side hashes (before, unless only after is sticky).
  const keyed = pb?.hashing ? pb : pa!;
  const key = keyed.keys.find((k) => evaluable(k, flavour))!;
  const label = keyLabel(key);
  const hashesWith = (p: Placement | undefined): boolean => !!p?.hashing && p.keys.some((k) => evaluable(k, flavour) && keyLabel(k) === label);
  const stickyBefore = hashesWith(pb);
  const stickyAfter = hashesWith(pa);
  const side = (p: Placement) => ({ keys: p.keys, parts: p.hashing!.parts });
  const job: SampleJob = {
    flavour,
    samples,
    key,
    ...(stickyBefore ? { before: side(pb!) } : {}),
    ...(stickyAfter ? { after: side(pa!) } : {}),
    reuse: stickyBefore && stickyAfter && sameKeys(pb!.keys, pa!.keys),
    sessions,
  };
  const finish = (result: SampleResult) =>
    outcome(service, route, pb, pa, ownersBefore, ownersAfter, { label, stickyBefore, stickyAfter, samples }, result);
  return { job, finish };
}

function outcome(
  service: string,
  route: string,
  pb: Placement | undefined,
  pa: Placement | undefined,
  ownersBefore: EndpointOwners,
  ownersAfter: EndpointOwners,
  plan: { label: string; stickyBefore: boolean; stickyAfter: boolean; samples: number },
  result: SampleResult,
): RouteImpactOutcome {
  const { label, stickyBefore, stickyAfter, samples } = plan;
  const { countsBefore, countsAfter, moved } = result;
  const notes: string[] = [];
  if (pb?.hashing && !stickyAfter && pa?.hashing) notes.push(`after the change the route no longer hashes ${label}: sessions are placed at random`);
  const sharesOf = (counts: Map<string, number>) => new Map([...counts].map(([k, c]) => [k, c / samples]));
  const before = stickyBefore ? sharesOf(countsBefore) : (pb?.nominal ?? new Map<string, number>());
  const after = stickyAfter ? sharesOf(countsAfter) : (pa?.nominal ?? new Map<string, number>());

  let movedShare: number;
  if (stickyBefore && stickyAfter) movedShare = moved / samples;
  else if (!pb || !pa) {
    movedShare = 0;
    notes.push(!pb ? 'the route is new: which requests it takes depends on their headers and path' : 'the route goes away: its requests fall to the routes after it');
  } else {
    // One side random per request: the chance a request lands off the session's replica.
    let stay = 0;
    for (const [address, share] of before) stay += share * (after.get(address) ?? 0);
    movedShare = 1 - stay;
    notes.push(stickyBefore ? 'not sticky after the change: every request picks a replica at random' : 'not sticky before the change: requests were placed at random');
  }
  const nominalBefore = pb?.hashing ? nominalShares(pb.hashing.hosts) : (pb?.nominal ?? new Map<string, number>());
  const nominalAfter = pa?.hashing ? nominalShares(pa.hashing.hosts) : (pa?.nominal ?? new Map<string, number>());
  const ideal = pb && pa ? idealMovedShare(nominalBefore, nominalAfter) : 0;

  const addresses = [...new Set([...before.keys(), ...after.keys()])];
  const replicas = addresses.map((address) => ({
    address,
    backends: [...new Set([...ownersBefore(address), ...ownersAfter(address)])],
    before: before.get(address) ?? 0,
    after: after.get(address) ?? 0,
  }));
  const backends = new Map<string, BackendShareOutcome>();
  const addTo = (owners: string[], address: string, which: 'before' | 'after', share: number) => {
    const name = owners.length > 0 ? owners.join(',') : address;
    const entry = backends.get(name) ?? { backend: name, before: 0, after: 0 };
    entry[which] += share;
    backends.set(name, entry);
  };
  for (const [address, share] of before) addTo(ownersBefore(address), address, 'before', share);
  for (const [address, share] of after) addTo(ownersAfter(address), address, 'after', share);

  for (const n of [...(pb?.notes ?? []), ...(pa?.notes ?? [])]) if (!notes.includes(n)) notes.push(n);
  return {
    service,
    route,
    clusterBefore: pb?.cluster ?? '',
    clusterAfter: pa?.cluster ?? '',
    stickyBefore,
    stickyAfter,
    moved: movedShare,
    ideal,
    replicas,
    backends: [...backends.values()],
    key: label,
    notes,
    sessions: result.sessions,
  };
}

