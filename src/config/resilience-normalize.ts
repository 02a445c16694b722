import type { CircuitBreakersSpec, HealthCheckSpec, OutlierDetectionSpec, RetrySpec, SlowStartSpec, UpstreamTlsSpec } from '../model/resilience';
import type { RawCircuitBreakers, RawHealthCheck, RawOutlierDetection, RawRetries, RawSlowStart, RawUpstreamTls } from './resilience-schema';

/**
 * Defaults of the resilience fields (docs/resilience.md lists them). Envoy's own where it has
 * one, except where a sticky service needs better: a health check probes at its interval even
 * before the cluster has traffic, and retries go to another replica.
 */
export const RESILIENCE_DEFAULTS = {
  healthIntervalMs: 5_000,
  healthTimeoutMs: 1_000,
  unhealthyThreshold: 3,
  healthyThreshold: 1,
  expectedStatus: 200,
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  outlierIntervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  retryBudgetMinConcurrency: 3,
  slowStartAggression: 1,
  slowStartMinWeightPercent: 10,
  retryOn: ['connect-failure', 'refused-stream', 'reset', 'gateway-error'] as readonly string[],
  retryAttempts: 2,
  retryOtherHost: true,
  hostSelectionMaxAttempts: 5,
} as const;

const D = RESILIENCE_DEFAULTS;

export function healthCheckSpec(raw: RawHealthCheck): HealthCheckSpec {
  let probe: HealthCheckSpec['probe'];
  if (raw.http !== undefined) {
    const statuses = raw.http.expectedStatuses ?? [D.expectedStatus];
    probe = {
      kind: 'http',
      path: raw.http.path,
      ...(raw.http.host !== undefined ? { host: raw.http.host } : {}),
      expectedStatuses: [...new Set(statuses)].sort((a, b) => a - b).map((s) => ({ start: s, end: s + 1 })),
    };
  } else if (raw.grpc !== undefined) {
    probe = { kind: 'grpc', service: raw.grpc.service ?? '', ...(raw.grpc.authority !== undefined ? { authority: raw.grpc.authority } : {}) };
  } else {
    probe = { kind: 'tcp' };
  }
  const intervalMs = raw.interval ?? D.healthIntervalMs;
  const out: HealthCheckSpec = {
    probe,
    intervalMs,
    timeoutMs: raw.timeout ?? D.healthTimeoutMs,
    unhealthyThreshold: raw.unhealthyThreshold ?? D.unhealthyThreshold,
    healthyThreshold: raw.healthyThreshold ?? D.healthyThreshold,
    // Envoy probes an idle cluster only every 60 s; a sticky gateway's clusters are often idle
    // right after a config change, so the interval applies from the start unless told otherwise.
    noTrafficIntervalMs: raw.noTrafficInterval ?? intervalMs,
  };
  if (raw.jitter !== undefined && raw.jitter > 0) out.jitterMs = raw.jitter;
  return out;
}

export function outlierDetectionSpec(raw: RawOutlierDetection): OutlierDetectionSpec {
  const out: OutlierDetectionSpec = {
    consecutive5xxErrors: raw.consecutive5xxErrors ?? D.consecutive5xxErrors,
    consecutiveGatewayErrors: raw.consecutiveGatewayErrors ?? D.consecutiveGatewayErrors,
    intervalMs: raw.interval ?? D.outlierIntervalMs,
    baseEjectionTimeMs: raw.baseEjectionTime ?? D.baseEjectionTimeMs,
    maxEjectionPercent: raw.maxEjectionPercent ?? D.maxEjectionPercent,
  };
  if (raw.maxEjectionTime !== undefined) out.maxEjectionTimeMs = raw.maxEjectionTime;
  if (raw.failurePercentage !== undefined) {
    out.failurePercentage = {
      threshold: raw.failurePercentage.threshold,
      minimumHosts: raw.failurePercentage.minimumHosts ?? D.failurePercentageMinimumHosts,
      requestVolume: raw.failurePercentage.requestVolume ?? D.failurePercentageRequestVolume,
    };
  }
  return out;
}

export function circuitBreakersSpec(raw: RawCircuitBreakers): CircuitBreakersSpec {
  const out: CircuitBreakersSpec = {};
  if (raw.maxConnections !== undefined) out.maxConnections = raw.maxConnections;
  if (raw.maxPendingRequests !== undefined) out.maxPendingRequests = raw.maxPendingRequests;
  if (raw.maxRequests !== undefined) out.maxRequests = raw.maxRequests;
  if (raw.maxRetries !== undefined) out.maxRetries = raw.maxRetries;
  if (raw.retryBudget !== undefined) {
    out.retryBudget = { percent: raw.retryBudget.percent, minRetryConcurrency: raw.retryBudget.minRetryConcurrency ?? D.retryBudgetMinConcurrency };
  }
  return out;
}

export function slowStartSpec(raw: RawSlowStart): SlowStartSpec {
  return {
    windowMs: raw.window,
    aggression: raw.aggression ?? D.slowStartAggression,
    minWeightPercent: raw.minWeightPercent ?? D.slowStartMinWeightPercent,
  };
}

export function upstreamTlsSpec(raw: RawUpstreamTls): UpstreamTlsSpec {
  const out: UpstreamTlsSpec = { subjectAltNames: [...(raw.subjectAltNames ?? [])], alpn: [...(raw.alpn ?? [])] };
  if (raw.sni !== undefined) out.sni = raw.sni;
  if (raw.caFile !== undefined) out.caFile = raw.caFile;
  if (raw.certFile !== undefined) out.certFile = raw.certFile;
  if (raw.keyFile !== undefined) out.keyFile = raw.keyFile;
  return out;
}

export function retrySpec(raw: RawRetries): RetrySpec {
  const out: RetrySpec = {
    on: [...new Set(raw.retryOn ?? D.retryOn)],
    attempts: raw.attempts ?? D.retryAttempts,
    otherHost: raw.retryOtherHost ?? D.retryOtherHost,
    hostSelectionMaxAttempts: raw.hostSelectionMaxAttempts ?? D.hostSelectionMaxAttempts,
  };
  if (raw.perTryTimeout !== undefined) out.perTryTimeoutMs = raw.perTryTimeout;
  if (raw.backoff !== undefined) out.backoff = { baseMs: raw.backoff.baseInterval, maxMs: raw.backoff.maxInterval ?? raw.backoff.baseInterval * 10 };
  return out;
}
