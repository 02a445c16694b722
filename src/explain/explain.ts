/**
 * Explain: where one request lands, computed from the resources a kind of node is served, in
 * the order the client decides it: the service's virtual host → the first route that matches
 * → that route's hash_policy list (the request hash) → its cluster (one, or a weighted split
 * that is random per request) → the cluster's balancer over its EDS endpoints (src/affinity).
 * Pure: needs `await initHashing()` first, like everything in affinity/.
 */
import { createPicker, explain as explainPick, hex64, pickerCost, splitHostPort, type AffinityEndpoint, type AffinityRequest, type HashStep, type Picker, type PickLocation } from '../affinity';
import type { Route__Output } from '../generated/envoy/config/route/v3/Route';
import type { AffinityKey, BalancerSpec } from '../model/types';
import type { NodeKind } from '../model/node-targets';
import { clusterBalancer, clusterEndpoints, endpointsWithout, routeKeys, type ClusterBalancer } from './cluster-view';
import { matchRoutes, type RouteMatchOutcome } from './route-match';
import { servedService, type EndpointOwners } from './served-service';
import { assignmentOf, type WireResources } from './wire';
import { attributedAddress, ENVOY_DEFAULT_POLICY, type ClientAddressPolicy } from './client-address';

/** A request's session-key material (see AffinityRequest), for one service and kind of node. */
export type ExplainQuery = AffinityRequest & {
  service: string;
  kind: NodeKind;
  /** Envoy nodes: the listener the request arrives on; absent → the first serving the service. */
  listener?: string;
};

export interface PickOutcome {
  cluster: string;
  balancer: 'ring_hash' | 'maglev';
  address: string;
  backends: string[];
  /** Ring entry index or maglev slot, and the ring / table size. */
  index: number;
  size: number;
  /** The ring entry's hash, "0x…" (ring hash only). */
  entryHash?: string;
  /**
   * Where the request goes while `address` is out (ejected, failing health checks, drained):
   * Envoy rebuilds the ring (or table) from the healthy replicas; a gRPC client walks its ring
   * to the next entry of another replica. Absent when nothing is left.
   */
  fallback?: { address: string; backends: string[] };
  /** Ring hash on Envoy: where a retry with the previous_hosts predicate goes (the next entry of another replica). */
  retry?: { address: string; backends: string[] };
  /** Every replica's exact share of the ring / table (set when the picker is known). */
  shares?: Array<{ address: string; backends: string[]; share: number }>;
}

export interface HashStepOutcome {
  key: string;
  outcome: string;
  input?: string;
  hash?: string;
  combined?: string;
  note?: string;
}

export interface WeightedClusterOutcome {
  cluster: string;
  weight: number;
  share: number;
  pick?: PickOutcome;
}

export interface ExplainOutcome {
  service: string;
  kind: NodeKind;
  routeConfig: string;
  /** The matched route; undefined when none matched. */
  route?: string;
  routes: RouteMatchOutcome[];
  steps: HashStepOutcome[];
  usedKeys: string[];
  /** "0x" + 16 hex digits. */
  requestHash?: string;
  hash?: bigint;
  cluster?: string;
  weightedClusters: WeightedClusterOutcome[];
  pick?: PickOutcome;
  /** Why there is no pick. */
  reason?: string;
  setCookie?: string;
  notes: string[];
}

export interface ExplainContext {
  resources: WireResources;
  owners: EndpointOwners;
  /**
   * Balancers already built for these resources, by node kind and cluster, kept by whoever owns
   * `resources` (a ring or maglev table takes milliseconds to build; a lookup, microseconds).
   */
  pickers?: Map<string, Picker | undefined>;
  /**
   * Set by a caller sharing the event loop with xDS (the admin API): a fallback balancer that
   * costs more than `above` (pickerCost) and is not in `pickers` is not built here but listed
   * in `wanted`; the caller builds it elsewhere (the compute worker), adds it to `pickers` and
   * asks again.
   */
  defer?: { above: number; wanted: Array<{ key: string; endpoints: AffinityEndpoint[]; balancer: BalancerSpec }> };
}

export const hashHex = (h: bigint): string => `0x${hex64(h)}`;

/** Envoy's query parsing (no percent-decoding; first value wins), then `query` on top. */
export function mergedQuery(path: string | undefined, query: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const q = path?.indexOf('?') ?? -1;
  if (path && q >= 0) {
    const hash = path.indexOf('#', q);
    for (const param of path.slice(q + 1, hash < 0 ? undefined : hash).split('&')) {
      if (param === '') continue;
      const eq = param.indexOf('=');
      const name = eq < 0 ? param : param.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = eq < 0 ? '' : param.slice(eq + 1);
    }
  }
  return { ...out, ...query };
}

