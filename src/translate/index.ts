/**
 * Model → Envoy resources, for one kind of node. Pure: no I/O, no logging, no clock; the same
 * input always gives the same resources in the same order (listeners, route configurations,
 * clusters and assignments sorted by name; virtual hosts, routes and endpoints in model
 * order, which is significant). Every typed_config inside is already packed through the real
 * protos (`pack`), so an unknown field fails here, not on the client.
 *
 * Envoy nodes: a real listener per ListenerSpec (HCM, RDS over ADS), a RouteConfiguration per
 * listener with a virtual host per service there. gRPC nodes (grpc-js-xds): an api_listener
 * and a RouteConfiguration per service, named after it, and only what grpc-js-xds accepts —
 * see the notes in route.ts, route-action.ts, hash-policy.ts and cluster.ts, and the warnings
 * `translateWithWarnings` returns for each thing left out or replaced.
 */
import type { TetherConfig } from '../model/types';
import type { EnvoyResources } from '../envoy/resources';
import type { ResolvedEndpoints, TlsMaterial } from '../model/resolved';
import type { TranslateResult } from './types';
import { targetApi, targetKind, type NodeTarget } from '../model/node-targets';
import { clusters } from './cluster';
import { assignmentNames } from './assignment-names';
import { loadAssignments, prepareEndpoints } from './endpoint';
import { stickyResources } from './sticky-split';
import { envoyListeners, grpcListeners } from './listener';
import { envoyRouteConfigurations, grpcRouteConfigurations } from './route';
import { Warnings } from './warnings';
import { extProcClusters } from './ext-proc';
import { clusterNameOf, joinedOf, nameOf, noItemDep, passOf, sortedBy, type UnitMemo } from './unit-memo';
import { listenerSecrets } from './listener-edge';
import { runSteps, type Steps } from '../util/steps';

const NO_TLS: TlsMaterial = new Map();

export type { EnvoyResources } from '../envoy/resources';
export type { NodeKind } from '../model/node-targets';
export type { ResolvedEndpoint, ResolvedEndpoints, TlsMaterial, TlsPair } from '../model/resolved';
export type { TranslateResult, TranslateWarning } from './types';
export { NODE_KINDS } from '../model/node-targets';
export { NODE_TARGETS, envoyTargetFor, isNodeTarget, targetKind, targetApi, type NodeTarget, type EnvoyFeatures, type TargetApi } from '../model/node-targets';
export { staticEndpoints } from './endpoint';
export { readableAny, readableMessage, toReadable, type ReadableResources } from './readable';
export type { HttpFilterContext, HttpFilterContributor } from './http-filters';
export { UnitMemo } from './unit-memo';

/**
 * `target` is a kind of node ('envoy': the current Envoy API; 'grpc'), or an older Envoy API
 * level ('envoy-1.35', 'envoy-pre-1.35'; see targets.ts), which gets the best it supports.
 */
export function translate(config: TetherConfig, endpoints: ResolvedEndpoints, target: NodeTarget, tls: TlsMaterial = NO_TLS): EnvoyResources {
  return translateWithWarnings(config, endpoints, target, tls).resources;
}

/**
 * `translate`, plus what had to be dropped or replaced for this target (as data). `tls`: the
 * certificate files of TLS listeners, read by the caller (resolve/tls-files.ts), for their SDS
 * Secrets; Envoy nodes only. With a `memo` (unit-memo.ts: one per target, kept from version to
 * version), units whose model objects and inputs are unchanged are taken from the previous
 * translation: same output. Secrets are not memoized (few, and they read `tls`).
 */
export function translateWithWarnings(
  config: TetherConfig,
  endpoints: ResolvedEndpoints,
  target: NodeTarget,
  tls: TlsMaterial = NO_TLS,
  memo?: UnitMemo,
): TranslateResult {
  return runSteps(translateSteps(config, endpoints, target, tls, memo));
}

/**
 * translateWithWarnings as steps, a step per 16 services or backends of each pass: for a caller that
 * lets the event loop in between (the publisher: a whole config of 10,000 services is seconds).
 */
export function* translateSteps(
  config: TetherConfig,
  endpoints: ResolvedEndpoints,
  target: NodeTarget,
  tls: TlsMaterial = NO_TLS,
  memo?: UnitMemo,
): Steps<TranslateResult> {
  const kind = targetKind(target);
  const api = targetApi(target);
  const warnings = new Warnings();
  // Endpoint warnings (folded duplicates, hash keys) are reported last, after routes and clusters.
  const endpointWarnings = new Warnings();
  // The backends' passes read only the backends, their resolved endpoints and each other's
  // output: when those are all the same (an edit of services only), each pass is the last one.
  const backends = config.backends;
  const sourceOf = (b: { name: string }) => endpoints.get(b.name);
  const prepared = yield* passOf(memo, 'prepared', backends, sourceOf, [kind], endpointWarnings, (w) => prepareEndpoints(config, endpoints, kind, w, memo), endpoints);
  const assignments = yield* passOf(memo, 'assignment-names', backends, noItemDep, [kind, prepared], warnings, (w) => assignmentNames(config, prepared, kind, w, memo));
  const listeners = kind === 'grpc' ? yield* grpcListeners(config, memo) : envoyListeners(config, memo);
  const routes = kind === 'grpc' ? yield* grpcRouteConfigurations(config, warnings, api, memo) : yield* envoyRouteConfigurations(config, warnings, api, memo);
  const backendClusters = yield* passOf(memo, 'clusters', backends, noItemDep, [kind, prepared, assignments], warnings, (w) => clusters(config, prepared, kind, assignments, w, memo));
  const sticky = yield* stickyResources(config, prepared, kind, warnings, api, memo);
  yield;
  const resources: EnvoyResources = {
    listeners,
    routes,
    // Shared with the memo's next translation when nothing in them changed (unit-memo.ts
    // sorted): resource lists are never modified once built.
    clusters: sortedBy(memo, 'clusters', joinedOf(memo, 'clusters', [backendClusters, sticky.clusters, extProcClusters(config, kind)]), nameOf) as EnvoyResources['clusters'],
    endpoints: sortedBy(
      memo,
      'assignments',
      joinedOf(memo, 'assignments', [
        yield* passOf(memo, 'load-assignments', backends, noItemDep, [kind, prepared, assignments], warnings, (w) => loadAssignments(config, prepared, kind, assignments, w, memo)),
        sticky.endpoints,
      ]),
      clusterNameOf,
    ) as EnvoyResources['endpoints'],
  };
  if (kind === 'envoy') {
    const secrets = listenerSecrets(config.listeners, tls);
    if (secrets.length > 0) resources.secrets = secrets;
  }
  warnings.list.push(...endpointWarnings.list);
  return { resources, warnings: warnings.list };
}
