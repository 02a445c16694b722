/**
 * Finding a service in the resources one kind of node is served, and naming the backends
 * behind an endpoint address.
 */
import { envoyAddress, splitHostPort } from '../affinity';
import { closest } from '../config/suggestions';
import type { RouteConfiguration__Output } from '../generated/envoy/config/route/v3/RouteConfiguration';
import type { VirtualHost__Output } from '../generated/envoy/config/route/v3/VirtualHost';
import type { NodeKind } from '../model/node-targets';
import type { ResolvedEndpoints } from '../model/resolved';
import { TetherError } from '../config/errors';
import type { WireResources } from './wire';

export interface ServedService {
  /** The RouteConfiguration holding the virtual host (Envoy: the listener's; gRPC: the service's). */
  routeConfig: string;
  virtualHost: VirtualHost__Output;
}

/**
 * The service's virtual host as `kind` sees it. gRPC nodes get one RouteConfiguration per
 * service, named after it; Envoy nodes get one per listener with a virtual host per service
 * there, alike but for the listener's client-address policy: `listener` names the one (its
 * RouteConfiguration carries its name), else the first (by name) is taken. Unknown → NOT_FOUND.
 */
export function servedService(resources: WireResources, service: string, kind: NodeKind, listener?: string): ServedService {
  const candidates: Array<{ config: RouteConfiguration__Output; vh: VirtualHost__Output }> = [];
  for (const config of resources.routes) {
    if (kind === 'grpc') {
      if (config.name === service && config.virtual_hosts[0]) candidates.push({ config, vh: config.virtual_hosts[0] });
      continue;
    }
    for (const vh of config.virtual_hosts) if (vh.name === service) candidates.push({ config, vh });
  }
  if (kind === 'envoy' && listener) {
    const on = candidates.find((c) => c.config.name === listener);
    if (on) return { routeConfig: on.config.name, virtualHost: on.vh };
    if (candidates.length > 0) {
      throw new TetherError('NOT_FOUND', `service '${service}' is not on listener '${listener}'; it is on ${candidates.map((c) => `'${c.config.name}'`).join(', ')}`);
    }
  }
  const found = candidates[0];
  if (found) return { routeConfig: found.config.name, virtualHost: found.vh };
  const known = [...new Set(kind === 'grpc' ? resources.routes.map((r) => r.name) : resources.routes.flatMap((r) => r.virtual_hosts.map((v) => v.name)))];
  const near = closest(service, known);
  throw new TetherError(
    'NOT_FOUND',
    `service '${service}' is not served to ${kind} nodes${near ? `; did you mean '${near}'?` : ''}` +
      (kind === 'envoy' ? ' (Envoy nodes see the services on a listener)' : ''),
  );
}

/** Endpoint address ("ip:port") → the backends that list it. */
export type EndpointOwners = (address: string) => string[];

const canonical = (address: string): string => {
  const parsed = splitHostPort(address);
  return parsed?.port === undefined ? address : envoyAddress(parsed.ip, parsed.port);
};

/** Owners from a config's resolved endpoints (backend → endpoints). */
export function endpointOwners(endpoints: ResolvedEndpoints): EndpointOwners {
  const owners = new Map<string, string[]>();
  for (const [backend, list] of endpoints) addOwners(owners, backend, list);
  return ownersLookup(owners);
}

/**
 * endpointOwners with `turn()` awaited between backends (10,000 backends: 60–280 ms in one
 * go), for callers on the event loop; `turn` decides when to actually yield.
 */
export async function endpointOwnersInTurns(endpoints: ResolvedEndpoints, turn: () => Promise<void>): Promise<EndpointOwners> {
  const owners = new Map<string, string[]>();
  for (const [backend, list] of endpoints) {
    addOwners(owners, backend, list);
    await turn();
  }
  return ownersLookup(owners);
}

/**
 * The keys are canonical (envoyAddress), and so are the addresses a balancer hands back: those
 * are found as they are; only another spelling (a caller's `[0:0::1]:80`) is parsed. A pick's
 * shares name every endpoint of the cluster: 2,000 parses were half of Explain's hold on a
 * 2,000-endpoint ring. Same answer either way (canonical() of a canonical key is the key).
 */
function ownersLookup(owners: ReadonlyMap<string, string[]>): EndpointOwners {
  return (address) => owners.get(address) ?? owners.get(canonical(address)) ?? [];
}

function addOwners(owners: Map<string, string[]>, backend: string, list: ResolvedEndpoints extends ReadonlyMap<string, infer L> ? L : never): void {
  for (const e of list) {
    const key = envoyAddress(e.ip, e.port);
    const names = owners.get(key) ?? [];
    if (!names.includes(backend)) names.push(backend);
    owners.set(key, names);
  }
}