function affinityRequest(query: ExplainQuery, mergedParams: Record<string, string>): AffinityRequest {
  const request: AffinityRequest = { headers: query.headers ?? {}, query: mergedParams };
  if (query.cookies && Object.keys(query.cookies).length > 0) request.cookies = query.cookies;
  if (query.clientIp) request.clientIp = query.clientIp;
  if (query.path) request.path = query.path;
  if (query.connection) request.connection = query.connection;
  return request;
}

function stepOutcome(step: HashStep): HashStepOutcome {
  return {
    key: step.key,
    outcome: step.outcome,
    ...(step.input !== undefined ? { input: step.input } : {}),
    ...(step.hash !== undefined ? { hash: hashHex(step.hash) } : {}),
    ...(step.combined !== undefined ? { combined: hashHex(step.combined) } : {}),
    ...(step.note !== undefined ? { note: step.note } : {}),
  };
}

function pickOutcome(cluster: string, location: PickLocation, owners: EndpointOwners): PickOutcome {
  if (location.kind === 'ring_hash') {
    return {
      cluster,
      balancer: 'ring_hash',
      address: location.address,
      backends: owners(location.address),
      index: location.index,
      size: location.ringSize,
      entryHash: hashHex(location.entryHash),
    };
  }
  return { cluster, balancer: 'maglev', address: location.address, backends: owners(location.address), index: location.slot, size: location.tableSize };
}

interface Placement {
  pick?: PickOutcome;
  reason?: string;
  notes: string[];
}

/** Where `request` lands in `cluster` (all of its non-drained endpoints assumed reachable). */
function placeIn(cluster: string, keys: readonly AffinityKey[], request: AffinityRequest, query: ExplainQuery, ctx: ExplainContext): Placement & { explained?: ReturnType<typeof explainPick> } {
  const balancing = clusterPicker(ctx, query.kind, cluster);
  if (!balancing) return { reason: `cluster ${cluster} is not served to ${query.kind} nodes`, notes: [] };
  const served = ctx.resources.clusters.get(cluster)!;
  const { lb, endpoints, picker: current } = balancing;
  const explained = explainPick({ keys, request, flavour: query.kind, endpoints, balancer: lb.balancer, ...(current ? { picker: current } : {}) });
  if (lb.unsupported) return { reason: lb.unsupported, notes: lb.notes, explained };
  const generated = explained.steps.find((s) => s.outcome === 'unpredictable');
  if (generated) {
    // affinity/ words this for its own API; say which request fields predict it.
    const reason = `Envoy generates ${generated.key} from the connection's client and listener addresses; give both (connection_remote and connection_local) to predict it`;
    return { reason, notes: lb.notes, explained };
  }
  if (!explained.location) return { reason: explained.reason ?? 'no pick', notes: lb.notes, explained };
  const pick = pickOutcome(cluster, explained.location, ctx.owners);
  const walked = explained.hash !== undefined ? current?.walk?.(explained.hash, pick.address) : undefined;
  if (walked !== undefined) {
    if (query.kind === 'grpc') pick.fallback = { address: walked, backends: ctx.owners(walked) };
    else pick.retry = { address: walked, backends: ctx.owners(walked) };
  }
  // Envoy; or a gRPC client whose ring has no other replica (the next priority then serves).
  if (explained.hash !== undefined && pick.fallback === undefined) {
    const address = pick.address;
    const rest = endpointsWithout(assignmentOf(ctx.resources, served), lb.useHostname, address);
    const withoutKey = `${cluster} without ${address}`;
    const defer = ctx.defer && ctx.pickers && !ctx.pickers.has(`${query.kind}/${withoutKey}`) && pickerCost(rest, lb.balancer, query.kind) > ctx.defer.above;
    if (defer) ctx.defer!.wanted.push({ key: `${query.kind}/${withoutKey}`, endpoints: rest, balancer: lb.balancer });
    else {
      const buildWithout = () => createPicker(rest, lb.balancer, { flavour: query.kind });
      const picker = ctx.pickers ? cachedPicker(ctx, query.kind, withoutKey, buildWithout).picker : buildWithout();
      const fallback = picker?.pick(explained.hash);
      if (fallback !== undefined && fallback !== address) pick.fallback = { address: fallback, backends: ctx.owners(fallback) };
    }
  }
  if (current) pick.shares = [...current.shares()].map(([address, share]) => ({ address, backends: ctx.owners(address), share }));
  return { pick, notes: lb.notes, explained };
}

