/**
 * What the console shows of the served config: services, routes, splits and sticky-canary
 * progress (from the validated model), and every consistent-hash cluster's ring or maglev
 * table (from the resources a kind of node is served, through the balancers Explain picks
 * with: src/explain `clusterPicker`).
 */
import { initHashing, pickerCost, pickerFrom, type Picker } from '../affinity';
import { computePool, WORKER_MIN_COST } from '../compute';
import { yieldToLoop } from '../util/yield-loop';
import type { ExplainSource, TranslatedConfig } from '../admin/explain-source';
import { assignmentOf, clusterBalancer, clusterEndpoints, clusterPicker, type ExplainContext } from '../explain';
import type { AffinityKey, BalancerSpec, HeaderMatchSpec, RouteSpec, ServiceSpec, TetherConfig } from '../model/types';
import { stickyClusterName } from '../translate/names';
import type { NodeKind } from '../model/node-targets';
import type { BackendView, ConsoleOverview, RingView, RingsView, RouteView, ServiceView } from './api-types';
import { arcsFromFlat, entriesPerHost, ringArcs, type Arc } from '../affinity/ring-layout';

function keyText(key: AffinityKey): string {
  switch (key.kind) {
    case 'header':
      return `header ${key.name}`;
    case 'cookie':
      return `cookie ${key.name}${key.ttlMs !== undefined ? ' (generated)' : ''}`;
    case 'clientIp':
      return 'client IP';
    case 'queryParameter':
      return `query ${key.name}`;
  }
}

function balancerText(b: BalancerSpec): string {
  switch (b.type) {
    case 'ring_hash':
      return b.ring === 'stable' ? 'ring_hash (stable)' : `ring_hash ${b.minRingSize}–${b.maxRingSize}`;
    case 'maglev':
      return `maglev ${b.tableSize}`;
    default:
      return b.type;
  }
}

function stringMatch(m: object): string {
  const [op, value] = Object.entries(m).find(([k]) => ['exact', 'prefix', 'suffix', 'contains', 'regex'].includes(k)) ?? ['?', ''];
  return `${op} ${JSON.stringify(value)}`;
}

function headerMatch(h: HeaderMatchSpec): string {
  const not = h.invert ? 'not ' : '';
  if ('present' in h) return `header ${h.name} ${not}${h.present ? 'present' : 'absent'}`;
  if ('range' in h) return `header ${h.name} ${not}in [${h.range.start}, ${h.range.end})`;
  return `header ${h.name} ${not}${stringMatch(h)}`;
}

function matchText(route: RouteSpec): string {
  const parts = [`path ${stringMatch(route.match.path)}`];
  for (const h of route.match.headers) parts.push(headerMatch(h));
  for (const q of route.match.queryParams) parts.push(`query ${q.name} ${'present' in q ? (q.present ? 'present' : 'absent') : stringMatch(q)}`);
  return parts.join(', ');
}

type StickyShares = Map<string, { kind: NodeKind; byBackend: Map<string, number> }>;

function routeView(service: ServiceSpec, route: RouteSpec, ringShares: StickyShares): RouteView {
  const total = route.backends.reduce((s, b) => s + b.weight, 0);
  const view: RouteView = {
    name: route.name,
    match: matchText(route),
    backends: route.backends.map((b) => ({ backend: b.backend, weight: b.weight, share: total > 0 ? b.weight / total : 0 })),
    mirrors: (route.mirrors ?? []).map((m) => ({ backend: m.backend, percent: m.percent })),
  };
  if (route.stickySplit) {
    view.stickySplit = route.stickySplit.mode === 'ring' ? 'ring' : `header ${route.stickySplit.header}`;
    const canary = route.backends[route.backends.length - 1];
    if (canary && route.backends.length > 1) {
      const ring = ringShares.get(stickyClusterName(service.name, route.name));
      const sessionShare = ring?.byBackend.get(canary.backend);
      view.canary = {
        backend: canary.backend,
        weightShare: total > 0 ? canary.weight / total : 0,
        ...(ring && sessionShare !== undefined ? { sessionShare, sessionShareKind: ring.kind } : {}),
      };
    }
  }
  return view;
}

function serviceView(s: ServiceSpec, ringShares: StickyShares): ServiceView {
  const view: ServiceView = { name: s.name, domains: s.domains, keys: (s.affinity?.keys ?? []).map(keyText), routes: s.routes.map((r) => routeView(s, r, ringShares)) };
  const sk = s.affinity?.sessionKey;
  if (sk) view.sessionKey = `ext_proc → ${sk.targetHeader}`;
  const strong = s.affinity?.strong;
  if (strong) view.strong = `${strong.session.kind} ${strong.session.name}${strong.strict ? ', strict' : ''}`;
  return view;
}

