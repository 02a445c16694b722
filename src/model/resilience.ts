/**
 * Backend resilience in the model: how clients notice a failed replica (active health checks,
 * outlier detection), how much they send it (circuit breakers, slow start), how they reach it
 * (upstream TLS) and, per route, how they retry. Durations are milliseconds; every default is
 * filled in by config/normalize.ts (config/resilience-schema.ts documents them).
 */

/** What Envoy can retry on (router retry_on), and the gRPC status names both Envoy and gRPC clients read. */
export const HTTP_RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'envoy-ratelimited',
  'http3-post-connect-failure',
] as const;
export const GRPC_RETRY_CONDITIONS = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;

/** Active health checking: Envoy probes every endpoint itself (gRPC clients do not). */
export interface HealthCheckSpec {
  probe:
    | { kind: 'http'; path: string; host?: string; expectedStatuses: Array<{ start: number; end: number }> }
    | { kind: 'grpc'; service: string; authority?: string }
    | { kind: 'tcp' };
  intervalMs: number;
  timeoutMs: number;
  /** Failed probes in a row before an endpoint is marked unhealthy. */
  unhealthyThreshold: number;
  /** Passed probes in a row before it is healthy again. */
  healthyThreshold: number;
  /** Probe interval when the cluster has had no traffic (Envoy's no_traffic_interval); absent → Envoy's 60 s. */
  noTrafficIntervalMs?: number;
  /** Interval jitter (Envoy's interval_jitter); absent → none. */
  jitterMs?: number;
}

/** Passive failure detection (Envoy's and gRPC's outlier detection). */
export interface OutlierDetectionSpec {
  /** Consecutive 5xx responses (and local failures) that eject; 0 disables. */
  consecutive5xxErrors: number;
  /** Consecutive 502/503/504 and connection failures that eject; 0 disables. */
  consecutiveGatewayErrors: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  /** Longest ejection; absent → Envoy's and gRPC's default (300 s or base, whichever is larger). */
  maxEjectionTimeMs?: number;
  maxEjectionPercent: number;
  /** Failure-percentage ejection (the kind gRPC clients run too); absent → off. */
  failurePercentage?: { threshold: number; minimumHosts: number; requestVolume: number };
}

export interface CircuitBreakersSpec {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
  /** Retries allowed as a share of active requests (Envoy's retry_budget). */
  retryBudget?: { percent: number; minRetryConcurrency: number };
}

/** Envoy's slow start (round_robin and least_request balancers only). */
export interface SlowStartSpec {
  windowMs: number;
  aggression: number;
  minWeightPercent: number;
}

/** TLS from Envoy to the replicas (files are read by Envoy, on its host). */
export interface UpstreamTlsSpec {
  sni?: string;
  /** Verify the replica's certificate against this CA bundle; absent → no verification. */
  caFile?: string;
  /** Names the replica's certificate must carry (SAN DNS or IP); empty → any the CA signed. */
  subjectAltNames: string[];
  /** Client certificate and key for mTLS to the replicas. */
  certFile?: string;
  keyFile?: string;
  alpn: string[];
}

/** Per-route retries. */
export interface RetrySpec {
  /** Envoy retry_on conditions (5xx, gateway-error, reset, connect-failure, ..., gRPC status names). */
  on: string[];
  attempts: number;
  perTryTimeoutMs?: number;
  /** Retry on another replica than the ones tried (previous_hosts predicate). */
  otherHost: boolean;
  /** How many times Envoy re-picks a host to find one not tried yet. */
  hostSelectionMaxAttempts: number;
  backoff?: { baseMs: number; maxMs: number };
}
