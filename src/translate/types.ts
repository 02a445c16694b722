import type { EnvoyResources } from '../envoy/resources';
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import type { NodeKind } from '../model/node-targets';
import type { ServiceSpec, TetherConfig } from '../model/types';

/**
 * Something the translation had to drop or change because a kind of node cannot express it
 * (mostly proxyless gRPC), or because the input could not be emitted as given. Data, not logs:
 * translate/ stays pure; callers decide whether to log, surface or ignore these.
 */
export interface TranslateWarning {
  /** Where in the model, e.g. `services[shop].routes[canary].match.queryParams`. */
  path: string;
  message: string;
}

export interface TranslateResult {
  resources: EnvoyResources;
  /** In a stable order (model order), so two runs on the same input give equal lists. */
  warnings: TranslateWarning[];
}

/** What a filter contributor may look at when deciding which filters an HCM gets. */
export interface HttpFilterContext {
  config: TetherConfig;
  kind: NodeKind;
  /** The services this HCM routes: those on the listener (Envoy), or the one service (gRPC). */
  services: readonly ServiceSpec[];
}

/**
 * A feature that needs an HTTP filter (stateful session, ext_proc, …) adds one contributor
 * to http-filters.ts's list. Contributors run in that order and their filters go before the router, which must be
 * last (grpc-js-xds NACKs an HCM whose final filter is not the router). For gRPC nodes, return
 * nothing, or mark the filter `is_optional: true`: grpc-js-xds NACKs filters it does not know.
 */
export type HttpFilterContributor = (ctx: HttpFilterContext) => HttpFilter[];
