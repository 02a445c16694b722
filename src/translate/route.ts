import type { ListenerSpec, ServiceSpec, TetherConfig } from '../model/types';
import type { RouteConfiguration } from '../envoy/messages';
import type { Route } from '../generated/envoy/config/route/v3/Route';
import type { VirtualHost } from '../generated/envoy/config/route/v3/VirtualHost';
import type { NodeKind, TargetApi } from '../model/node-targets';
import { routeMatch } from './header-match';
import { warnGrpcAffinity } from './hash-policy';
import { byName } from './proto-values';
import { routeAction } from './route-action';
import { statefulSessionPerRoute, warnGrpcStrong } from './strong-session';
import { extProcPerRoute, hasSessionKey, warnGrpcSessionKey } from './ext-proc';
import { routePath, servicePath, type Warnings } from './warnings';
import { nameOf, sortedBy, unitOf, type UnitMemo } from './unit-memo';
import { stepDue, type Steps } from '../util/steps';

/**
 * Envoy: one RouteConfiguration per listener, named after it (the HCM's RDS
 * route_config_name), with a virtual host per service that listens there.
 */
export function* envoyRouteConfigurations(config: TetherConfig, warnings: Warnings, api: TargetApi, memo?: UnitMemo): Steps<RouteConfiguration[]> {
  const out: RouteConfiguration[] = [];
  for (const listener of [...config.listeners].sort(byName)) {
    out.push({
      name: listener.name,
      virtual_hosts: yield* envoyVirtualHosts(listener, config.services, warnings, api, memo),
      // Clusters arrive by CDS before routes (make-before-break); Envoy must not reject a
      // route table over a cluster it is still warming.
      validate_clusters: { value: false },
    });
  }
  return out;
}

/**
 * Envoy rejects a RouteConfiguration in which a domain (case-insensitively) appears twice.
 * Validation should prevent that; should it reach here anyway, the service listed first in
 * the config keeps the domain, later ones lose it with a warning, and a service left with no
 * domain gets no virtual host (Envoy needs at least one domain) — never silently.
 */
function* envoyVirtualHosts(listener: ListenerSpec, services: ServiceSpec[], warnings: Warnings, api: TargetApi, memo?: UnitMemo): Steps<VirtualHost[]> {
  const claimedBy = new Map<string, string>();
  const hosts: VirtualHost[] = [];
  // The listener's HCM has the ext_proc filter iff a service on it has a sessionKey (ext-proc.ts).
  const extProc = services.some((s) => s.listeners.includes(listener.name) && hasSessionKey(s));
  for (const service of services) {
    if (!service.listeners.includes(listener.name)) continue;
    const domains: string[] = [];
    for (const domain of service.domains) {
      const key = domain.toLowerCase();
      const owner = claimedBy.get(key);
      if (owner === undefined) {
        claimedBy.set(key, service.name);
        domains.push(domain);
      } else if (owner !== service.name) {
        warnings.add(`${servicePath(service.name)}.domains`, `domain "${domain}" on listener ${listener.name} already belongs to service ${owner}; left out`);
      }
      // owner === service.name: a repeat within the service, dropped (same meaning).
    }
    if (domains.length === 0) {
      warnings.add(servicePath(service.name), `no domain left on listener ${listener.name}; virtual host left out`);
      continue;
    }
    hosts.push(
      unitOf(memo, `vhost\n${listener.name}`, service, [domains.join('\n'), extProc], warnings, (w) => ({
        name: service.name,
        domains,
        routes: routes(service, 'envoy', w, api, extProc),
      })),
    );
    if (stepDue()) yield;
  }
  return hosts;
}

/**
 * gRPC: one RouteConfiguration per service, named after it, with a single `*` virtual host
 * (the client looks up the host of `xds:///<service>`; `*` matches whatever it dials).
 */
export function* grpcRouteConfigurations(config: TetherConfig, warnings: Warnings, api: TargetApi, memo?: UnitMemo): Steps<RouteConfiguration[]> {
  const out: RouteConfiguration[] = [];
  for (const service of sortedBy(memo, 'services', config.services, nameOf)) {
    out.push(
      unitOf(memo, 'grpc-routes', service, [], warnings, (w) => {
        warnGrpcAffinity(service.affinity, w, servicePath(service.name));
        warnGrpcStrong(service, w, servicePath(service.name));
        warnGrpcSessionKey(service, w, servicePath(service.name));
        return {
          name: service.name,
          virtual_hosts: [{ name: service.name, domains: ['*'], routes: routes(service, 'grpc', w, api) }],
        };
      }),
    );
    if (stepDue()) yield;
  }
  return out;
}

/** A service's routes in model order (first match wins). */
function routes(service: ServiceSpec, kind: NodeKind, warnings: Warnings, api: TargetApi, listenerHasExtProc = false): Route[] {
  const out: Route[] = [];
  const sessions = kind === 'envoy' ? statefulSessionPerRoute(service, api, warnings, servicePath(service.name)) : undefined;
  const extProc = kind === 'envoy' ? extProcPerRoute(service, listenerHasExtProc) : undefined;
  const perFilter = sessions || extProc ? { ...extProc, ...sessions } : undefined;
  for (const spec of service.routes) {
    const path = routePath(service.name, spec.name);
    if (kind === 'grpc' && spec.match.queryParams.length > 0) {
      // gRFC A28: a route with query_parameters never matches on gRPC (there is no query
      // string), so it is ignored. grpc-js-xds 1.14 does not implement that: route.js
      // (getPredicateForMatcher) skips query_parameters and would match the route for every
      // RPC. Leaving the route out gives the specified behaviour on every gRPC client.
      warnings.add(`${path}.match.queryParams`, 'gRPC requests have no query string: route left out for gRPC clients');
      continue;
    }
    const built = routeAction(service, spec, kind, warnings, path, api);
    if (!built) continue;
    if (sessions && spec.stickySplit === undefined && built.action.weighted_clusters && service.affinity?.strong?.strict) {
      // The pinned replica belongs to one backend; a random pick of another one cannot reach it.
      warnings.add(
        path,
        'strict strong stickiness with a random weighted split: a request sent to a backend other than the one its session is ' +
          'pinned to gets 503; use stickySplit, or strict: false',
      );
    }
    out.push({
      name: spec.name,
      match: routeMatch(spec.match, { queryParams: kind === 'envoy', groupAlternations: kind === 'grpc' }),
      route: built.action,
      ...built.headers,
      ...(perFilter ? { typed_per_filter_config: perFilter } : {}),
    });
  }
  return out;
}
