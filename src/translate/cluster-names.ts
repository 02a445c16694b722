import type { TetherConfig } from '../model/types';
import type { NodeKind } from './types';
import { liveWeights, type PreparedEndpoints } from './endpoint';
import { ringShapeClusterName } from './names';
import { ringSizes } from './ring-sizing';

/** Backend → the name of its Cluster, which is also its ClusterLoadAssignment's (EDS service_name). */
export type ClusterNames = (backend: string) => string;

/**
 * Which cluster each backend is served as, for one kind of node: its own name, except a stable
 * ring on gRPC nodes, which is named after its ring shape: `<backend>~ring<minimum_ring_size>`.
 *
 * Why: a stable ring's minimum_ring_size follows its live endpoints (ring-sizing.ts), so a scale
 * event changes the Cluster (CDS) and its endpoints (EDS) together, and they cannot arrive
 * together: make-before-break sends CDS, waits for the ACK, then EDS. grpc-js-xds applies a
 * cluster update at once with the endpoints it already holds (xds-dependency-manager.js
 * publishes the new cdsUpdate beside the cached EDS), so for that round trip its ring has the
 * new size over the old endpoints: every old replica gets more (or fewer) entries, and users
 * move between old replicas (18.4 % of them going 3 → 4, 11.8 % 5 → 6, 8.3 % 10 → 11), then back.
 *
 * With the size in the name, the Cluster of a name never changes size, and every
 * ClusterLoadAssignment sent under it matches that size: a change that keeps the size
 * (a replica replaced, weights traded) is one EDS update, atomic. A change of size is a new
 * name, hence a route change (RDS), and grpc-js-xds switches routes atomically: given a route to
 * a cluster it does not hold, it subscribes to the cluster and its endpoints and keeps routing
 * by its previous config until the route, every cluster it names and their endpoints are all
 * resolved (xds-dependency-manager.js maybeSendUpdate, gRFC A74); then the config selector and
 * the balancers change together. The old cluster stays referenced by the previous config until
 * that moment (resolver-xds.js ClusterRef) and Tether keeps sending it until the client holds the
 * new cluster and its endpoints (xds/stream-plan.ts), so every RPC is picked either by the old
 * ring over the old endpoints or by the new ring over the new ones.
 *
 * Envoy nodes keep one name per backend: Envoy warms an updated cluster until its endpoints
 * arrive while the old one keeps serving, and its stats (cluster.<name>.*) and the dashboards
 * built on them key on the name. Fixed rings, maglev and the non-hashing balancers have no
 * endpoint-dependent field, so they keep their names on gRPC nodes too.
 */
export function clusterNames(config: TetherConfig, prepared: PreparedEndpoints, kind: NodeKind): ClusterNames {
  if (kind === 'envoy') return sameName;
  const shaped = new Map<string, string>();
  for (const backend of config.backends) {
    const balancer = backend.balancer;
    if (balancer.type !== 'ring_hash' || balancer.ring !== 'stable') continue;
    const { minRingSize } = ringSizes(balancer, liveWeights(prepared.get(backend.name) ?? []), kind);
    shaped.set(backend.name, ringShapeClusterName(backend.name, minRingSize));
  }
  return (backend) => shaped.get(backend) ?? backend;
}

const sameName: ClusterNames = (backend) => backend;
