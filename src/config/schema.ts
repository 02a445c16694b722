import { z } from 'zod';
import { parseBindAddress, parseHostPort } from '../util/addresses';
import { headerEdits } from './header-ops-schema';
import { routeMatch } from './match-schema';
import {
  ALWAYS,
  duration,
  exactlyOne,
  headerName,
  plainHeaderName,
  nonEmptyString,
  port,
  presentKeys,
  resourceName,
} from './schema-primitives';
import { BALANCER_LIMITS } from './defaults';
import { extProcSettings, sessionKeyPolicy } from './ext-proc-schema';
import { circuitBreakers, endpointPriority, healthCheck, outlierDetection, retries, slowStart, upstreamTls, zoneName } from './resilience-schema';
import { listenerEdgeFields } from './listener-schema';

/**
 * The file format's shape and every check that needs only the value itself. Checks that
 * relate one part of the file to another live in cross-check.ts; defaults are filled in
 * normalize.ts. Objects are strict so a misspelled key is an error, not a silent no-op.
 */

const bindAddress = z.string().transform((text, ctx): string => {
  const parsed = parseBindAddress(text);
  if (typeof parsed === 'string') return parsed;
  ctx.addIssue({ code: 'custom', message: parsed.error, input: text });
  return z.NEVER;
});

const listener = z.strictObject({
  name: resourceName,
  port,
  address: bindAddress.optional(),
  ...listenerEdgeFields,
});

const cookieName = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => s.length === 0 || /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s), 'invalid cookie name');
const cookiePath = z.string().refine((s) => s.startsWith('/'), "must start with '/'");
/** A cookie's SameSite attribute, as written in the config (Envoy gets Strict, Lax, None). */
export const SAME_SITE_VALUES = ['strict', 'lax', 'none'] as const;

// Shorthands: `cookie: name` and `- host:port` expand to their object forms.
const cookieKey = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject({
    name: cookieName,
    ttl: duration().optional(),
    path: cookiePath.optional(),
  }),
);

export const AFFINITY_SOURCES = ['header', 'cookie', 'clientIp', 'queryParameter'] as const;

const affinityKey = z
  .strictObject({
    header: headerName.optional(),
    cookie: cookieKey.optional(),
    clientIp: z
      .boolean()
      .refine((b) => b, 'must be true (leave the key out to not hash on the client IP)')
      .optional(),
    queryParameter: nonEmptyString.optional(),
    terminal: z.boolean().optional(),
  })
  .superRefine((k, ctx) => {
    exactlyOne(k, AFFINITY_SOURCES, ctx, 'an affinity key');
  }, ALWAYS);

/**
 * Strong stickiness (Envoy's stateful_session filter). The cookie is Envoy's
 * CookieBasedSessionState: Envoy reads only whole seconds of its ttl and always marks it
 * HttpOnly (`httpOnly: false` is refused rather than misread). `secure` and `sameSite` become
 * cookie attributes (Envoy 1.35's Cookie.attributes; older Envoys get a warning instead).
 */
const strongCookie = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z
    .strictObject({
      name: cookieName,
      ttl: duration()
        .refine((ms) => ms % 1000 === 0, 'must be a whole number of seconds (Envoy reads only the seconds)')
        .optional(),
      path: cookiePath.optional(),
      secure: z.boolean().optional(),
      sameSite: z.enum(SAME_SITE_VALUES).optional(),
      httpOnly: z.boolean().refine((b) => b, 'cannot be false: Envoy always marks the stateful-session cookie HttpOnly').optional(),
    })
    .superRefine((c, ctx) => {
      // Browsers drop a SameSite=None cookie that is not Secure.
      if (c.sameSite === 'none' && c.secure !== true) {
        ctx.addIssue({ code: 'custom', path: ['sameSite'], message: "'none' needs secure: true (browsers refuse a SameSite=None cookie that is not Secure)" });
      }
    }),
);

export const STRONG_SOURCES = ['cookie', 'header'] as const;

const strong = z
  .strictObject({
    cookie: strongCookie.optional(),
    header: plainHeaderName.optional(),
    strict: z.boolean().optional(),
  })
  .superRefine((k, ctx) => {
    exactlyOne(k, STRONG_SOURCES, ctx, 'strong stickiness');
  }, ALWAYS);

