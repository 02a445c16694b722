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
import { clusterBalancer, clusterEndpoints, endpointsWithout, routeKeys } from './cluster-view';
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
  const signature: unknown[] = [];
  const notes: string[] = [];
  let picker: Picker | undefined;
  // Envoy ≥ 1.36 sticky split: the route's hash picks the cluster too (hash % total, in order).
  const byHash = targets.length > 1 && action.weighted_clusters?.use_hash_policy?.value === true && flavour === 'envoy';
  const parts: Array<{ weight: number; picker: Picker }> = [];
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
    if ((targets.length === 1 || byHash) && !lb.unsupported && hosts.length > 0 && keys.some((k) => evaluable(k, flavour))) {
      const built = createPicker(endpoints, lb.balancer, { flavour });
      const p = walks && built ? walkingPicker(built, ejected!) : built;
      if (targets.length === 1) picker = p;
      else if (p && t.share > 0) parts.push({ weight: t.share, picker: p });
    }
  }
  if (byHash && parts.length === targets.filter((t) => t.share > 0).length && parts.length > 0) picker = weightedHashPicker(parts);
  return {
    cluster: targets.length === 1 ? targets[0]!.name : WEIGHTED,
    keys,
    ...(picker ? { picker } : {}),
    nominal,
    signature: JSON.stringify({ keys, parts: signature }),
    notes,
  };
}

/**
 * Weighted clusters picked by the route's hash (use_hash_policy): Envoy takes `hash % total`
 * into the cumulative weights, then the chosen cluster's balancer picks with the same hash.
 */
function weightedHashPicker(parts: ReadonlyArray<{ weight: number; picker: Picker }>): Picker {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const partOf = (hash: bigint): Picker => {
    const selected = hash % BigInt(total);
    let end = 0n;
    for (const p of parts) {
      end += BigInt(p.weight);
      if (selected < end) return p.picker;
    }
    return parts[parts.length - 1]!.picker;
  };
  return {
    kind: parts[0]!.picker.kind,
    hosts: parts.flatMap((p) => p.picker.hosts),
    pick: (hash) => partOf(hash).pick(hash),
    locate: (hash) => partOf(hash).locate(hash),
    shares: () => {
      const out = new Map<string, number>();
      for (const p of parts) for (const [a, s] of p.picker.shares()) out.set(a, (out.get(a) ?? 0) + (s * p.weight) / total);
      return out;
    },
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
  // Distinct IPv4 addresses in 10.0.0.0/8 (and on past it for more than 16M samples).
  if (key.kind === 'clientIp') return { clientIp: `${10 + Math.floor(i / 16_777_216)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  return sessionRequest(key, `session-${i}`);
}

/** A session carrying only `key`, with `value` (a client IP for a clientIp key). */
function sessionRequest(key: AffinityKey, value: string): AffinityRequest {
  switch (key.kind) {
    case 'header':
      return { headers: { [key.name]: value } };
    case 'cookie':
      return { cookies: { [key.name]: value } };
    case 'queryParameter':
      return { query: { [key.name]: value } };
    case 'clientIp':
      return { clientIp: value };
  }
}

const sameKeys = (a: readonly AffinityKey[], b: readonly AffinityKey[]) => JSON.stringify(a) === JSON.stringify(b);

export interface WhatIfOptions {
  kind: NodeKind;
  samples?: number;
  /** Real sessions to place too, by the value of each route's session key (RouteImpactOutcome.key). */
  sessions?: readonly string[];
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
      out.push(() => impact(service, name, pb, pa, before.owners, after.owners, flavour, samples, options.sessions ?? []));
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
  sessions: readonly string[],
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
  const place = (request: AffinityRequest): [string | undefined, string | undefined] => {
    const hb = stickyBefore ? requestHash(pb!.keys, request, flavour).hash : undefined;
    const ha = stickyAfter ? (reuse ? hb : requestHash(pa!.keys, request, flavour).hash) : undefined;
    return [hb === undefined ? undefined : pb!.picker!.pick(hb), ha === undefined ? undefined : pa!.picker!.pick(ha)];
  };
  for (let i = 0; i < samples; i++) {
    const [x, y] = place(syntheticRequest(key, i));
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
    sessions: sessions.map((value) => {
      const [x, y] = place(sessionRequest(key, value));
      return { value, before: x ?? '', after: y ?? '', moved: x !== undefined && y !== undefined && x !== y };
    }),
  };
}

/** A gRPC client's ring with some replicas out: a session on one of them goes to the next entry of another. */
function walkingPicker(picker: Picker, ejected: ReadonlySet<string>): Picker {
  return {
    ...picker,
    pick: (hash) => {
      const address = picker.pick(hash);
      return address !== undefined && ejected.has(address) ? picker.walk?.(hash, ejected) : address;
    },
  };
}
