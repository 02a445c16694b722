/**
 * A route's retries as RouteAction.retry_policy. Envoy: the conditions as written, a
 * per-try timeout, and (by default) the previous_hosts predicate, so a retry of a sticky
 * request goes to another replica: with a hashing balancer Envoy's retry walks the ring from
 * the session's entry (ring_hash_lb.cc: index + attempt), so it lands on the replica that
 * would serve the session if its own were gone — the fallback `tether explain` names.
 *
 * gRPC clients (grpc-js-xds, gRFC A44) retry only on gRPC status names and read retry_on,
 * num_retries and retry_back_off; a policy with no gRPC status among its conditions retries
 * nothing for them, which the warning says.
 */
import type { RetrySpec } from '../model/types';
import type { RetryPolicy } from '../generated/envoy/config/route/v3/RetryPolicy';
import { pack } from '../envoy/encode';
import { GRPC_RETRY_CONDITIONS } from '../model/resilience';
import type { NodeKind } from '../model/node-targets';
import { PREVIOUS_HOSTS_PREDICATE, PREVIOUS_HOSTS_TYPE } from './names';
import { durationFromMs } from './proto-values';
import type { Warnings } from './warnings';

const GRPC_CODES: readonly string[] = GRPC_RETRY_CONDITIONS;

export function retryPolicy(retries: RetrySpec, kind: NodeKind, warnings: Warnings, path: string): RetryPolicy | undefined {
  const backoff = retries.backoff ? { retry_back_off: { base_interval: durationFromMs(retries.backoff.baseMs), max_interval: durationFromMs(retries.backoff.maxMs) } } : {};
  if (kind === 'grpc') {
    const codes = retries.on.filter((c) => GRPC_CODES.includes(c));
    const other = retries.on.filter((c) => !GRPC_CODES.includes(c));
    if (codes.length === 0) {
      warnings.add(`${path}.retries`, `gRPC clients retry only on gRPC status names (${GRPC_CODES.join(', ')}), and retryOn lists none: no retries for them`);
      return undefined;
    }
    if (other.length > 0) warnings.add(`${path}.retries.retryOn`, `gRPC clients ignore ${other.join(', ')} (they retry on gRPC status names only)`);
    if (retries.perTryTimeoutMs !== undefined || retries.otherHost) {
      warnings.add(`${path}.retries`, 'gRPC clients have no per-try timeout or retry host predicate: their retries may reach the same replica');
    }
    return { retry_on: codes.join(','), num_retries: { value: retries.attempts }, ...backoff };
  }
  const out: RetryPolicy = { retry_on: retries.on.join(','), num_retries: { value: retries.attempts }, ...backoff };
  if (retries.perTryTimeoutMs !== undefined) out.per_try_timeout = durationFromMs(retries.perTryTimeoutMs);
  if (retries.otherHost) {
    out.retry_host_predicate = [{ name: PREVIOUS_HOSTS_PREDICATE, typed_config: pack(PREVIOUS_HOSTS_TYPE, {}) }];
    out.host_selection_retry_max_attempts = String(retries.hostSelectionMaxAttempts);
  }
  return out;
}
