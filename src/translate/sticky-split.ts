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
 * How shares become exact ring points: each version gets a number of points (sticky-points.ts:
 * Envoy a share of T = 2^17 by weight; gRPC 2048 for the largest version and the others in
 * proportion to it, a ring of 2048–4096), shared within a version among its live replicas by
 * endpoint weight, both with Webster's method (apportion.ts), which is monotone: growing a
 * backend's share never takes a point from it, and each of its replicas keeps at least its
 * points. The EDS weights make the client's ring construction give every host exactly its
 * points: the first n of its fixed XXH64("<key>_<n>") sequence (src/affinity/ring-hash.ts).
 * Envoy: weight = points, minimum_ring_size = T, a power of two, so every step of the
 * construction is exact in doubles. gRPC: minimum = maximum = the ring's size and weights that
 * add up to 2^16 (exactRingWeights). Growing v2 therefore only ADDS v2 entries and shrinking
 * v1 only REMOVES v1 entries; a user whose entry was v2 still finds a v2 entry first (new
 * entries are v2, and removed ones were v1). Users move v1 → v2, never back.
 * (test/translate/sticky-split.test.ts checks this on 20,000 keys with src/affinity's ring.)
 * gRPC's ring keeps the largest version's points fixed so that its users keep their replica
 * (test/translate/sticky-split-movement.test.ts measures who moves within a version).
 *
 * Trade-offs:
 * - one cluster means one set of per-cluster settings: per-backend header operations and host
 *   rewrites cannot apply by version (validation refuses them in ring mode), the cluster uses
 *   one protocol and the longest connect timeout, and no bounded load (its overflow would go to
 *   another ring entry, which may be another version);
 * - changing one version's replica count re-shares that version's points among its replicas:
 *   the old replicas give up their last entries and the new one adds entries elsewhere on the
 *   ring, so users move within the version AND across versions, both ways: about
 *   2 × (re-shared points / ring size) × (other versions' share). Measured (test/translate/
 *   sticky-split.test.ts), v2 2 → 3 replicas at 70/30: ~5 % move within v2, ~12 % change
 *   version. Scale before or after a rollout step, pin sessions with affinity.strong, or use
 *   header mode (Envoy), where the version does not depend on the replicas at all;
 * - with three or more live versions, a version whose share stays the same can gain or lose one
 *   point (1/T of the users) when the others trade shares (Envoy: rounding), or more (gRPC:
 *   points follow the largest version's weight, so they change when it does);
 * - points per version are whole: gRPC's 2048 for the largest version gives ~21 points per 1 %
 *   beside it; a replica whose share rounds to no point gets no users until its version grows
 *   (a warning says so).
 */
import { clusterNameOf, mapOf, nameOf, sortedBy, type UnitMemo } from './unit-memo';
import type { Steps } from '../util/steps';
import type { BackendSpec, RouteSpec, ServiceSpec, TetherConfig } from '../model/types';
import type { Cluster, ClusterLoadAssignment } from '../envoy/messages';
import type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import { apportion } from './apportion';
import { edsCluster } from './cluster';
import { ENVOY_RING_POINTS, exactRingWeights, GRPC_RING_POINTS, versionPoints } from './sticky-points';
import { lbEndpoint, loadAssignment, type PreparedEndpoint, type PreparedEndpoints } from './endpoint';
import { stickyClusterName } from './names';
import type { NodeKind, TargetApi } from '../model/node-targets';
import { backendPath, routePath, type Warnings } from './warnings';

/** The most ring points a sticky cluster has (Envoy: always exactly; gRPC: 2048 to 4096, see sticky-points.ts). */
export const STICKY_RING_POINTS: Readonly<Record<NodeKind, number>> = { envoy: ENVOY_RING_POINTS, grpc: GRPC_RING_POINTS };

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

/** The routes of `service` that get a sticky cluster for this kind, in route order. */
function stickyRoutes(service: ServiceSpec, kind: NodeKind, api: TargetApi): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const route of service.routes) {
    if (!usesStickyRing(service, route, kind, api)) continue;
    // gRPC leaves routes with query matchers out (route.ts); their cluster would be unused.
    if (kind === 'grpc' && route.match.queryParams.length > 0) continue;
    if (!route.backends.some((b) => b.weight > 0)) continue;
    out.push(route);
  }
  return out;
}

