/**
 * Backend resilience and route retries in the file format: defaults filled in, and every
 * mistake named by its path (nothing half-applied).
 */
import { describe, expect, it } from 'vitest';
import { configOf, errorsOf, sticky } from './helpers';

type Loose = Record<string, any>;
const backendWith = (fields: Loose) => sticky((c) => Object.assign((c.backends as Loose[])[0]!, fields));
const routeWith = (fields: Loose) => sticky((c) => Object.assign((c.services as Loose[])[0]!.routes[0], fields));
const paths = (input: object) => errorsOf(input).map((e) => `${e.path}: ${e.message}`);

describe('backend resilience: defaults', () => {
  it('health check, outlier detection, circuit breakers, TLS and zones get their documented defaults', () => {
    const backend = configOf(
      backendWith({
        endpoints: [{ address: '10.0.0.1:8080', zone: 'a' }, { address: '10.0.0.2:8080', zone: 'b', priority: 1 }],
        healthCheck: { http: '/healthz' },
        outlierDetection: {},
        circuitBreakers: { retryBudget: { percent: 20 } },
        tls: { sni: 'shop.internal' },
      }),
    ).backends[0]!;
    expect(backend.healthCheck).toEqual({
      probe: { kind: 'http', path: '/healthz', expectedStatuses: [{ start: 200, end: 201 }] },
      intervalMs: 5000,
      timeoutMs: 1000,
      unhealthyThreshold: 3,
      healthyThreshold: 1,
      noTrafficIntervalMs: 5000,
    });
    expect(backend.outlierDetection).toEqual({ consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 });
    expect(backend.circuitBreakers).toEqual({ retryBudget: { percent: 20, minRetryConcurrency: 3 } });
    expect(backend.tls).toEqual({ sni: 'shop.internal', subjectAltNames: [], alpn: [] });
    expect(backend.endpoints.map((e) => [e.zone, e.priority])).toEqual([['a', undefined], ['b', 1]]);
  });

  it('retries: Istio-like defaults, another host for each retry', () => {
    expect(configOf(routeWith({ retries: {} })).services[0]!.routes[0]!.retries).toEqual({
      on: ['connect-failure', 'refused-stream', 'reset', 'gateway-error'],
      attempts: 2,
      otherHost: true,
      hostSelectionMaxAttempts: 5,
    });
  });

  it('a config without them keeps its exact model (no new keys)', () => {
    const backend = configOf(sticky()).backends[0]!;
    expect(Object.keys(backend).sort()).toEqual(['balancer', 'connectTimeoutMs', 'endpoints', 'name', 'protocol']);
  });
});

describe('backend resilience: mistakes are named', () => {
  it('a health check needs exactly one probe', () => {
    expect(paths(backendWith({ healthCheck: { interval: '1s' } }))).toEqual(['backends[0].healthCheck: a health check probe needs one of: http, grpc, tcp']);
    expect(paths(backendWith({ healthCheck: { http: '/h', tcp: true } }))).toEqual(['backends[0].healthCheck: a health check probe takes only one of http, grpc, tcp (found http and tcp)']);
    expect(paths(backendWith({ healthCheck: { http: 'healthz' } }))).toEqual(["backends[0].healthCheck.http.path: must start with '/'"]);
  });

  it('misspelled fields, bad numbers and durations', () => {
    expect(paths(backendWith({ outlierDetection: { consecutive5xx: 3 } }))[0]).toMatch(/^backends\[0\]\.outlierDetection: .*consecutive5xx/);
    expect(paths(backendWith({ outlierDetection: { maxEjectionPercent: 150 } }))).toEqual(['backends[0].outlierDetection.maxEjectionPercent: must be <= 100']);
    expect(paths(backendWith({ healthCheck: { tcp: true, timeout: '0s' } }))).toEqual(['backends[0].healthCheck.timeout: must be greater than 0']);
    expect(paths(backendWith({ circuitBreakers: {} }))).toEqual(['backends[0].circuitBreakers: must set at least one limit']);
    expect(paths(backendWith({ endpoints: [{ address: '10.0.0.1:8080', priority: -1 }] }))).toEqual(['backends[0].endpoints[0].priority: must be >= 0']);
  });

  it('TLS: a client certificate needs its key; names need a CA; paths are absolute', () => {
    expect(paths(backendWith({ tls: { certFile: '/c.pem' } }))).toEqual(['backends[0].tls.keyFile: certFile and keyFile go together (the client certificate for mTLS)']);
    expect(paths(backendWith({ tls: { subjectAltNames: ['x'] } }))).toEqual(['backends[0].tls.subjectAltNames: needs caFile (names are checked only on a verified certificate)']);
    expect(paths(backendWith({ tls: { caFile: 'ca.pem' } }))).toEqual(['backends[0].tls.caFile: must be an absolute path (Envoy reads it on its own host)']);
  });

  it('slow start on a hashing balancer is refused (Envoy has none there)', () => {
    expect(paths(backendWith({ balancer: { type: 'ring_hash' }, slowStart: { window: '30s' } }))).toEqual([
      'backends[0].slowStart: only applies to balancer round_robin or least_request (Envoy has no slow start for ring_hash)',
    ]);
  });

  it('retries: unknown conditions and a backoff that shrinks', () => {
    expect(paths(routeWith({ retries: { retryOn: ['5xx', 'bad-gateway'] } }))[0]).toMatch(/^services\[0\]\.routes\[0\]\.retries\.retryOn\[1\]: unknown retry condition "bad-gateway"/);
    expect(paths(routeWith({ retries: { backoff: { baseInterval: '1s', maxInterval: '100ms' } } }))).toEqual(['services[0].routes[0].retries.backoff.maxInterval: must be >= baseInterval']);
  });
});
