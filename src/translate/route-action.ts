import type { RouteSpec, ServiceSpec, WeightedBackend } from '../model/types';
import type { RouteAction } from '../generated/envoy/config/route/v3/RouteAction';
import type { _envoy_config_route_v3_WeightedCluster_ClusterWeight as ClusterWeight } from '../generated/envoy/config/route/v3/WeightedCluster';
import type { NodeKind, TargetApi } from '../model/node-targets';
import { hashPolicies } from './hash-policy';
import { sessionKeyHashPolicy } from './ext-proc';
import { type HeaderMutations, isEmpty, type LevelOps, levelOps, mergeInto, mutations } from './header-ops';
import { mirrorPolicies } from './mirror';
import { retryPolicy } from './retry';
import { stickyClusterName } from './names';
import { durationFromMs } from './proto-values';
import { usesStickyRing } from './sticky-split';
import { Warnings } from './warnings';

/**
 * Header- and hash-mode sticky splits: weights are rescaled to this total, so the ext_proc
 * bucket header (0–9999) maps one to one onto the split (Envoy takes value % total weight, the
 * value being the header's number or the route's hash).
 */
export const HEADER_SPLIT_TOTAL = 10_000;

export interface BuiltAction {
  action: RouteAction;
  /** Route-level header mutations (Route fields, not RouteAction ones). */
  headers: HeaderMutations;
}

/**
 * Where a route sends traffic. Backends with weight 0 are left out (a 0 % canary is a normal
 * state, not a mistake); one remaining backend becomes a plain `cluster`, with its header
 * operations folded into the route's, several become `weighted_clusters` with theirs on
 * each ClusterWeight. Returns undefined when no backend has weight (validation forbids it):
 * both Envoy and grpc-js-xds reject a weighted_clusters whose weights sum to 0.
 */
export function routeAction(
  service: ServiceSpec,
  route: RouteSpec,
  kind: NodeKind,
  warnings: Warnings,
  path: string,
  api: TargetApi,
): BuiltAction | undefined {
  let live = route.backends.filter((b) => b.weight > 0);
  if (live.length === 0) {
    warnings.add(`${path}.backends`, 'no backend has a weight above 0; route left out');
    return undefined;
  }
  if (route.stickySplit !== undefined && route.stickySplit.mode === 'header' && kind === 'grpc') {
    warnings.add(
      `${path}.stickySplit`,
      'gRPC clients pick weighted clusters at random (grpc-js-xds ignores header_name): ring mode, one cluster over all versions, instead',
    );
  }
  if (kind === 'envoy' && route.stickySplit?.mode === 'ring' && !api.features.weightedClusterHashPolicy && !service.affinity?.strong && live.length > 1) {
    warnings.add(
      `${path}.stickySplit`,
      `${api.label} has no WeightedCluster.use_hash_policy (Envoy 1.36): these Envoys get ring mode, one cluster over all versions ` +
        `(${stickyClusterName(service.name, route.name)}), where scaling a version moves some users across versions`,
    );
  }
  if (usesStickyRing(service, route, kind, api)) return stickyRingAction(service, route, kind, warnings, path);
  const headerSplit = route.stickySplit?.mode === 'header' ? route.stickySplit.header : undefined;
  // Ring mode on an Envoy that has use_hash_policy: the route's hash picks the version.
  const hashSplit = route.stickySplit?.mode === 'ring';
  if (headerSplit !== undefined || hashSplit) live = headerSplitWeights(live, warnings, path);
  // gRPC clients apply no header or host rewrites (A28: only routing fields are read), so
  // the operations are checked against a throwaway sink and reported once, as left out.
  const sink = kind === 'envoy' ? warnings : new Warnings();
  const routeOps = levelOps(route.requestHeaders, route.responseHeaders, sink, path);
  const backendOps = live.map((b) => levelOps(b.requestHeaders, b.responseHeaders, sink, `${path}.backends[${b.backend}]`));
  const routeHost = route.hostRewrite ?? routeOps.hostFromSet;
  const hostOf = (b: WeightedBackend, ops: LevelOps): string | undefined => b.hostRewrite ?? ops.hostFromSet;

  const action: RouteAction = {};
  let headers: HeaderMutations = {};
  if (kind === 'grpc') {
    const rewrites =
      [routeOps, ...backendOps].some((ops) => !isEmpty(ops)) ||
      routeHost !== undefined ||
      live.some((b, i) => hostOf(b, backendOps[i]!) !== undefined);
    if (rewrites) warnings.add(path, 'gRPC clients apply no header or host rewrites; left out');
    if (live.length === 1) action.cluster = live[0]!.backend;
    else action.weighted_clusters = { clusters: live.map((b) => ({ name: b.backend, weight: { value: b.weight } })) };
  } else if (live.length === 1) {
    const backend = live[0]!;
    action.cluster = backend.backend;
    headers = mutations(mergeInto(backendOps[0]!, routeOps));
    // The backend's rewrite is the more specific one, as it is on a ClusterWeight.
    const host = hostOf(backend, backendOps[0]!) ?? routeHost;
    if (host !== undefined) action.host_rewrite_literal = host;
  } else {
    // A rewrite on any backend is written out per ClusterWeight (backend's, else the route's)
    // so the outcome does not hinge on how Envoy orders the two levels.
    const perBackendHost = live.some((b, i) => hostOf(b, backendOps[i]!) !== undefined);
    const clusters = live.map((b, i): ClusterWeight => {
      const cw: ClusterWeight = { name: b.backend, weight: { value: b.weight }, ...mutations(backendOps[i]!) };
      const host = perBackendHost ? (hostOf(b, backendOps[i]!) ?? routeHost) : undefined;
      if (host !== undefined) cw.host_rewrite_literal = host;
      return cw;
    });
    action.weighted_clusters = {
      clusters,
      ...(headerSplit !== undefined ? { header_name: headerSplit } : {}),
      ...(hashSplit ? { use_hash_policy: { value: true } } : {}),
    };
    if (!perBackendHost && routeHost !== undefined) action.host_rewrite_literal = routeHost;
    headers = mutations(routeOps);
  }
  finish(action, service, route, kind, warnings, path);
  return { action, headers };
}

