import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import { pack } from '../envoy/encode';
import { ROUTER_FILTER, ROUTER_TYPE } from './names';
import { statefulSessionFilter } from './strong-session';
import { extProcFilter } from './ext-proc';
import type { HttpFilterContext, HttpFilterContributor } from './types';

// Declared in types.ts, which the contributors import (importing this file would be a cycle).
export type { HttpFilterContext, HttpFilterContributor } from './types';

// ext_proc first: it writes the session key and bucket headers and may clear the route cache,
// which every later filter that reads the route (stateful_session) must see.
const BEFORE_ROUTER: readonly HttpFilterContributor[] = [extProcFilter, statefulSessionFilter];

export function httpFilters(ctx: HttpFilterContext): HttpFilter[] {
  return [...BEFORE_ROUTER.flatMap((contribute) => contribute(ctx)), routerFilter()];
}

function routerFilter(): HttpFilter {
  return { name: ROUTER_FILTER, typed_config: pack(ROUTER_TYPE, {}) };
}
