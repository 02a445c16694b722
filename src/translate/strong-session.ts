import type { ServiceSpec, StrongAffinitySpec } from '../model/types';
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import type { TypedExtensionConfig } from '../generated/envoy/config/core/v3/TypedExtensionConfig';
import { pack, type PackedAny } from '../envoy/encode';
import type { HttpFilterContext } from './http-filters';
import {
  COOKIE_SESSION_STATE,
  COOKIE_SESSION_STATE_TYPE,
  HEADER_SESSION_STATE,
  HEADER_SESSION_STATE_TYPE,
  STATEFUL_SESSION_FILTER,
  STATEFUL_SESSION_PER_ROUTE_TYPE,
  STATEFUL_SESSION_TYPE,
} from './names';
import { durationFromMs } from './proto-values';
import type { Warnings } from './warnings';

/**
 * Strong stickiness: Envoy's stateful_session filter. On a response Envoy records the upstream
 * address in a cookie (Set-Cookie, HttpOnly, base64) or a response header; a request carrying
 * it goes to that address whatever the hash says, so scaling moves no pinned session. A gone
 * (or drained) replica: `strict` → 503, otherwise normal balancing and a new pin.
 *
 * The listener gets the filter with an empty StatefulSession, which Envoy treats as disabled;
 * each route of a service that asks for it enables it with its own session state through
 * typed_per_filter_config. So one listener can serve services with and without it, and a
 * listener with none gets no filter at all.
 *
 * gRPC nodes never get it: grpc-js-xds NACKs a listener with a stateful_session filter it
 * does not implement (only an `is_optional` one would be skipped), and there is nothing it
 * could do with it.
 */

/** The HTTP filter contributor (http-filters.ts): present only where some service uses it. */
export function statefulSessionFilter(ctx: HttpFilterContext): HttpFilter[] {
  if (ctx.kind !== 'envoy' || !ctx.services.some((s) => s.affinity?.strong !== undefined)) return [];
  return [{ name: STATEFUL_SESSION_FILTER, typed_config: pack(STATEFUL_SESSION_TYPE, {}) }];
}

/** Route.typed_per_filter_config for a route of `service` (Envoy), or undefined. */
export function statefulSessionPerRoute(service: ServiceSpec): Record<string, PackedAny> | undefined {
  const strong = service.affinity?.strong;
  if (!strong) return undefined;
  return {
    [STATEFUL_SESSION_FILTER]: pack(STATEFUL_SESSION_PER_ROUTE_TYPE, {
      stateful_session: { session_state: sessionState(strong.session), ...(strong.strict ? { strict: true } : {}) },
    }),
  };
}

function sessionState(session: StrongAffinitySpec['session']): TypedExtensionConfig {
  if (session.kind === 'header') {
    return { name: HEADER_SESSION_STATE, typed_config: pack(HEADER_SESSION_STATE_TYPE, { name: session.name }) };
  }
  // Envoy reads whole seconds of the ttl; no ttl (or 0) is a session cookie (no Max-Age).
  const cookie: { name: string; ttl?: ReturnType<typeof durationFromMs>; path?: string } = { name: session.name };
  if (session.ttlMs !== undefined) cookie.ttl = durationFromMs(session.ttlMs);
  if (session.path !== undefined) cookie.path = session.path;
  return { name: COOKIE_SESSION_STATE, typed_config: pack(COOKIE_SESSION_STATE_TYPE, { cookie }) };
}

/** gRPC: one warning per service that asks for strong stickiness. */
export function warnGrpcStrong(service: ServiceSpec, warnings: Warnings, path: string): void {
  if (!service.affinity?.strong) return;
  warnings.add(
    `${path}.affinity.strong`,
    'gRPC clients have no stateful sessions (grpc-js-xds NACKs a stateful_session filter); left out: the affinity keys alone pick the replica',
  );
}
