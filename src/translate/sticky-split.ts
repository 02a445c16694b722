/**
 * Sticky split: a weighted split where each user stays on one version, and moves only from
 * older to newer versions as the weights shift (old → new, in the route's backend order).
 *
 * Envoy ≥ 1.36 gets ring mode as weighted clusters picked by the route's hash
 * (WeightedCluster.use_hash_policy, route-action.ts): each version keeps its own cluster. This
 * file is for the nodes that cannot do that: gRPC (grpc-js-xds picks a weighted cluster at
 * random per RPC, ignoring use_hash_policy), Envoys before 1.36 (no such field), and services with
 * strong stickiness on any Envoy (a pinned replica must stay reachable whatever version the hash
 * picks). For them a stickySplit route (ring mode) goes to one synthetic cluster,
 * `<service>~<route>~sticky`, whose EDS holds the replicas of every backend with weight > 0, and
 * the route's hash policy picks a replica — and with it a version — on one ring.
 *
 * How shares become exact ring points: the cluster's hosts' load_balancing_weights add up to
 * T, a power of two (Envoy 2^17, gRPC 2^12 = grpc-js-xds's ring cap), and minimum_ring_size = T.
 * Then every step of the ring construction is exact in doubles: minNorm = wmin / T, scale =
 * ceil(minNorm × T) / minNorm = T, and host i's running target moves by exactly its weight, so
 * host i gets exactly `weight` entries: the first `weight` of its fixed XXH64("<key>_<n>")
 * sequence (src/affinity/ring-hash.ts). T is shared among backends by the split's weights and
 * within a backend among its live replicas by endpoint weight, both with Webster's method
 * (apportion.ts), which is monotone: growing a backend's share never takes a point from it,
 * and each of its replicas keeps at least its points. Growing v2 therefore only ADDS v2 entries
 * and shrinking v1 only REMOVES v1 entries; a user whose entry was v2 still finds a v2 entry
 * first (new entries are v2, and removed ones were v1). Users move v1 → v2, never back.
 * (test/translate/sticky-split.test.ts checks this on 20,000 keys with src/affinity's ring.)
 *
 * Trade-offs:
 * - one cluster means one set of per-cluster settings: per-backend header operations and host
 *   rewrites cannot apply by version (validation refuses them in ring mode), the cluster uses
 *   one protocol and the longest connect timeout, and no bounded load (its overflow would go to
 *   another ring entry, which may be another version);
 * - changing one version's replica count re-shares that version's points among its replicas:
 *   the old replicas give up their last entries and the new one adds entries elsewhere on the
 *   ring, so users move within the version AND across versions, both ways: about
 *   2 × (re-shared points / T) × (other versions' share). Measured (test/translate/
 *   sticky-split.test.ts), v2 2 → 3 replicas at 70/30: ~5 % move within v2, ~12 % change
 *   version. Scale before or after a rollout step, pin sessions with affinity.strong, or use
 *   header mode (Envoy), where the version does not depend on the replicas at all;
 * - with three or more live versions, a version whose share stays the same can gain or lose one
 *   point (1/T of the users) when the others trade shares (rounding);
 * - points per version are whole: gRPC's 4096 gives 40.96 points per 1 %; a replica whose share
 *   rounds to no point gets no users until its version grows (a warning says so).
 */
import type { BackendSpec, RouteSpec, ServiceSpec, TetherConfig } from '../model/types';
import type { Cluster, ClusterLoadAssignment } from '../envoy/messages';
import type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import { apportion } from './apportion';
import { edsCluster } from './cluster';
import { lbEndpoint, loadAssignment, type PreparedEndpoint, type PreparedEndpoints } from './endpoint';
import { stickyClusterName } from './names';
import { byName } from './proto-values';
import type { NodeKind } from './types';
import type { TargetApi } from './targets';
import { backendPath, routePath, type Warnings } from './warnings';

/** Ring points (= minimum_ring_size) of a sticky cluster: a power of two, see above. */
export const STICKY_RING_POINTS: Readonly<Record<NodeKind, number>> = { envoy: 131_072, grpc: 4096 };

/** Envoy's largest maximum_ring_size. */
const ENVOY_MAX_RING_SIZE = 8_388_608;

/**
 * Whether this node gets the route as a synthetic ring cluster: gRPC always (grpc-js-xds picks
 * weighted clusters at random, header_name and use_hash_policy ignored); Envoy in ring mode when
 * its build has no WeightedCluster.use_hash_policy (< 1.36), or when the service pins sessions
 * (affinity.strong): a pinned replica must stay reachable whichever version the hash picks, so
 * every version must be in the one cluster. Otherwise Envoy's ring mode is a weighted_clusters
 * with use_hash_policy (route-action.ts), and each backend keeps its own cluster.
 */
export function usesStickyRing(service: ServiceSpec, route: RouteSpec, kind: NodeKind, api: TargetApi): boolean {
  if (route.stickySplit === undefined) return false;
  if (kind === 'grpc') return true;
  if (route.stickySplit.mode !== 'ring') return false;
  return !api.features.weightedClusterHashPolicy || service.affinity?.strong !== undefined;
}

/** The routes that get a sticky cluster for this kind, in a stable order. */
function stickyRoutes(config: TetherConfig, kind: NodeKind, api: TargetApi): Array<{ service: ServiceSpec; route: RouteSpec }> {
  const out: Array<{ service: ServiceSpec; route: RouteSpec }> = [];
  for (const service of [...config.services].sort(byName)) {
    for (const route of service.routes) {
      if (!usesStickyRing(service, route, kind, api)) continue;
      // gRPC leaves routes with query matchers out (route.ts); their cluster would be unused.
      if (kind === 'grpc' && route.match.queryParams.length > 0) continue;
      if (!route.backends.some((b) => b.weight > 0)) continue;
      out.push({ service, route });
    }
  }
  return out;
}

