import type { TetherConfig } from '../model/types';
import type { NodeKind } from '../model/node-targets';
import { liveWeights, type PreparedEndpoints } from './endpoint';
import { ringShapeAssignmentName } from './names';
import { ringSizes } from './ring-sizing';
import { unitOf, type UnitMemo } from './unit-memo';
import type { Warnings } from './warnings';
import { stepDue, type Steps } from '../util/steps';

/** Backend → the name of its ClusterLoadAssignment, which its Cluster gives as EDS service_name. */
export type AssignmentNames = (backend: string) => string;

/**
 * Which ClusterLoadAssignment each backend's cluster reads its endpoints from: the backend's
 * name, except for a stable ring, whose assignment is named after its ring shape,
 * `<backend>~ring<minimum_ring_size>`. The Cluster keeps the backend's name on every kind of
 * node (Envoy's cluster.<name>.* stats, gRPC's per-cluster metrics and the dashboards on them,
 * explain and what-if all key on it).
 *
 * Why: a stable ring's minimum_ring_size follows its live endpoints (ring-sizing.ts), so a scale
 * event changes the Cluster (CDS) and its endpoints (EDS) together, and clients receive them one
 * after the other (CDS first: make-before-break). Under one assignment name each client has a
 * moment with one half only, where every old replica has more (or fewer) ring entries and users
 * land on an old replica that is neither theirs before nor after (18.4 % of users going 3 → 4,
 * 11.8 % 5 → 6, 8.3 % 10 → 11):
 * - grpc-js-xds applies a cluster update at once with the endpoints it holds
 *   (xds-dependency-manager.js keeps the EDS watch when service_name is unchanged): new size
 *   over old endpoints, for a round trip.
 * - Envoy warms the updated cluster until its endpoints arrive, but over delta xDS the old,
 *   still active cluster, which watches the same assignment, applies the new endpoints first:
 *   old size over new endpoints (measured with Envoy 1.40 over delta; not seen over SotW).
 *
 * With the size in the assignment's name, an assignment's endpoints always match the ring size
 * of the clusters that name it, and a change of size names a new assignment:
 * - grpc-js-xds, seeing service_name change, drops the cluster's endpoints and publishes no new
 *   config until the new assignment arrives (xds-dependency-manager.js: an EDS cluster without
 *   endpoints leaves the tree not "fully updated"), so its balancer goes from old size and old
 *   endpoints to new size and new endpoints in one update;
 * - Envoy warms the new cluster on the new assignment while the old one keeps serving from the
 *   old assignment, which does not change, then swaps them.
 * A change that keeps the size (a replica replaced; one drained and another added) is one
 * endpoint update of the same assignment, which both clients apply at once.
 * Fixed rings, maglev and the non-hashing balancers have no endpoint-dependent field: their
 * assignment keeps the backend's name.
 */
export function* assignmentNames(config: TetherConfig, prepared: PreparedEndpoints, kind: NodeKind, warnings: Warnings, memo?: UnitMemo): Steps<AssignmentNames> {
  const shaped = new Map<string, string>();
  for (const backend of config.backends) {
    const balancer = backend.balancer;
    if (balancer.type !== 'ring_hash' || balancer.ring !== 'stable') continue;
    const endpoints = prepared.get(backend.name);
    const name = unitOf(memo, 'assignment-name', backend, [endpoints], warnings, () => {
      const { minRingSize } = ringSizes(balancer, liveWeights(endpoints ?? []), kind);
      return ringShapeAssignmentName(backend.name, minRingSize);
    });
    shaped.set(backend.name, name);
    if (stepDue()) yield;
  }
  return (backend) => shaped.get(backend) ?? backend;
}
