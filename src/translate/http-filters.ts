import type { ServiceSpec, TetherConfig } from '../model/types';
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import { pack } from '../envoy/encode';
import type { NodeKind } from '../model/node-targets';
import { ROUTER_FILTER, ROUTER_TYPE } from './names';
import { statefulSessionFilter } from './strong-session';
import { extProcFilter } from './ext-proc';

/** What a filter contributor may look at when deciding which filters an HCM gets. */
export interface HttpFilterContext {
  config: TetherConfig;
  kind: NodeKind;
  /** The services this HCM routes: those on the listener (Envoy), or the one service (gRPC). */
  services: readonly ServiceSpec[];
}

/**
 * A feature that needs an HTTP filter (stateful session, ext_proc, …) adds one contributor
 * here. Contributors run in this order and their filters go before the router, which must be
 * last (grpc-js-xds NACKs an HCM whose final filter is not the router). For gRPC nodes, return
 * nothing, or mark the filter `is_optional: true`: grpc-js-xds NACKs filters it does not know.
 */
export type HttpFilterContributor = (ctx: HttpFilterContext) => HttpFilter[];

// ext_proc first: it writes the session key and bucket headers and may clear the route cache,
// which every later filter that reads the route (stateful_session) must see.
const BEFORE_ROUTER: readonly HttpFilterContributor[] = [extProcFilter, statefulSessionFilter];

export function httpFilters(ctx: HttpFilterContext): HttpFilter[] {
  return [...BEFORE_ROUTER.flatMap((contribute) => contribute(ctx)), routerFilter()];
}

function routerFilter(): HttpFilter {
  return { name: ROUTER_FILTER, typed_config: pack(ROUTER_TYPE, {}) };
}
