/**
 * Explain and what-if over the resources Tether serves: which replica a request lands on,
 * and how a proposed change moves sticky sessions. Pure (no I/O); the admin API feeds it the
 * translated resources of the current (and proposed) config. `await initHashing()` first.
 */
export { assignmentOf, wireResources, wireResourcesInTurns, type WireResources } from './wire';
export { servedService, endpointOwners, endpointOwnersInTurns, type EndpointOwners, type ServedService } from './served-service';
export { matchRoutes, type MatchRequest, type MatchResult, type RouteMatchOutcome } from './route-match';
export { clusterBalancer, clusterEndpoints, routeKeys, servedHashBalancer, type ClusterBalancer, type ServedHashBalancer } from './cluster-view';
export {
  clusterPicker,
  explainRequest,
  formatPercent,
  hashHex,
  mergedQuery,
  type ClusterPicker,
  type ExplainContext,
  type ExplainOutcome,
  type ExplainQuery,
  type HashStepOutcome,
  type PickOutcome,
  type WeightedClusterOutcome,
} from './explain';
export {
  routeImpacts,
  plannedImpacts,
  MAX_WHAT_IF_SAMPLES,
  type PlannedImpact,
  type BackendShareOutcome,
  type ReplicaShareOutcome,
  type RouteImpactOutcome,
  type SessionPlacementOutcome,
  type WhatIfOptions,
  type WhatIfSide,
} from './what-if';
export { runSampleJob, type SampleJob, type SampleResult, type SampleSide } from './what-if-sampling';
export { explainKind, kindsOf, servesRoutes, whatIfKinds, type KindsFrom } from './node-kinds';
