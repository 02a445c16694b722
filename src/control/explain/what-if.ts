/**
 * What-if: how a change moves sticky sessions, from the resources a kind of node is served
 * before and after it. For every route of a sticky service whose placement inputs change
 * (hash policies, cluster, balancer, endpoints), deterministic synthetic sessions — distinct
 * values of the route's first session key, e.g. `x-user: session-17` — go through the route's
 * real hash policy and each side's balancer (src/affinity); a session moves when its replica
 * differs. XXH64 of distinct values is uniform, so this samples real sessions faithfully.
 *
 * A side that is not sticky (a weighted split, which is random per request, or a balancer
 * that does not hash) places sessions at random: its per-replica shares are the nominal ones
 * (split share × endpoint weight share), and "moved" is the expected share of requests that
 * land elsewhere than the session's replica on the sticky side.
 */
import {
  createPicker,
  balancerHosts,
  idealMovedShare,
  keyLabel,
  nominalShares,
  requestHash,
  DEFAULT_SAMPLES,
  type AffinityRequest,
  type Flavour,
  type Picker,
} from '../../affinity';
import type { Route__Output } from '../../generated/envoy/config/route/v3/Route';
import type { AffinityKey } from '../../model/types';
import type { NodeKind } from '../../translate/types';
import { clusterBalancer, clusterEndpoints, routeKeys } from './cluster-view';
import type { EndpointOwners } from './served-service';
import { assignmentOf, type WireResources } from './wire';

export const MAX_WHAT_IF_SAMPLES = 1_000_000;

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
}

export interface WhatIfSide {
  resources: WireResources;
  owners: EndpointOwners;
}

