import type { RouteSpec, ServiceSpec, WeightedBackend } from '../model/types';
import type { RouteAction } from '../generated/envoy/config/route/v3/RouteAction';
import type { _envoy_config_route_v3_WeightedCluster_ClusterWeight as ClusterWeight } from '../generated/envoy/config/route/v3/WeightedCluster';
import type { NodeKind } from './types';
import { hashPolicies } from './hash-policy';
import { type HeaderMutations, isEmpty, type LevelOps, levelOps, mergeInto, mutations } from './header-ops';
import { durationFromMs } from './proto-values';
import { Warnings } from './warnings';

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
): BuiltAction | undefined {
  const live = route.backends.filter((b) => b.weight > 0);
  if (live.length === 0) {
    warnings.add(`${path}.backends`, 'no backend has a weight above 0; route left out');
    return undefined;
  }
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
    action.weighted_clusters = { clusters };
    if (!perBackendHost && routeHost !== undefined) action.host_rewrite_literal = routeHost;
    headers = mutations(routeOps);
  }

  const hashes = hashPolicies(service.affinity, kind);
  if (hashes.length > 0) action.hash_policy = hashes;
  if (route.timeoutMs !== undefined) {
    // grpc-js-xds reads the deadline from max_stream_duration (gRFC A31), not `timeout`.
    if (kind === 'grpc') action.max_stream_duration = { max_stream_duration: durationFromMs(route.timeoutMs) };
    else action.timeout = durationFromMs(route.timeoutMs);
  }
  return { action, headers };
}
