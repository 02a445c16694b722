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
import { routePath, servicePath, Warnings } from './warnings';
import { changedPositions, mapOf, nameOf, sortedBy, unitOf, type UnitMemo } from './unit-memo';
import type { TranslateWarning } from './types';
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
 * What envoyVirtualHosts kept of one listener's pass (memo slot): the services it read, and per
 * position the virtual host it made (index into `hosts`, -1: none) and its warnings, the ones
 * about domains first (`domainWarnings` of them).
 */
interface PositionWarnings {
  readonly warnings: readonly TranslateWarning[];
  readonly domainWarnings: number;
}

interface HostPass {
  readonly listener: ListenerSpec;
  readonly services: readonly ServiceSpec[];
  readonly extProc: boolean;
  readonly hosts: readonly VirtualHost[];
  readonly hostAt: Int32Array;
  readonly warned: ReadonlyMap<number, PositionWarnings>;
  readonly warnings: readonly TranslateWarning[];
}

/**
 * Envoy rejects a RouteConfiguration in which a domain (case-insensitively) appears twice.
 * Validation should prevent that; should it reach here anyway, the service listed first in
 * the config keeps the domain, later ones lose it with a warning, and a service left with no
 * domain gets no virtual host (Envoy needs at least one domain) — never silently.
 *
 * With a memo, an edit that changes a few services in place without touching their names,
 * domains, listeners or session keys (so no domain changes owner and the listener's ext_proc
 * stays) rebuilds only their virtual hosts: the last pass's hosts and warnings are kept for
 * the rest (patchedHosts). Otherwise every service is read again (units still memoized).
 */
function* envoyVirtualHosts(listener: ListenerSpec, services: ServiceSpec[], warnings: Warnings, api: TargetApi, memo?: UnitMemo): Steps<VirtualHost[]> {
  const family = `vhosts\n${listener.name}`;
  const before = memo?.slot<HostPass>(family);
  // The pass reads only the listener's name, which is in the slot's name.
  const patched = memo && before ? patchedHosts(before, services, memo, family, api) : undefined;
  if (patched) {
    warnings.list.push(...patched.warnings);
    return patched.hosts as VirtualHost[];
  }
  const claimedBy = new Map<string, string>();
  const hosts: VirtualHost[] = [];
  const hostAt = new Int32Array(services.length).fill(-1);
  const warned = new Map<number, PositionWarnings>();
  const own = new Warnings();
  // The listener's HCM has the ext_proc filter iff a service on it has a sessionKey (ext-proc.ts).
  const extProc = services.some((s) => s.listeners.includes(listener.name) && hasSessionKey(s));
  for (let i = 0; i < services.length; i++) {
    const service = services[i]!;
    if (!service.listeners.includes(listener.name)) continue;
    const from = own.list.length;
    const domains: string[] = [];
    for (const domain of service.domains) {
      const key = domain.toLowerCase();
      const owner = claimedBy.get(key);
      if (owner === undefined) {
        claimedBy.set(key, service.name);
        domains.push(domain);
      } else if (owner !== service.name) {
        own.add(`${servicePath(service.name)}.domains`, `domain "${domain}" on listener ${listener.name} already belongs to service ${owner}; left out`);
      }
      // owner === service.name: a repeat within the service, dropped (same meaning).
    }
    const domainWarnings = own.list.length - from;
    if (domains.length === 0) {
      own.add(servicePath(service.name), `no domain left on listener ${listener.name}; virtual host left out`);
    } else {
      hostAt[i] = hosts.length;
      hosts.push(virtualHost(service, domains, extProc, own, api, memo, listener));
    }
    if (own.list.length > from) warned.set(i, { warnings: own.list.slice(from), domainWarnings });
    if (stepDue()) yield;
  }
  memo?.setSlot(family, { listener, services, extProc, hosts, hostAt, warned, warnings: own.list } satisfies HostPass);
  warnings.list.push(...own.list);
  return hosts;
}

function virtualHost(service: ServiceSpec, domains: string[], extProc: boolean, warnings: Warnings, api: TargetApi, memo: UnitMemo | undefined, listener: ListenerSpec): VirtualHost {
  return unitOf(memo, `vhost\n${listener.name}`, service, [domains.join('\n'), extProc], warnings, (w) => ({
    name: service.name,
    domains,
    routes: routes(service, 'envoy', w, api, extProc),
  }));
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** envoyVirtualHosts from its last pass, when only services that claim the same domains changed (see there); else undefined. */
function patchedHosts(before: HostPass, services: readonly ServiceSpec[], memo: UnitMemo, family: string, api: TargetApi): HostPass | undefined {
  const changed = changedPositions(before.services, services);
  if (!changed) return undefined;
  for (const i of changed) {
    const was = before.services[i]!;
    const is = services[i]!;
    if (was.name !== is.name || !sameStrings(was.listeners, is.listeners) || !sameStrings(was.domains, is.domains) || hasSessionKey(was) !== hasSessionKey(is)) return undefined;
  }
  let hosts = before.hosts;
  let warned = before.warned;
  let warnedChanged = false;
  for (const i of changed) {
    const h = before.hostAt[i]!;
    if (h < 0) continue; // not on this listener, or no domain left: the same as before
    const previous = warned.get(i);
    const w = new Warnings();
    if (previous) w.list.push(...previous.warnings.slice(0, previous.domainWarnings));
    const host = virtualHost(services[i]!, before.hosts[h]!.domains as string[], before.extProc, w, api, memo, before.listener);
    if (hosts === before.hosts) hosts = [...before.hosts];
    (hosts as VirtualHost[])[h] = host;
    if (w.list.length > 0 || previous) {
      if (!warnedChanged) warned = new Map(warned);
      warnedChanged = true;
      if (w.list.length > 0) (warned as Map<number, PositionWarnings>).set(i, { warnings: w.list, domainWarnings: previous?.domainWarnings ?? 0 });
      else (warned as Map<number, PositionWarnings>).delete(i);
    }
  }
  let warnings = before.warnings;
  if (warnedChanged) {
    const flat: TranslateWarning[] = [];
    for (const i of [...warned.keys()].sort((a, b) => a - b)) flat.push(...warned.get(i)!.warnings);
    warnings = flat;
  }
  const next: HostPass = { ...before, services, hosts, warned, warnings };
  memo.setSlot(family, next);
  return next;
}

/**
 * gRPC: one RouteConfiguration per service, named after it, with a single `*` virtual host
 * (the client looks up the host of `xds:///<service>`; `*` matches whatever it dials).
 */
export function* grpcRouteConfigurations(config: TetherConfig, warnings: Warnings, api: TargetApi, memo?: UnitMemo): Steps<RouteConfiguration[]> {
  // Position by position (UnitMemo.map): a one-route edit reads the edited service only.
  const out = yield* mapOf(memo, 'grpc-route-configurations', sortedBy(memo, 'services', config.services, nameOf), [api.features, api.label], warnings, (service, pw) =>
    unitOf(memo, 'grpc-routes', service, [], pw, (w) => {
      warnGrpcAffinity(service.affinity, w, servicePath(service.name));
      warnGrpcStrong(service, w, servicePath(service.name));
      warnGrpcSessionKey(service, w, servicePath(service.name));
      return {
        name: service.name,
        virtual_hosts: [{ name: service.name, domains: ['*'], routes: routes(service, 'grpc', w, api) }],
      };
    }),
  );
  return out as RouteConfiguration[];
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