/** What every route action gets whatever its target: hash policy, deadline, mirrors. */
function finish(action: RouteAction, service: ServiceSpec, route: RouteSpec, kind: NodeKind, warnings: Warnings, path: string): void {
  // The ext_proc server's header first (Envoy): a key it found decides; else the service's keys.
  const hashes = [...sessionKeyHashPolicy(service, kind), ...hashPolicies(service.affinity, kind)];
  if (hashes.length > 0) action.hash_policy = hashes;
  if (route.timeoutMs !== undefined) {
    // grpc-js-xds reads the deadline from max_stream_duration (gRFC A31), not `timeout`.
    if (kind === 'grpc') action.max_stream_duration = { max_stream_duration: durationFromMs(route.timeoutMs) };
    else action.timeout = durationFromMs(route.timeoutMs);
  }
  if (route.retries !== undefined) {
    const retry = retryPolicy(route.retries, kind, warnings, path);
    if (retry) action.retry_policy = retry;
  }
  const mirrors = mirrorPolicies(route.mirrors, kind, warnings, path);
  if (mirrors.length > 0) action.request_mirror_policies = mirrors;
}

/**
 * Ring-mode sticky split: the one synthetic cluster of sticky-split.ts. Only route-level header
 * operations exist here (validation refuses per-backend ones: they cannot apply by version).
 */
function stickyRingAction(service: ServiceSpec, route: RouteSpec, kind: NodeKind, warnings: Warnings, path: string): BuiltAction {
  const action: RouteAction = { cluster: stickyClusterName(service.name, route.name) };
  let headers: HeaderMutations = {};
  if (kind === 'envoy') {
    const routeOps = levelOps(route.requestHeaders, route.responseHeaders, warnings, path);
    headers = mutations(routeOps);
    const host = route.hostRewrite ?? routeOps.hostFromSet;
    if (host !== undefined) action.host_rewrite_literal = host;
    if (route.backends.some((b) => !isEmptyBackendOps(b))) {
      // Header mode falls back to this for gRPC only; for Envoy, validation refuses them in ring
      // mode, but a model built elsewhere may carry them: never apply them to every version.
      warnings.add(`${path}.backends`, 'per-backend header operations cannot apply by version in one sticky cluster; left out');
    }
  } else {
    const routeOps = levelOps(route.requestHeaders, route.responseHeaders, new Warnings(), path);
    const rewrites = !isEmpty(routeOps) || route.hostRewrite !== undefined || route.backends.some((b) => !isEmptyBackendOps(b));
    if (rewrites) warnings.add(path, 'gRPC clients apply no header or host rewrites; left out');
  }
  finish(action, service, route, kind, warnings, path);
  return { action, headers };
}

function isEmptyBackendOps(b: WeightedBackend): boolean {
  const none = (o: WeightedBackend['requestHeaders']) => o.set.length === 0 && o.add.length === 0 && o.remove.length === 0;
  return none(b.requestHeaders) && none(b.responseHeaders) && b.hostRewrite === undefined;
}

/**
 * Header- and hash-mode sticky split (Envoy): Envoy picks the backend whose cumulative weight
 * range holds `value % total` (value: the header's integer, or the route's hash with
 * use_hash_policy; a random one without either). Weights are scaled
 * to a fixed total by rounding the cumulative sums, in route order: shifting weight to later
 * backends only lowers every boundary, so a user's value can only fall into a later backend
 * (old → new), and the total never changes, so `value % total` stays put. A backend whose
 * rounded share is 0 is left out.
 */
function headerSplitWeights(live: WeightedBackend[], warnings: Warnings, path: string): WeightedBackend[] {
  const sum = live.reduce((a, b) => a + b.weight, 0);
  let cumulative = 0;
  let boundary = 0;
  const out: WeightedBackend[] = [];
  for (const b of live) {
    cumulative += b.weight;
    const next = Math.round((cumulative * HEADER_SPLIT_TOTAL) / sum);
    if (next > boundary) out.push({ ...b, weight: next - boundary });
    else warnings.add(`${path}.backends[${b.backend}]`, `share below 1/${HEADER_SPLIT_TOTAL} of the sticky split: left out`);
    boundary = next;
  }
  return out;
}
