import type { MirrorSpec } from '../model/types';
import type { _envoy_config_route_v3_RouteAction_RequestMirrorPolicy as RequestMirrorPolicy } from '../generated/envoy/config/route/v3/RouteAction';
import type { FractionalPercent } from '../generated/envoy/type/v3/FractionalPercent';
import type { NodeKind } from '../model/node-targets';
import type { Warnings } from './warnings';

/**
 * Shadow traffic: RouteAction.request_mirror_policies. Envoy sends a copy of the sampled
 * requests to the mirror's cluster, does not wait for (or return) its reply, and appends
 * `-shadow` to the copy's Host. A 0 % mirror stays in the config but is left out here.
 *
 * grpc-js-xds 1.14.1 neither reads nor rejects request_mirror_policies (nothing in its
 * resolver or route validation looks at them), so a gRPC client would silently not mirror:
 * they are left out for gRPC nodes, with a warning.
 */
export function mirrorPolicies(mirrors: readonly MirrorSpec[] | undefined, kind: NodeKind, warnings: Warnings, path: string): RequestMirrorPolicy[] {
  if (!mirrors || mirrors.length === 0) return [];
  if (kind === 'grpc') {
    warnings.add(`${path}.mirror`, 'gRPC clients do not mirror requests (grpc-js-xds ignores request_mirror_policies); left out');
    return [];
  }
  return mirrors
    .filter((m) => m.percent > 0)
    .map((m) => ({ cluster: m.backend, runtime_fraction: { default_value: fractionalPercent(m.percent) } }));
}

/** The coarsest denominator that holds `percent` (0–100, up to 4 decimals) exactly. */
export function fractionalPercent(percent: number): FractionalPercent {
  const hundredths = Math.round(percent * 100);
  if (Number.isInteger(percent)) return { numerator: percent, denominator: 'HUNDRED' };
  if (Math.abs(hundredths - percent * 100) < 1e-6) return { numerator: hundredths, denominator: 'TEN_THOUSAND' };
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}