export interface StickyResources {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

const NONE: StickyResources = Object.freeze({ clusters: [], endpoints: [] }) as StickyResources;

/**
 * The sticky clusters and their endpoints, service by service (in name order) and route by
 * route, then sorted by name. A service's part reads the service, the backends and their
 * prepared endpoints (`prepared` is another object whenever a backend or its endpoints
 * changed), so with a memo an edit of a few services redoes only theirs (UnitMemo.map).
 */
export function* stickyResources(
  config: TetherConfig,
  prepared: PreparedEndpoints,
  kind: NodeKind,
  warnings: Warnings,
  api: TargetApi,
  memo?: UnitMemo,
): Steps<StickyResources> {
  let backends: Map<string, BackendSpec> | undefined;
  const backendNamed = (name: string) => (backends ??= new Map(config.backends.map((b) => [b.name, b]))).get(name);
  const parts = yield* mapOf(memo, 'sticky', sortedBy(memo, 'services', config.services, nameOf), [kind, api.features, api.label, prepared], warnings, (service, w) => {
    const routes = stickyRoutes(service, kind, api);
    return routes.length === 0 ? NONE : stickyPart(service, routes, backendNamed, prepared, kind, w);
  });
  const out: StickyResources = { clusters: [], endpoints: [] };
  for (const part of parts) {
    if (part === NONE) continue;
    out.clusters.push(...part.clusters);
    out.endpoints.push(...part.endpoints);
  }
  return {
    clusters: sortedBy(memo, 'sticky-clusters', out.clusters, nameOf) as Cluster[],
    endpoints: sortedBy(memo, 'sticky-assignments', out.endpoints, clusterNameOf) as ClusterLoadAssignment[],
  };
}

function stickyPart(
  service: ServiceSpec,
  routes: readonly RouteSpec[],
  backendNamed: (name: string) => BackendSpec | undefined,
  prepared: PreparedEndpoints,
  kind: NodeKind,
  warnings: Warnings,
): StickyResources {
  const out: StickyResources = { clusters: [], endpoints: [] };
  for (const route of routes) {
    const name = stickyClusterName(service.name, route.name);
    const path = routePath(service.name, route.name);
    const members = route.backends
      .filter((b) => b.weight > 0)
      .flatMap((b) => {
        const spec = backendNamed(b.backend);
        return spec ? [{ spec, weight: b.weight, endpoints: prepared.get(b.backend) ?? [] }] : [];
      });
    const assignment = stickyEndpoints(members, kind, path, warnings);
    // gRPC: the ring's size is in CDS and the weights in EDS. A new EDS name per size makes
    // grpc-js-xds switch rings only once it has both (it holds a cluster's update back until
    // the endpoints of a changed service_name arrive), never routing on new size × old weights.
    const edsName = kind === 'grpc' ? `${name}~${assignment.ring}` : name;
    out.clusters.push(stickyCluster(name, edsName, assignment.ring, members.map((m) => m.spec), kind, path, warnings));
    out.endpoints.push(loadAssignment(edsName, assignment.lbEndpoints));
  }
  return out;
}

function stickyCluster(name: string, edsName: string, ring: number, specs: readonly BackendSpec[], kind: NodeKind, path: string, warnings: Warnings): Cluster {
  const bounded = specs.filter((s) => (s.balancer.type === 'ring_hash' || s.balancer.type === 'maglev') && s.balancer.hashBalanceFactor !== undefined);
  if (bounded.length > 0) {
    warnings.add(
      `${path}.stickySplit`,
      `hashBalanceFactor of ${bounded.map((s) => s.name).join(', ')} not applied to the sticky cluster: bounded load would send ` +
        'overflow to another ring entry, which may belong to another version',
    );
  }
  // Validation makes the protocols agree; the longest timeout suits every version.
  const base = edsCluster(name, Math.max(0, ...specs.map((s) => s.connectTimeoutMs)), specs[0]?.protocol ?? 'http1');
  // gRPC: minimum = maximum = the ring's size, for exactRingWeights; a ring without a live
  // replica still needs a valid size.
  const size = Math.max(1, ring);
  return {
    ...base,
    eds_cluster_config: { ...base.eds_cluster_config, service_name: edsName },
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: {
      minimum_ring_size: { value: String(kind === 'grpc' ? size : ENVOY_RING_POINTS) },
      maximum_ring_size: { value: String(kind === 'grpc' ? size : ENVOY_MAX_RING_SIZE) },
    },
  };
}

interface Member {
  spec: BackendSpec;
  weight: number;
  endpoints: readonly PreparedEndpoint[];
}

/**
 * The cluster's endpoints: live replicas weighted by their ring points (Envoy), or by the
 * weights that give them exactly those points on a ring of `ring` points (gRPC); drained ones
 * as sent elsewhere.
 */
function stickyEndpoints(members: readonly Member[], kind: NodeKind, path: string, warnings: Warnings): { lbEndpoints: LbEndpoint[]; ring: number } {
  const withLive = members.filter((m) => m.endpoints.some((e) => !e.drain));
  for (const m of members) {
    if (!withLive.includes(m)) warnings.add(`${path}.stickySplit`, `${m.spec.name} has no live endpoint: its share goes to the other backends`);
  }
  const { points: backendPoints, ring } = versionPoints(
    withLive.map((m) => m.weight),
    kind,
  );

  const byAddress = new Map<string, { lb: LbEndpoint; live: boolean; points: number }>();
  const hashKeys = new Set<string>();
  const order: string[] = [];
  members.forEach((m) => {
    const b = withLive.indexOf(m);
    const points = b < 0 ? 0 : backendPoints[b]!;
    const live = m.endpoints.filter((e) => !e.drain);
    const hostPoints = apportion(live.map((e) => e.weight), points);
    const unplaced = hostPoints.filter((p) => p === 0).length;
    if (b >= 0 && points === 0) {
      warnings.add(`${path}.stickySplit`, `${m.spec.name} gets no ring point: its share is below 1/${ring} of the split`);
    } else if (unplaced > 0) {
      warnings.add(
        `${path}.stickySplit`,
        `${m.spec.name}: ${unplaced} of ${live.length} replicas get no ring point at ${points} points (its share of ${ring}); they get users as its share grows`,
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
        byAddress.set(key, { lb, live: !e.drain, points: p });
        order.push(key);
        continue;
      }
      // One address in two backends: one host on the ring, with both shares (and both versions).
      warnings.add(`${path}.stickySplit`, `${e.ip}:${e.port} is in more than one backend of the split; one replica with both shares`);
      if (!e.drain && seen.live) seen.points += p;
      else if (!e.drain) byAddress.set(key, { lb, live: true, points: p });
    }
  });
  const hosts = order.map((k) => byAddress.get(k)!);
  const live = hosts.filter((h) => h.live);
  const weights = kind === 'grpc' && ring > 0 ? exactRingWeights(live.map((h) => h.points)) : live.map((h) => h.points);
  live.forEach((h, i) => (h.lb.load_balancing_weight = { value: weights[i]! }));
  return { lbEndpoints: hosts.map((h) => h.lb), ring };
}