function backendView(config: TetherConfig['backends'][number]): BackendView {
  return {
    name: config.name,
    balancer: balancerText(config.balancer),
    endpoints: config.endpoints.map((e) => ({
      address: e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`,
      weight: e.weight,
      drain: e.drain,
      ...(e.grpcPort !== undefined ? { grpcPort: e.grpcPort } : {}),
    })),
  };
}

/** Cluster → the services (virtual hosts, or gRPC route configurations) with a route to it, in served order. */
function routedClusters(translated: TranslatedConfig, kind: NodeKind): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const config of translated.wire(kind).routes) {
    for (const vh of config.virtual_hosts) {
      const service = kind === 'grpc' ? config.name : vh.name;
      for (const route of vh.routes) {
        const action = route.route;
        if (!action) continue;
        const names = action.cluster_specifier === 'cluster' ? [action.cluster ?? ''] : (action.weighted_clusters?.clusters ?? []).map((c) => c.name);
        for (const name of names) {
          const list = out.get(name) ?? [];
          if (!list.includes(service)) list.push(service);
          out.set(name, list);
        }
      }
    }
  }
  return out;
}

interface DrawnRing {
  picker: Picker;
  shares: Map<string, number>;
  entries: number[];
  arcs: Arc[];
  binned: boolean;
  bins: number;
}

function drawnHere(ctx: ExplainContext, kind: NodeKind, cluster: string): DrawnRing | undefined {
  const picker = clusterPicker(ctx, kind, cluster)?.picker;
  if (!picker) return undefined;
  return { picker, shares: picker.shares(), entries: entriesPerHost(picker), ...ringArcs(picker) };
}

/**
 * A ring or table costlier than WORKER_MIN_COST is built and laid out on the compute worker,
 * as Explain's are (a 2,000-endpoint stable ring: 2M entries, seconds of CPU), and its
 * balancer goes into Explain's cache. Undefined: small, or the worker failed (drawn here).
 */
async function drawnOnWorker(ctx: ExplainContext, translated: TranslatedConfig, kind: NodeKind, cluster: string): Promise<DrawnRing | undefined> {
  const served = ctx.resources.clusters.get(cluster);
  if (!served) return undefined;
  const lb = clusterBalancer(served, kind);
  const endpoints = clusterEndpoints(assignmentOf(ctx.resources, served), lb.useHostname);
  if (pickerCost(endpoints, lb.balancer, kind) <= WORKER_MIN_COST) return undefined;
  try {
    const laid = await computePool().ringLayout({ endpoints, balancer: lb.balancer, flavour: kind });
    if (!laid) return undefined;
    const key = `${kind}/${cluster}`;
    const picker = translated.pickers.get(key) ?? pickerFrom(laid.picker);
    if (!translated.pickers.has(key)) translated.pickers.set(key, picker);
    return { picker, shares: laid.picker.shares ?? picker.shares(), entries: laid.entries, arcs: arcsFromFlat(laid.arcs), binned: laid.binned, bins: laid.bins };
  } catch {
    return undefined;
  }
}

/** Rings drawn per request: a ring of millions of entries takes a second to lay out. */
export const MAX_RINGS = 50;

/**
 * The rings of the clusters routes send to (those `only` accepts), at most MAX_RINGS, with
 * an event-loop turn between clusters so xDS streams are not held up.
 */
export async function ringViews(translated: TranslatedConfig, kind: NodeKind, only: (cluster: string) => boolean = () => true): Promise<{ rings: RingView[]; more: number }> {
  // In turns: at 10,000 services the wire form takes a second to build in one go.
  await translated.ready(kind);
  // The loop in between: the wire form's last slice and the walk over every route below were one hold.
  await yieldToLoop();
  const ctx: ExplainContext = { resources: translated.wire(kind), owners: translated.owners, pickers: translated.pickers };
  const rings: RingView[] = [];
  let more = 0;
  for (const [cluster, services] of routedClusters(translated, kind)) {
    if (!only(cluster)) continue;
    if (rings.length >= MAX_RINGS) {
      more++;
      continue;
    }
    await yieldToLoop();
    const drawn = (await drawnOnWorker(ctx, translated, kind, cluster)) ?? drawnHere(ctx, kind, cluster);
    const layout = drawn?.picker.layout;
    if (!drawn || !layout) continue;
    const { picker, shares, entries, arcs, binned, bins } = drawn;
    rings.push({
      cluster,
      services,
      balancer: layout.kind,
      size: layout.kind === 'maglev' ? layout.table.tableSize : layout.ring.hashes.length,
      replicas: picker.hosts.map((h, i) => ({ address: h.address, backends: translated.owners(h.address), share: shares.get(h.address) ?? 0, entries: entries[i] ?? 0 })),
      arcs,
      binned,
      ...(binned ? { bins } : {}),
    });
  }
  return { rings, more };
}

export async function rings(source: ExplainSource, kind: NodeKind): Promise<RingsView> {
  await initHashing();
  const { current, translated } = await source.current();
  const { rings: views, more } = await ringViews(translated, kind);
  return { version: current.version, kind, rings: views, more };
}

/** Backend → share of a sticky split cluster's sessions, per cluster (Envoy nodes). */
function stickyBackendShares(views: readonly RingView[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const ring of views) {
    const byBackend = new Map<string, number>();
    for (const r of ring.replicas) for (const b of r.backends) byBackend.set(b, (byBackend.get(b) ?? 0) + r.share / r.backends.length);
    out.set(ring.cluster, byBackend);
  }
  return out;
}

export async function overview(source: ExplainSource): Promise<ConsoleOverview> {
  await initHashing();
  const { current, translated } = await source.current();
  // A ring-mode sticky split's one cluster: Envoy nodes get it before 1.36 (after, the request
  // hash picks the version: sessions follow the weights exactly), gRPC nodes always.
  const shares = new Map<string, { kind: NodeKind; byBackend: Map<string, number> }>();
  const sticky = new Set(current.config.services.flatMap((s) => s.routes.filter((r) => r.stickySplit?.mode === 'ring').map((r) => stickyClusterName(s.name, r.name))));
  for (const kind of sticky.size > 0 ? (['envoy', 'grpc'] as const) : []) {
    try {
      const found = stickyBackendShares((await ringViews(translated, kind, (c) => sticky.has(c) && !shares.has(c))).rings);
      for (const [cluster, byBackend] of found) shares.set(cluster, { kind, byBackend });
    } catch {
      // A config a kind of node cannot be served a ring for still has services to show.
    }
  }
  return {
    version: current.version,
    appliedAt: current.createdAt,
    services: current.config.services.map((s) => serviceView(s, shares)),
    backends: current.config.backends.map(backendView),
  };
}
