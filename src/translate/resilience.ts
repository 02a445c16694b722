/**
 * The resilience parts of a backend's Cluster: active health checks, outlier detection,
 * circuit breakers, slow start, panic threshold and upstream TLS. Pure, per backend, so an
 * incremental translation can rebuild one cluster alone.
 *
 * What each kind of node does with them (grpc-js-xds 1.14, cluster-resource-type.js and
 * load-balancer-cds.js): gRPC clients run outlier detection (success rate and failure
 * percentage only, gRFC A50: consecutive-error ejection is Envoy's), read `max_requests` of the
 * DEFAULT circuit breaker thresholds and nothing else of them, never health-check by
 * themselves, and validate `transport_socket` against their own xDS credentials, so those
 * fields are left out for gRPC nodes, with a warning each.
 */
import type { BackendSpec, CircuitBreakersSpec, HealthCheckSpec, OutlierDetectionSpec, SlowStartSpec, UpstreamTlsSpec } from '../model/types';
import type { Cluster } from '../envoy/messages';
import type { HealthCheck } from '../generated/envoy/config/core/v3/HealthCheck';
import type { OutlierDetection } from '../generated/envoy/config/cluster/v3/OutlierDetection';
import type { CircuitBreakers } from '../generated/envoy/config/cluster/v3/CircuitBreakers';
import type { _envoy_config_cluster_v3_Cluster_SlowStartConfig as SlowStartConfig } from '../generated/envoy/config/cluster/v3/Cluster';
import type { UpstreamTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext';
import type { CommonTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext';
import { pack } from '../envoy/encode';
import type { NodeKind } from '../model/node-targets';
import { TLS_TRANSPORT_SOCKET, UPSTREAM_TLS_TYPE } from './names';
import { durationFromMs } from './proto-values';
import { backendPath, type Warnings } from './warnings';

export type ResilienceFields = Pick<Cluster, 'health_checks' | 'outlier_detection' | 'circuit_breakers' | 'transport_socket'>;

/** The Cluster fields a backend's resilience settings become for `kind`. */
export function resilienceFields(backend: BackendSpec, kind: NodeKind, warnings: Warnings): ResilienceFields {
  const at = backendPath(backend.name);
  const out: ResilienceFields = {};
  if (backend.healthCheck) {
    if (kind === 'envoy') out.health_checks = [healthCheck(backend.healthCheck)];
    else warnings.add(`${at}.healthCheck`, 'gRPC clients do not health-check endpoints themselves: left out (outlier detection works for them)');
  }
  if (backend.outlierDetection) {
    out.outlier_detection = outlierDetection(backend.outlierDetection, kind);
    const od = backend.outlierDetection;
    if (kind === 'grpc' && (od.consecutive5xxErrors > 0 || od.consecutiveGatewayErrors > 0)) {
      warnings.add(
        `${at}.outlierDetection`,
        'gRPC clients eject only on failurePercentage (and success rate), not on consecutive errors' +
          (od.failurePercentage ? '' : ': without failurePercentage they eject nothing'),
      );
    }
  }
  if (backend.circuitBreakers) {
    out.circuit_breakers = circuitBreakers(backend.circuitBreakers, kind);
    const cb = backend.circuitBreakers;
    if (kind === 'grpc' && (cb.maxConnections !== undefined || cb.maxPendingRequests !== undefined || cb.maxRetries !== undefined || cb.retryBudget !== undefined)) {
      warnings.add(`${at}.circuitBreakers`, 'gRPC clients honour only maxRequests; the other limits are left out');
    }
  }
  if (backend.tls) {
    if (kind === 'envoy') out.transport_socket = { name: TLS_TRANSPORT_SOCKET, typed_config: pack(UPSTREAM_TLS_TYPE, upstreamTls(backend.tls)) };
    else warnings.add(`${at}.tls`, "gRPC clients take TLS from their own channel credentials (xDS credentials): left out");
  }
  return out;
}

function healthCheck(hc: HealthCheckSpec): HealthCheck {
  const out: HealthCheck = {
    timeout: durationFromMs(hc.timeoutMs),
    interval: durationFromMs(hc.intervalMs),
    unhealthy_threshold: { value: hc.unhealthyThreshold },
    healthy_threshold: { value: hc.healthyThreshold },
  };
  if (hc.noTrafficIntervalMs !== undefined) out.no_traffic_interval = durationFromMs(hc.noTrafficIntervalMs);
  if (hc.jitterMs !== undefined) out.interval_jitter = durationFromMs(hc.jitterMs);
  const probe = hc.probe;
  switch (probe.kind) {
    case 'http':
      out.http_health_check = {
        path: probe.path,
        ...(probe.host !== undefined ? { host: probe.host } : {}),
        expected_statuses: probe.expectedStatuses.map((r) => ({ start: String(r.start), end: String(r.end) })),
      };
      break;
    case 'grpc':
      out.grpc_health_check = { service_name: probe.service, ...(probe.authority !== undefined ? { authority: probe.authority } : {}) };
      break;
    case 'tcp':
      out.tcp_health_check = {};
      break;
  }
  return out;
}

/**
 * Success-rate ejection is switched off explicitly: both clients enable it by default, and
 * with few replicas its statistics say nothing (it needs 5 hosts by default). A replica is
 * always ejectable, even when maxEjectionPercent of three replicas rounds down to none.
 */
function outlierDetection(od: OutlierDetectionSpec, kind: NodeKind): OutlierDetection {
  const out: OutlierDetection = {
    interval: durationFromMs(od.intervalMs),
    base_ejection_time: durationFromMs(od.baseEjectionTimeMs),
    max_ejection_percent: { value: od.maxEjectionPercent },
    enforcing_success_rate: { value: 0 },
  };
  if (od.maxEjectionTimeMs !== undefined) out.max_ejection_time = durationFromMs(od.maxEjectionTimeMs);
  if (kind === 'envoy') {
    out.always_eject_one_host = { value: true };
    if (od.consecutive5xxErrors > 0) out.consecutive_5xx = { value: od.consecutive5xxErrors };
    else out.enforcing_consecutive_5xx = { value: 0 };
    if (od.consecutiveGatewayErrors > 0) {
      out.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
      out.enforcing_consecutive_gateway_failure = { value: 100 };
    }
  }
  if (od.failurePercentage) {
    out.failure_percentage_threshold = { value: od.failurePercentage.threshold };
    out.enforcing_failure_percentage = { value: 100 };
    out.failure_percentage_minimum_hosts = { value: od.failurePercentage.minimumHosts };
    out.failure_percentage_request_volume = { value: od.failurePercentage.requestVolume };
  }
  return out;
}

function circuitBreakers(cb: CircuitBreakersSpec, kind: NodeKind): CircuitBreakers {
  const t: NonNullable<CircuitBreakers['thresholds']>[number] = { priority: 'DEFAULT' };
  if (cb.maxRequests !== undefined) t.max_requests = { value: cb.maxRequests };
  if (kind === 'envoy') {
    if (cb.maxConnections !== undefined) t.max_connections = { value: cb.maxConnections };
    if (cb.maxPendingRequests !== undefined) t.max_pending_requests = { value: cb.maxPendingRequests };
    if (cb.maxRetries !== undefined) t.max_retries = { value: cb.maxRetries };
    if (cb.retryBudget) {
      t.retry_budget = { budget_percent: { value: cb.retryBudget.percent }, min_retry_concurrency: { value: cb.retryBudget.minRetryConcurrency } };
    }
  }
  return { thresholds: [t] };
}

/** Envoy's slow_start_config for `backend` (runtime key named after the cluster, as Envoy requires one). */
export function slowStartConfig(backend: string, s: SlowStartSpec): SlowStartConfig {
  return {
    slow_start_window: durationFromMs(s.windowMs),
    aggression: { default_value: s.aggression, runtime_key: `upstream.${backend}.slow_start.aggression` },
    min_weight_percent: { value: s.minWeightPercent },
  };
}

function upstreamTls(tls: UpstreamTlsSpec): UpstreamTlsContext {
  const common: CommonTlsContext = {};
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    common.tls_certificates = [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }];
  }
  if (tls.caFile !== undefined) {
    common.validation_context = { trusted_ca: { filename: tls.caFile } };
    if (tls.subjectAltNames.length > 0) {
      common.validation_context.match_typed_subject_alt_names = tls.subjectAltNames.map((name) => ({
        san_type: isIpLiteral(name) ? 'IP_ADDRESS' : 'DNS',
        matcher: { exact: name },
      }));
    }
  }
  if (tls.alpn.length > 0) common.alpn_protocols = tls.alpn;
  return { ...(tls.sni !== undefined ? { sni: tls.sni } : {}), common_tls_context: common };
}

function isIpLiteral(name: string): boolean {
  return /^[0-9.]+$/.test(name) || name.includes(':');
}