const affinity = z
  .strictObject({
    keys: z.array(affinityKey).min(1, 'must have at least one key').optional(),
    strong: strong.optional(),
    sessionKey: sessionKeyPolicy.optional(),
  })
  .superRefine((a, ctx) => {
    // With a sessionKey, Envoy hashes on the header the ext_proc server writes; keys are the fallback.
    if (a.keys === undefined && a.sessionKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'required (at least one key), unless a sessionKey finds the key' });
    }
  }, ALWAYS);

export const BALANCER_TYPES = ['ring_hash', 'maglev', 'round_robin', 'least_request', 'random'] as const;
/** Balancers that ignore the hash policy, so they cannot serve a sticky service. */
export const NON_HASHING_BALANCERS: readonly string[] = ['round_robin', 'least_request', 'random'];

// Which tuning field belongs to which types, so a misplaced one is named, not ignored.
const BALANCER_FIELDS: Record<string, readonly string[]> = {
  ring: ['ring_hash'],
  pointsPerHost: ['ring_hash'],
  minRingSize: ['ring_hash'],
  maxRingSize: ['ring_hash'],
  tableSize: ['maglev'],
  choiceCount: ['least_request'],
  hashBalanceFactor: ['ring_hash', 'maglev'],
};

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

const ringSize = z
  .int()
  .min(1, 'must be >= 1')
  .max(BALANCER_LIMITS.maxRingSize, `must be <= ${BALANCER_LIMITS.maxRingSize}`);

const balancer = z
  .strictObject({
    type: z.enum(BALANCER_TYPES),
    ring: z.enum(['stable', 'fixed']).optional(),
    pointsPerHost: z
      .int()
      .min(1, 'must be >= 1')
      .max(BALANCER_LIMITS.maxPointsPerHost, `must be <= ${BALANCER_LIMITS.maxPointsPerHost}`)
      .optional(),
    minRingSize: ringSize.optional(),
    maxRingSize: ringSize.optional(),
    tableSize: z
      .int()
      .min(2, 'must be >= 2')
      .max(BALANCER_LIMITS.maxTableSize, `must be <= ${BALANCER_LIMITS.maxTableSize}`)
      .refine(isPrime, 'must be a prime number (e.g. 65537 or 5000011)')
      .optional(),
    choiceCount: z.int().min(2, 'must be >= 2').optional(),
    hashBalanceFactor: z
      .int()
      .min(BALANCER_LIMITS.minHashBalanceFactor, `must be >= ${BALANCER_LIMITS.minHashBalanceFactor} (a percentage of the average load)`)
      .max(0xffffffff, 'must be <= 4294967295')
      .optional(),
  })
  .superRefine((b, ctx) => {
    const type: unknown = b.type;
    if (typeof type !== 'string' || !(BALANCER_TYPES as readonly string[]).includes(type)) return;
    for (const field of presentKeys(b, Object.keys(BALANCER_FIELDS))) {
      const owners = BALANCER_FIELDS[field]!;
      if (!owners.includes(type)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `only applies to type ${owners.join(' or ')}` });
      }
    }
    if (type === 'ring_hash') {
      // Sizes mean a fixed ring; a stable ring is sized from the endpoints of each snapshot.
      const sized = presentKeys(b, ['minRingSize', 'maxRingSize']);
      if (b.ring === 'stable') {
        for (const field of sized) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'only applies to ring: fixed (a stable ring is sized from the endpoints)' });
        }
      }
      if (b.pointsPerHost !== undefined && (b.ring === 'fixed' || (b.ring === undefined && sized.length > 0))) {
        ctx.addIssue({
          code: 'custom',
          path: ['pointsPerHost'],
          message: b.ring === 'fixed' ? 'only applies to ring: stable' : 'only applies to ring: stable (minRingSize/maxRingSize make the ring fixed)',
        });
      }
    }
    if (type === 'ring_hash' && typeof b.minRingSize === 'number') {
      const max = typeof b.maxRingSize === 'number' ? b.maxRingSize : BALANCER_LIMITS.maxRingSize;
      // Values beyond Envoy's limit are already reported by the field itself.
      if (b.minRingSize > max && b.minRingSize <= BALANCER_LIMITS.maxRingSize && max <= BALANCER_LIMITS.maxRingSize) {
        ctx.addIssue({
          code: 'custom',
          path: ['minRingSize'],
          message: `must be <= maxRingSize (${max})`,
        });
      }
    }
  }, ALWAYS);