export interface StickyResources {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

export function stickyResources(config: TetherConfig, prepared: PreparedEndpoints, kind: NodeKind, warnings: Warnings, api: TargetApi): StickyResources {
  const backends = new Map(config.backends.map((b) => [b.name, b]));
  const out: StickyResources = { clusters: [], endpoints: [] };
  for (const { service, route } of stickyRoutes(config, kind, api)) {
    const name = stickyClusterName(service.name, route.name);
    const path = routePath(service.name, route.name);
    const members = route.backends
      .filter((b) => b.weight > 0)
      .flatMap((b) => {
        const spec = backends.get(b.backend);
        return spec ? [{ spec, weight: b.weight, endpoints: prepared.get(b.backend) ?? [] }] : [];
      });
    out.clusters.push(stickyCluster(name, members.map((m) => m.spec), kind, path, warnings));
    out.endpoints.push(loadAssignment(name, stickyEndpoints(members, kind, path, warnings)));
  }
  return { clusters: out.clusters.sort(byName), endpoints: out.endpoints.sort((a, b) => byName({ name: a.cluster_name }, { name: b.cluster_name })) };
}

function stickyCluster(name: string, specs: readonly BackendSpec[], kind: NodeKind, path: string, warnings: Warnings): Cluster {
  const bounded = specs.filter((s) => (s.balancer.type === 'ring_hash' || s.balancer.type === 'maglev') && s.balancer.hashBalanceFactor !== undefined);
  if (bounded.length > 0) {
    warnings.add(
      `${path}.stickySplit`,
      `hashBalanceFactor of ${bounded.map((s) => s.name).join(', ')} not applied to the sticky cluster: bounded load would send ` +
        'overflow to another ring entry, which may belong to another version',
    );
  }
  const T = STICKY_RING_POINTS[kind];
  return {
    // Validation makes the protocols agree; the longest timeout suits every version.
    ...edsCluster(name, Math.max(0, ...specs.map((s) => s.connectTimeoutMs)), specs[0]?.protocol ?? 'http1'),
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: {
      minimum_ring_size: { value: String(T) },
      maximum_ring_size: { value: String(kind === 'grpc' ? T : ENVOY_MAX_RING_SIZE) },
    },
  };
}

interface Member {
  spec: BackendSpec;
  weight: number;
  endpoints: readonly PreparedEndpoint[];
}

/** The cluster's endpoints: live replicas weighted by their ring points, drained ones as sent elsewhere. */
function stickyEndpoints(members: readonly Member[], kind: NodeKind, path: string, warnings: Warnings): LbEndpoint[] {
  const T = STICKY_RING_POINTS[kind];
  const withLive = members.filter((m) => m.endpoints.some((e) => !e.drain));
  for (const m of members) {
    if (!withLive.includes(m)) warnings.add(`${path}.stickySplit`, `${m.spec.name} has no live endpoint: its share goes to the other backends`);
  }
  const backendPoints = apportion(withLive.map((m) => m.weight), T);

  const byAddress = new Map<string, { lb: LbEndpoint; live: boolean }>();
  const hashKeys = new Set<string>();
  const order: string[] = [];
  members.forEach((m) => {
    const b = withLive.indexOf(m);
    const points = b < 0 ? 0 : backendPoints[b]!;
    const live = m.endpoints.filter((e) => !e.drain);
    const hostPoints = apportion(live.map((e) => e.weight), points);
    const unplaced = hostPoints.filter((p) => p === 0).length;
    if (b >= 0 && points === 0) {
      warnings.add(`${path}.stickySplit`, `${m.spec.name} gets no ring point: its share is below 1/${T} of the split`);
    } else if (unplaced > 0) {
      warnings.add(
        `${path}.stickySplit`,
        `${m.spec.name}: ${unplaced} of ${live.length} replicas get no ring point at ${points} points (its share of ${T}); they get users as its share grows`,
      );
    }
    for (const e of m.endpoints) {
      const p = e.drain ? 0 : hostPoints[live.indexOf(e)]!;
      if (!e.drain && p === 0) continue;
      let endpoint = e;
      if (kind === 'envoy' && e.hashKey !== undefined) {
        if (hashKeys.has(e.hashKey)) {
          warnings.add(`${backendPath(m.spec.name)}.endpoints`, `hashKey "${e.hashKey}" is also used by another backend of ${path}; left out in its sticky cluster`);
          endpoint = { ...e };
          delete endpoint.hashKey;
        } else hashKeys.add(e.hashKey);
      }
      const key = `${e.ip.toLowerCase()}|${e.port}`;
      const lb = lbEndpoint(endpoint, kind, e.drain ? e.weight : p);
      const seen = byAddress.get(key);
      if (!seen) {
        byAddress.set(key, { lb, live: !e.drain });
        order.push(key);
        continue;
      }
      // One address in two backends: one host on the ring, with both shares (and both versions).
      warnings.add(`${path}.stickySplit`, `${e.ip}:${e.port} is in more than one backend of the split; one replica with both shares`);
      if (!e.drain && seen.live) seen.lb.load_balancing_weight = { value: (seen.lb.load_balancing_weight?.value ?? 0) + p };
      else if (!e.drain) byAddress.set(key, { lb, live: true });
    }
  });
  return order.map((k) => byAddress.get(k)!.lb);
}
