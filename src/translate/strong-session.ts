import type { ServiceSpec, StrongAffinitySpec } from '../model/types';
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import type { TypedExtensionConfig } from '../generated/envoy/config/core/v3/TypedExtensionConfig';
import { pack, type PackedAny } from '../envoy/encode';
import type { HttpFilterContext } from './types';
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
import type { TargetApi } from '../model/node-targets';
import type { CookieAttribute } from '../envoy/messages';
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

/**
 * Route.typed_per_filter_config for a route of `service` (Envoy), or undefined. `path` is the
 * service's warning path: an Envoy too old for the cookie's attributes gets the cookie without
 * them, and a warning (once per service: call it once per service).
 */
export function statefulSessionPerRoute(service: ServiceSpec, api: TargetApi, warnings: Warnings, path: string): Record<string, PackedAny> | undefined {
  const strong = service.affinity?.strong;
  if (!strong) return undefined;
  return {
    [STATEFUL_SESSION_FILTER]: pack(STATEFUL_SESSION_PER_ROUTE_TYPE, {
      stateful_session: { session_state: sessionState(strong.session, api, warnings, path), ...(strong.strict ? { strict: true } : {}) },
    }),
  };
}

const SAME_SITE: Readonly<Record<'strict' | 'lax' | 'none', string>> = { strict: 'Strict', lax: 'Lax', none: 'None' };

function sessionState(session: StrongAffinitySpec['session'], api: TargetApi, warnings: Warnings, path: string): TypedExtensionConfig {
  if (session.kind === 'header') {
    return { name: HEADER_SESSION_STATE, typed_config: pack(HEADER_SESSION_STATE_TYPE, { name: session.name }) };
  }
  // Envoy reads whole seconds of the ttl; no ttl (or 0) is a session cookie (no Max-Age).
  const cookie: { name: string; ttl?: ReturnType<typeof durationFromMs>; path?: string; attributes?: CookieAttribute[] } = { name: session.name };
  if (session.ttlMs !== undefined) cookie.ttl = durationFromMs(session.ttlMs);
  if (session.path !== undefined) cookie.path = session.path;
  const attributes: CookieAttribute[] = [];
  if (session.secure) attributes.push({ name: 'Secure' });
  if (session.sameSite !== undefined) attributes.push({ name: 'SameSite', value: SAME_SITE[session.sameSite] });
  if (attributes.length > 0 && api.features.sessionCookieAttributes) cookie.attributes = attributes;
  else if (attributes.length > 0) {
    const what = attributes.map((a) => (a.value ? `${a.name}=${a.value}` : a.name)).join(', ');
    warnings.add(`${path}.affinity.strong.cookie`, `${api.label} cannot set stateful-session cookie attributes (Envoy 1.35): these Envoys send ${session.name} without ${what}`);
  }
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