const endpoint = z.preprocess(
  (v) => (typeof v === 'string' ? { address: v } : v),
  z.strictObject({
    address: z.string().transform((text, ctx) => {
      const parsed = parseHostPort(text);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error, input: text });
        return z.NEVER;
      }
      return parsed;
    }),
    weight: z.int().min(1, 'must be >= 1').max(0xffffffff, 'must be <= 4294967295').optional(),
    drain: z.boolean().optional(),
    hashKey: nonEmptyString.optional(),
    grpcPort: port.optional(),
    zone: zoneName.optional(),
    priority: endpointPriority.optional(),
  }),
);

const backend = z.strictObject({
  name: resourceName,
  endpoints: z
    .array(endpoint)
    .min(1, 'must have at least one endpoint')
    .superRefine((eps, ctx) => {
      const seen = new Map<string, number>();
      const keys = new Map<string, number>();
      const grpcSeen = new Map<string, number>();
      // Envoy refuses a locality whose endpoint weights add up to more than a uint32 ("The sum
      // of weights of all upstream hosts in a locality exceeds 4294967295"; measured on 1.40 for
      // ring_hash and maglev), and all of a backend's endpoints are one locality.
      const total = eps.reduce((sum, ep) => sum + (ep.weight ?? 1), 0);
      if (total > 0xffffffff) {
        ctx.addIssue({ code: 'custom', message: `endpoint weights add up to ${total}; Envoy takes at most 4294967295 for one backend (one locality)` });
      }
      eps.forEach((ep, i) => {
        const host = ep.address.host.toLowerCase();
        const key = `${host}:${ep.address.port}`;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else ctx.addIssue({ code: 'custom', path: [i], message: `duplicates endpoints[${first}]` });
        // gRPC clients would get one address twice, which grpc-js-xds NACKs.
        const grpcPort = ep.grpcPort ?? ep.address.port;
        const grpcFirst = grpcSeen.get(`${host}:${grpcPort}`);
        if (grpcFirst === undefined) grpcSeen.set(`${host}:${grpcPort}`, i);
        else if (first === undefined || ep.grpcPort !== undefined || eps[grpcFirst]!.grpcPort !== undefined) {
          ctx.addIssue({ code: 'custom', path: [i, ...(ep.grpcPort !== undefined ? ['grpcPort'] : [])], message: `gRPC clients would reach it at the same address as endpoints[${grpcFirst}] (port ${grpcPort})` });
        }
        // Two replicas with one hash key would take the very same ring positions.
        if (ep.hashKey === undefined) return;
        const firstKey = keys.get(ep.hashKey);
        if (firstKey === undefined) keys.set(ep.hashKey, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'hashKey'], message: `duplicates endpoints[${firstKey}].hashKey` });
      });
    }),
  balancer: balancer.optional(),
  connectTimeout: duration({ positive: true }).optional(),
  protocol: z.enum(['http1', 'http2']).optional(),
  // Resilience (resilience-schema.ts, docs/resilience.md).
  healthCheck: healthCheck.optional(),
  outlierDetection: outlierDetection.optional(),
  circuitBreakers: circuitBreakers.optional(),
  slowStart: slowStart.optional(),
  tls: upstreamTls.optional(),
  panicThreshold: z.number().min(0, 'must be >= 0').max(100, 'must be <= 100').optional(),
  overprovisioningFactor: z.int().min(1, 'must be >= 1').max(0xffffffff, 'must be <= 4294967295').optional(),
}).superRefine((b, ctx) => {
  // Envoy has slow start only in its round robin and least request balancers.
  const type = b.balancer?.type;
  if (b.slowStart !== undefined && type !== undefined && type !== 'round_robin' && type !== 'least_request') {
    ctx.addIssue({ code: 'custom', path: ['slowStart'], message: `only applies to balancer round_robin or least_request (Envoy has no slow start for ${type})` });
  }
}, ALWAYS);

