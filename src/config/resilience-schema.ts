import { z } from 'zod';
import { ALWAYS, duration, exactlyOne, nonEmptyString } from './schema-primitives';
import { GRPC_RETRY_CONDITIONS, HTTP_RETRY_CONDITIONS } from '../model/resilience';

/**
 * Backend resilience and route retries in the file format, worded after Istio's
 * DestinationRule (outlierDetection, connectionPool, tls) and Envoy Gateway's
 * BackendTrafficPolicy (healthCheck, circuitBreaker, retry). Defaults are filled in by
 * resilience-normalize.ts and listed in docs/resilience.md.
 */

const count = (min: number, max = 0xffffffff) =>
  z.int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);
const percent = z.number().min(0, 'must be >= 0').max(100, 'must be <= 100');

const statusCode = z.int().min(100, 'must be an HTTP status from 100 to 599').max(599, 'must be an HTTP status from 100 to 599');

const httpProbe = z.preprocess(
  (v) => (typeof v === 'string' ? { path: v } : v),
  z.strictObject({
    path: z.string().refine((p) => p.startsWith('/'), "must start with '/'"),
    host: nonEmptyString.optional(),
    expectedStatuses: z.array(statusCode).min(1, 'must list at least one status').optional(),
  }),
);

const grpcProbe = z.preprocess(
  (v) => (v === true ? {} : v),
  z.strictObject({ service: z.string().optional(), authority: nonEmptyString.optional() }),
);

export const HEALTH_PROBES = ['http', 'grpc', 'tcp'] as const;

export const healthCheck = z
  .strictObject({
    http: httpProbe.optional(),
    grpc: grpcProbe.optional(),
    tcp: z.literal(true, { error: 'must be true (a TCP connect is the probe)' }).optional(),
    interval: duration({ positive: true }).optional(),
    timeout: duration({ positive: true }).optional(),
    unhealthyThreshold: count(1).optional(),
    healthyThreshold: count(1).optional(),
    noTrafficInterval: duration({ positive: true }).optional(),
    jitter: duration().optional(),
  })
  .superRefine((h, ctx) => {
    exactlyOne(h, HEALTH_PROBES, ctx, 'a health check probe');
  }, ALWAYS);

export const outlierDetection = z.strictObject({
  consecutive5xxErrors: count(0).optional(),
  consecutiveGatewayErrors: count(0).optional(),
  interval: duration({ positive: true }).optional(),
  baseEjectionTime: duration({ positive: true }).optional(),
  maxEjectionTime: duration({ positive: true }).optional(),
  maxEjectionPercent: percent.refine(Number.isInteger, 'must be a whole percentage').optional(),
  failurePercentage: z
    .strictObject({
      threshold: percent.refine(Number.isInteger, 'must be a whole percentage'),
      minimumHosts: count(1).optional(),
      requestVolume: count(1).optional(),
    })
    .optional(),
});

export const circuitBreakers = z
  .strictObject({
    maxConnections: count(1).optional(),
    maxPendingRequests: count(1).optional(),
    maxRequests: count(1).optional(),
    maxRetries: count(0).optional(),
    retryBudget: z
      .strictObject({
        percent: percent.refine((p) => p > 0, 'must be > 0'),
        minRetryConcurrency: count(0).optional(),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (Object.values(c).every((v) => v === undefined)) ctx.addIssue({ code: 'custom', message: 'must set at least one limit' });
  }, ALWAYS);

export const slowStart = z.strictObject({
  window: duration({ positive: true }),
  aggression: z.number().gt(0, 'must be > 0').optional(),
  minWeightPercent: percent.optional(),
});

const absolutePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path (Envoy reads it on its own host)');

export const upstreamTls = z
  .strictObject({
    sni: nonEmptyString.optional(),
    caFile: absolutePath.optional(),
    subjectAltNames: z.array(nonEmptyString).optional(),
    certFile: absolutePath.optional(),
    keyFile: absolutePath.optional(),
    alpn: z.array(nonEmptyString).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: [t.certFile === undefined ? 'certFile' : 'keyFile'], message: 'certFile and keyFile go together (the client certificate for mTLS)' });
    }
    if (t.subjectAltNames !== undefined && t.caFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['subjectAltNames'], message: 'needs caFile (names are checked only on a verified certificate)' });
    }
  }, ALWAYS);

const RETRY_CONDITIONS: readonly string[] = [...HTTP_RETRY_CONDITIONS, ...GRPC_RETRY_CONDITIONS];

export const retries = z
  .strictObject({
    retryOn: z
      .array(z.string().refine((c) => RETRY_CONDITIONS.includes(c), { error: (iss) => `unknown retry condition ${JSON.stringify(iss.input)} (one of ${RETRY_CONDITIONS.join(', ')})` }))
      .min(1, 'must list at least one condition')
      .optional(),
    attempts: count(1, 100).optional(),
    perTryTimeout: duration({ positive: true }).optional(),
    retryOtherHost: z.boolean().optional(),
    hostSelectionMaxAttempts: count(1, 100).optional(),
    backoff: z.strictObject({ baseInterval: duration({ positive: true }), maxInterval: duration({ positive: true }).optional() }).optional(),
  })
  .superRefine((r, ctx) => {
    const b = r.backoff;
    if (b && typeof b.baseInterval === 'number' && typeof b.maxInterval === 'number' && b.maxInterval < b.baseInterval) {
      ctx.addIssue({ code: 'custom', path: ['backoff', 'maxInterval'], message: 'must be >= baseInterval' });
    }
  }, ALWAYS);

export const zoneName = nonEmptyString.max(256, 'must be at most 256 characters');
export const endpointPriority = count(0, 127);

export type RawHealthCheck = z.output<typeof healthCheck>;
export type RawOutlierDetection = z.output<typeof outlierDetection>;
export type RawCircuitBreakers = z.output<typeof circuitBreakers>;
export type RawSlowStart = z.output<typeof slowStart>;
export type RawUpstreamTls = z.output<typeof upstreamTls>;
export type RawRetries = z.output<typeof retries>;
