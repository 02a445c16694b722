/**
 * Compile-time checks, run by `tsc` (part of `npm test`): each `@ts-expect-error` below must
 * find a real type error, or the build fails with "unused @ts-expect-error".
 */
import { pack } from '../../src/envoy/encode';
import type { Cluster } from '../../src/envoy/messages';
import type { WeightedCluster } from '../../src/generated/envoy/config/route/v3/WeightedCluster';

export function misspelledFieldsDoNotCompile(): void {
  // @ts-expect-error `stat_prefixx` is not a field of HttpConnectionManager.
  pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', { stat_prefixx: 'x' });

  const cluster: Cluster = {
    name: 'c',
    // @ts-expect-error `RINGHASH` is not a Cluster.LbPolicy.
    lb_policy: 'RINGHASH',
  };
  void cluster;

  // @ts-expect-error unknown message names are refused.
  pack('envoy.extensions.filters.http.router.v3.Routr', {});

  // Fields added from newer Envoys (src/envoy/newer-api-types.ts) are typed too.
  // @ts-expect-error use_hash_policy is a BoolValue, not a boolean.
  const wc: WeightedCluster = { use_hash_policy: true };
  void wc;
  pack('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', {
    // @ts-expect-error a CookieAttribute has name and value, not key.
    cookie: { name: 'p', attributes: [{ key: 'Secure' }] },
  });
}
