import type { AffinityKey, AffinitySpec } from '../model/types';
import type { _envoy_config_route_v3_RouteAction_HashPolicy as HashPolicy } from '../generated/envoy/config/route/v3/RouteAction';
import type { NodeKind } from '../model/node-targets';
import { durationFromMs } from './proto-values';
import type { Warnings } from './warnings';

/**
 * The session key of a sticky service, as RouteAction.hash_policy, keys in the model's order.
 * Envoy folds every policy that yields a value into one hash (`terminal` stops at the first
 * hit); no value at all means a random pick.
 *
 * gRPC nodes get the header keys only: grpc-js-xds (resolver-xds.js, handleXdsConfig) keeps
 * `header` policies (and filter_state io.grpc.channel_id) and silently skips the rest, so
 * emitting cookie/source-ip/query policies would only suggest an affinity gRPC does not have.
 */
export function hashPolicies(affinity: AffinitySpec | undefined, kind: NodeKind): HashPolicy[] {
  if (!affinity) return [];
  const keys = kind === 'grpc' ? affinity.keys.filter((k) => k.kind === 'header') : affinity.keys;
  return keys.map(hashPolicy);
}

function hashPolicy(key: AffinityKey): HashPolicy {
  const terminal = key.terminal ? { terminal: true } : {};
  switch (key.kind) {
    case 'header':
      return { header: { header_name: key.name }, ...terminal };
    case 'cookie': {
      // With a ttl (0 included: a session cookie) Envoy sets the cookie when it is missing;
      // without one it only hashes a cookie the client already has.
      const cookie: NonNullable<HashPolicy['cookie']> = { name: key.name };
      if (key.ttlMs !== undefined) cookie.ttl = durationFromMs(key.ttlMs);
      if (key.path !== undefined && key.path !== '') cookie.path = key.path;
      return { cookie, ...terminal };
    }
    case 'clientIp':
      return { connection_properties: { source_ip: true }, ...terminal };
    case 'queryParameter':
      return { query_parameter: { name: key.name }, ...terminal };
  }
}

/** Warns (once per service) about the affinity keys a gRPC node cannot use. */
export function warnGrpcAffinity(affinity: AffinitySpec | undefined, warnings: Warnings, path: string): void {
  if (!affinity) return;
  const dropped = affinity.keys.filter((k) => k.kind !== 'header').map((k) => k.kind);
  if (dropped.length === 0) return;
  const kept = affinity.keys.length - dropped.length;
  warnings.add(
    `${path}.affinity`,
    `gRPC clients hash on headers only; ${[...new Set(dropped)].join(', ')} key(s) left out` +
      (kept === 0 ? ': gRPC picks are not sticky for this service' : ''),
  );
}