export interface ClusterPicker {
  lb: ClusterBalancer;
  endpoints: AffinityEndpoint[];
  /** Undefined when the balancer does not hash. */
  picker?: Picker;
}

/**
 * The balancer a node of `kind` runs for a served cluster, built once per `ctx.pickers`; also
 * what the web console draws, so its rings are the ones Explain picks from. Undefined when
 * the cluster is not served to that kind.
 */
export function clusterPicker(ctx: ExplainContext, kind: NodeKind, cluster: string): ClusterPicker | undefined {
  const served = ctx.resources.clusters.get(cluster);
  if (!served) return undefined;
  const lb = clusterBalancer(served, kind);
  const endpoints = clusterEndpoints(assignmentOf(ctx.resources, served), lb.useHostname);
  if (!ctx.pickers) {
    const picker = createPicker(endpoints, lb.balancer, { flavour: kind });
    return { lb, endpoints, ...(picker ? { picker } : {}) };
  }
  const key = `${kind}/${cluster}`;
  if (!ctx.pickers.has(key)) ctx.pickers.set(key, createPicker(endpoints, lb.balancer, { flavour: kind }));
  const picker = ctx.pickers.get(key);
  return { lb, endpoints, ...(picker ? { picker } : {}) };
}

function cachedPicker(ctx: ExplainContext, kind: string, cluster: string, build: () => Picker | undefined): { picker?: Picker } {
  if (!ctx.pickers) return {};
  const key = `${kind}/${cluster}`;
  if (!ctx.pickers.has(key)) ctx.pickers.set(key, build());
  const picker = ctx.pickers.get(key);
  return picker ? { picker } : {};
}

function routeNotes(route: Route__Output): string[] {
  const notes: string[] = [];
  const filters = Object.keys(route.typed_per_filter_config ?? {});
  if (filters.some((f) => f.includes('stateful_session'))) {
    notes.push('stateful sessions: a request carrying a valid session cookie/header goes to the replica it names, whatever the hash says');
  }
  for (const mirror of route.route?.request_mirror_policies ?? []) {
    notes.push(`also mirrored to cluster ${mirror.cluster} (shadow traffic; its answer is discarded)`);
  }
  return notes;
}

/**
 * `clientIp` (or the connection's remote address) is the peer; X-Forwarded-For comes from the
 * request headers; the listener's policy says which of them Envoy attributes the request to.
 */
