/**
 * Compile-time checks, run by `tsc` (part of `npm test`): each `@ts-expect-error` below must
 * find a real type error, or the build fails with "unused @ts-expect-error".
 */
import { pack } from '../../src/envoy/encode';
import type { Cluster } from '../../src/envoy/messages';

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
}