const weightedBackend = z.strictObject({
  name: z.string(),
  weight: z.int().min(0, 'must be >= 0').max(0xffffffff, 'must be <= 4294967295').optional(),
  headers: headerEdits.optional(),
});

const domain = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (d) => d.length === 0 || (!/[\s/]/.test(d) && !d.slice(1, -1).includes('*')),
    "must be a host name, optionally with a port or a leading/trailing '*' wildcard",
  );

export const STICKY_SPLIT_MODES = ['ring', 'header'] as const;

// `stickySplit: true` is ring mode; false is the same as leaving it out.
const stickySplit = z.preprocess(
  (v) => (v === true ? { mode: 'ring' } : v === false ? undefined : v),
  z
    .strictObject({
      mode: z.enum(STICKY_SPLIT_MODES),
      header: plainHeaderName.optional(),
    }, { error: (iss) => (iss.code === 'invalid_type' ? 'must be true, false or { mode: ring | header, header? }' : undefined) })
    .superRefine((v, ctx) => {
      if (v.mode === 'ring' && v.header !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['header'], message: 'only applies to mode: header' });
      }
    }, ALWAYS)
    .optional(),
);

/** Up to 4 decimals: FractionalPercent over a million holds exactly that. */
const mirrorPercent = z
  .number()
  .min(0, 'must be >= 0')
  .max(100, 'must be <= 100')
  .refine((p) => Math.abs(Math.round(p * 10_000) - p * 10_000) < 1e-6, 'must have at most 4 decimals');

const mirror = z.strictObject({
  backend: z.string(),
  percent: mirrorPercent.optional(),
});

const route = z
  .strictObject({
    name: resourceName.optional(),
    match: routeMatch.optional(),
    backends: z.array(weightedBackend).min(1, 'must have at least one backend'),
    headers: headerEdits.optional(),
    timeout: duration().optional(),
    stickySplit,
    mirror: z.array(mirror).optional(),
    retries: retries.optional(),
  })
  .superRefine((r, ctx) => {
    // One cluster holds every version in ring mode, so nothing can differ by version.
    if (r.stickySplit?.mode === 'ring') {
      (Array.isArray(r.backends) ? r.backends : []).forEach((b, k) => {
        if (b && typeof b === 'object' && b.headers !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['backends', k, 'headers'],
            message:
              'cannot differ by backend on a stickySplit route: every version is in one cluster, so Envoy cannot tell ' +
              'which version a request reaches; move them to the route, or use stickySplit: { mode: header } (Envoy)',
          });
        }
      });
    }
    const seen = new Map<string, number>();
    (Array.isArray(r.mirror) ? r.mirror : []).forEach((m, k) => {
      if (!m || typeof m.backend !== 'string') return;
      const first = seen.get(m.backend);
      if (first === undefined) seen.set(m.backend, k);
      else ctx.addIssue({ code: 'custom', path: ['mirror', k, 'backend'], message: `duplicates mirror[${first}]` });
    });
  }, ALWAYS);

const service = z.strictObject({
  name: resourceName,
  domains: z.array(domain).min(1, 'must have at least one domain (default is ["*"])').optional(),
  listeners: z.array(z.string()).optional(),
  affinity: affinity.optional(),
  routes: z.array(route).min(1, 'must have at least one route'),
});

export const configSchema = z.strictObject({
  listeners: z.array(listener).optional(),
  services: z.array(service).optional(),
  backends: z.array(backend).optional(),
  extProc: extProcSettings.optional(),
});

export type RawConfig = z.output<typeof configSchema>;
/** The schema of one entry of each list (config/incremental.ts validates entries one by one). */
export const entrySchemas = { services: service, backends: backend } as const;
export type RawService = NonNullable<RawConfig['services']>[number];
export type RawRoute = RawService['routes'][number];
export type RawListener = NonNullable<RawConfig['listeners']>[number];
export type RawBackend = NonNullable<RawConfig['backends']>[number];
export type RawBalancer = NonNullable<RawBackend['balancer']>;
export type RawAffinityKey = NonNullable<NonNullable<RawService['affinity']>['keys']>[number];
export type RawStrong = NonNullable<NonNullable<RawService['affinity']>['strong']>;