function clientAddressOf(query: ExplainQuery, policy: ClientAddressPolicy | undefined) {
  const peerText = query.clientIp || query.connection?.remote;
  const peer = peerText ? splitHostPort(peerText)?.ip : undefined;
  const xff = Object.entries(query.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-forwarded-for')?.[1];
  return attributedAddress(policy ?? ENVOY_DEFAULT_POLICY, peer, xff);
}

export function explainRequest(query: ExplainQuery, ctx: ExplainContext): ExplainOutcome {
  const { routeConfig, virtualHost } = servedService(ctx.resources, query.service, query.kind, query.listener);
  if (query.kind === 'envoy' && query.path?.includes('#')) {
    // Envoy's connection manager refuses a fragment in :path (measured with Envoy 1.40:
    // test/envoy-real/affinity.test.ts); nothing is routed or hashed.
    const rejected: ExplainOutcome = { service: query.service, kind: query.kind, routeConfig, routes: [], steps: [], usedKeys: [], weightedClusters: [], notes: [] };
    rejected.reason = 'Envoy rejects a request whose path has a fragment ("#…"): HTTP 400, before any route is matched';
    return rejected;
  }
  const params = mergedQuery(query.path, query.query);
  const match = matchRoutes(virtualHost.routes, { path: query.path || '/', headers: query.headers ?? {}, query: params }, query.kind);
  const outcome: ExplainOutcome = {
    service: query.service,
    kind: query.kind,
    routeConfig,
    routes: match.outcomes,
    steps: [],
    usedKeys: [],
    weightedClusters: [],
    notes: [],
  };
  if (match.index < 0) {
    outcome.reason =
      query.kind === 'grpc' ? 'no route matches: the call fails with UNAVAILABLE' : 'no route matches: Envoy answers 404 (NR)';
    return outcome;
  }
  const route = virtualHost.routes[match.index]!;
  outcome.route = route.name;
  const action = route.route;
  if (!action) {
    outcome.reason = `route ${route.name} does not forward (${route.action ?? 'no action'})`;
    return outcome;
  }
  const { keys, notes: keyNotes } = routeKeys(action.hash_policy);
  const request = affinityRequest(query, params);
  outcome.notes.push(...keyNotes, ...routeNotes(route));
  if (query.kind === 'envoy' && keys.some((k) => k.kind === 'clientIp')) {
    // The listener decides which address a clientIp key hashes: the peer or an X-Forwarded-For entry.
    const attributed = clientAddressOf(query, ctx.resources.clientAddress?.get(routeConfig));
    if (attributed.ip === undefined) delete request.clientIp;
    else request.clientIp = attributed.ip;
    outcome.notes.push(`client address: ${attributed.source}`);
  }

  const absorb = (placed: ReturnType<typeof placeIn>) => {
    const e = placed.explained;
    if (e && outcome.steps.length === 0) {
      outcome.steps = e.steps.map(stepOutcome);
      outcome.usedKeys = e.usedKeys;
      if (e.hash !== undefined) {
        outcome.hash = e.hash;
        outcome.requestHash = hashHex(e.hash);
      }
      if (e.generatedCookie) outcome.setCookie = e.generatedCookie.setCookie;
    }
    for (const n of placed.notes) if (!outcome.notes.includes(n)) outcome.notes.push(n);
  };

  if (action.cluster_specifier === 'cluster' && action.cluster) {
    outcome.cluster = action.cluster;
    const placed = placeIn(action.cluster, keys, request, query, ctx);
    absorb(placed);
    // Where a retry goes matters only on a route that retries on another replica.
    const retriesElsewhere = (action.retry_policy?.retry_host_predicate ?? []).some((p) => p.name === 'envoy.retry_host_predicates.previous_hosts');
    if (placed.pick && !retriesElsewhere) delete placed.pick.retry;
    if (placed.pick) outcome.pick = placed.pick;
    else outcome.reason = placed.reason;
    return outcome;
  }

  if (action.cluster_specifier === 'weighted_clusters' && action.weighted_clusters) {
    const clusters = action.weighted_clusters.clusters;
    const total = action.weighted_clusters.total_weight?.value || clusters.reduce((sum, c) => sum + (c.weight?.value ?? 0), 0);
    for (const c of clusters) {
      const weight = c.weight?.value ?? 0;
      const placed = placeIn(c.name, keys, request, query, ctx);
      absorb(placed);
      outcome.weightedClusters.push({ cluster: c.name, weight, share: total > 0 ? weight / total : 0, ...(placed.pick ? { pick: placed.pick } : {}) });
    }
    const split = outcome.weightedClusters.map((c) => `${c.cluster} ${formatPercent(c.share)}`).join(', ');
    const headerName = action.weighted_clusters.header_name;
    // Envoy's pick: `value % total` falls into a cumulative weight range (route order).
    // A repeated header is invalid to Envoy (random value), like a non-number.
    const raw = headerName ? query.headers?.[headerName] : undefined;
    const headerValue = typeof raw === 'string' ? raw : undefined;
    const value =
      headerName !== undefined && headerName !== ''
        ? headerValue !== undefined && /^\d{1,20}$/.test(headerValue) && BigInt(headerValue) < 1n << 64n
          ? BigInt(headerValue)
          : undefined
        : action.weighted_clusters.use_hash_policy?.value
          ? outcome.hash
          : undefined;
    const chosen = value !== undefined && total > 0 ? weightedPick(outcome.weightedClusters, value, total) : undefined;
    if (chosen) {
      const by = headerName ? `header ${headerName} = ${value}` : `the request hash (use_hash_policy)`;
      outcome.notes.push(`weighted split (${split}) picked by ${by}: ${value! % BigInt(total)} of ${total} → ${chosen.cluster}`);
      outcome.cluster = chosen.cluster;
      if (chosen.pick) outcome.pick = chosen.pick;
      else outcome.reason = `weighted split picked ${chosen.cluster}, which has no replica to pick`;
      return outcome;
    }
    outcome.reason = headerName
      ? `weighted split (${split}) chosen by the value of header ${headerName}, which the request does not carry as a number (Envoy then picks at random)`
      : action.weighted_clusters.use_hash_policy?.value
        ? `weighted split (${split}) picked by the request hash (use_hash_policy), but the request yields no hash: Envoy picks at random`
        : `weighted split (${split}): the cluster is picked at random per request, so the replica is not sticky across requests`;
    return outcome;
  }

  outcome.reason = `route ${route.name} picks its cluster by ${action.cluster_specifier ?? 'nothing'}, not modelled here`;
  return outcome;
}

function weightedPick(clusters: readonly WeightedClusterOutcome[], value: bigint, total: number): WeightedClusterOutcome | undefined {
  const selected = value % BigInt(total);
  let end = 0n;
  for (const c of clusters) {
    end += BigInt(c.weight);
    if (selected < end) return c;
  }
  return undefined;
}

export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