/** How one route places sessions on one side. */
interface Placement {
  cluster: string;
  keys: AffinityKey[];
  /** Set when sessions are placed by hash. */
  picker?: Picker;
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
  const parts: unknown[] = [];
  const notes: string[] = [];
  let picker: Picker | undefined;
  for (const t of targets) {
    const cluster = side.resources.clusters.get(t.name);
    if (!cluster) continue;
    const lb = clusterBalancer(cluster, flavour);
    const endpoints = clusterEndpoints(assignmentOf(side.resources, cluster), lb.useHostname);
    const hosts = balancerHosts(endpoints, flavour);
    parts.push({ cluster: t.name, share: t.share, balancer: lb.balancer, hosts });
    for (const [address, share] of nominalShares(hosts)) nominal.set(address, (nominal.get(address) ?? 0) + (share * t.share) / total);
    for (const n of lb.notes) if (!notes.includes(n)) notes.push(n);
    if (targets.length === 1 && !lb.unsupported && hosts.length > 0 && keys.some((k) => evaluable(k, flavour))) {
      picker = createPicker(endpoints, lb.balancer, { flavour });
    }
  }
  return {
    cluster: targets.length === 1 ? targets[0]!.name : WEIGHTED,
    keys,
    ...(picker ? { picker } : {}),
    nominal,
    signature: JSON.stringify({ keys, parts }),
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

/** A session carrying only `key`, with the i-th synthetic value. */
function syntheticRequest(key: AffinityKey, i: number): AffinityRequest {
  const value = `session-${i}`;
  switch (key.kind) {
    case 'header':
      return { headers: { [key.name]: value } };
    case 'cookie':
      return { cookies: { [key.name]: value } };
    case 'queryParameter':
      return { query: { [key.name]: value } };
    case 'clientIp':
      // Distinct IPv4 addresses in 10.0.0.0/8 (and on past it for more than 16M samples).
      return { clientIp: `${10 + Math.floor(i / 16_777_216)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  }
}

const sameKeys = (a: readonly AffinityKey[], b: readonly AffinityKey[]) => JSON.stringify(a) === JSON.stringify(b);

export interface WhatIfOptions {
  kind: NodeKind;
  samples?: number;
}

/** Every sticky route whose session placement the change affects, in served order. */
export function routeImpacts(before: WhatIfSide, after: WhatIfSide, options: WhatIfOptions): RouteImpactOutcome[] {
  return plannedImpacts(before, after, options).map((measure) => measure());
}

/**
 * The same, as one measurement per affected route, so a caller sharing the event loop
 * (the admin API beside xDS) can yield between routes: each samples every session once.
 */
export function plannedImpacts(before: WhatIfSide, after: WhatIfSide, options: WhatIfOptions): Array<() => RouteImpactOutcome> {
  const flavour = options.kind;
  const samples = options.samples ?? DEFAULT_SAMPLES;
  const a = servedRoutes(before.resources, flavour);
  const b = servedRoutes(after.resources, flavour);
  const services = [...new Set([...a.keys(), ...b.keys()])];
  const out: Array<() => RouteImpactOutcome> = [];
  for (const service of services) {
    const routesBefore = a.get(service) ?? new Map<string, Route__Output>();
    const routesAfter = b.get(service) ?? new Map<string, Route__Output>();
    for (const name of new Set([...routesBefore.keys(), ...routesAfter.keys()])) {
      const rb = routesBefore.get(name);
      const ra = routesAfter.get(name);
      const pb = rb && placement(rb, before, flavour);
      const pa = ra && placement(ra, after, flavour);
      if (!pb?.picker && !pa?.picker) continue;
      if (pb && pa && pb.signature === pa.signature) continue;
      out.push(() => impact(service, name, pb, pa, before.owners, after.owners, flavour, samples));
    }
  }
  return out;
}

function impact(
  service: string,
  route: string,
  pb: Placement | undefined,
  pa: Placement | undefined,
  ownersBefore: EndpointOwners,
  ownersAfter: EndpointOwners,
  flavour: Flavour,
  samples: number,
): RouteImpactOutcome {
  const notes: string[] = [];
  // The sessions carry the first key the sticky side hashes (before, unless only after is sticky).
  const keyed = pb?.picker ? pb : pa!;
  const key = keyed.keys.find((k) => evaluable(k, flavour))!;
  const label = keyLabel(key);
  const hashesWith = (p: Placement | undefined): boolean => !!p?.picker && p.keys.some((k) => evaluable(k, flavour) && keyLabel(k) === label);
  const stickyBefore = hashesWith(pb);
  const stickyAfter = hashesWith(pa);
  if (pb?.picker && !stickyAfter && pa?.picker) notes.push(`after the change the route no longer hashes ${label}: sessions are placed at random`);

  const countsBefore = new Map<string, number>();
  const countsAfter = new Map<string, number>();
  for (const h of pb?.picker?.hosts ?? []) countsBefore.set(h.address, 0);
  for (const h of pa?.picker?.hosts ?? []) countsAfter.set(h.address, 0);
  let moved = 0;
  const reuse = stickyBefore && stickyAfter && sameKeys(pb!.keys, pa!.keys);
  for (let i = 0; i < samples; i++) {
    const request = syntheticRequest(key, i);
    const hb = stickyBefore ? requestHash(pb!.keys, request, flavour).hash : undefined;
    const ha = stickyAfter ? (reuse ? hb : requestHash(pa!.keys, request, flavour).hash) : undefined;
    const x = hb === undefined ? undefined : pb!.picker!.pick(hb);
    const y = ha === undefined ? undefined : pa!.picker!.pick(ha);
    if (x !== undefined) countsBefore.set(x, (countsBefore.get(x) ?? 0) + 1);
    if (y !== undefined) countsAfter.set(y, (countsAfter.get(y) ?? 0) + 1);
    if (stickyBefore && stickyAfter && x !== y) moved++;
  }
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
  const nominalBefore = pb?.picker ? nominalShares(pb.picker.hosts) : (pb?.nominal ?? new Map<string, number>());
  const nominalAfter = pa?.picker ? nominalShares(pa.picker.hosts) : (pa?.nominal ?? new Map<string, number>());
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
  };
}
