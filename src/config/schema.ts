import { z } from 'zod';
import { parseBindAddress, parseHostPort } from './addresses';
import { headerEdits } from './header-ops-schema';
import { routeMatch } from './match-schema';
import {
  ALWAYS,
  duration,
  exactlyOne,
  headerName,
  nonEmptyString,
  port,
  presentKeys,
  resourceName,
} from './schema-primitives';
import { BALANCER_LIMITS } from './defaults';

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
});

// Shorthands: `cookie: name` and `- host:port` expand to their object forms.
const cookieKey = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject({
    name: z
      .string()
      .min(1, 'must not be empty')
      .refine((s) => s.length === 0 || /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s), 'invalid cookie name'),
    ttl: duration().optional(),
    path: z.string().refine((s) => s.startsWith('/'), "must start with '/'").optional(),
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

const affinity = z.strictObject({
  keys: z.array(affinityKey).min(1, 'must have at least one key'),
});

export const BALANCER_TYPES = ['ring_hash', 'maglev', 'round_robin', 'least_request', 'random'] as const;
/** Balancers that ignore the hash policy, so they cannot serve a sticky service. */
export const NON_HASHING_BALANCERS: readonly string[] = ['round_robin', 'least_request', 'random'];

// Which tuning field belongs to which type, so a misplaced one is named, not ignored.
const BALANCER_FIELDS: Record<string, string> = {
  minRingSize: 'ring_hash',
  maxRingSize: 'ring_hash',
  tableSize: 'maglev',
  choiceCount: 'least_request',
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
    minRingSize: ringSize.optional(),
    maxRingSize: ringSize.optional(),
    tableSize: z
      .int()
      .min(2, 'must be >= 2')
      .max(BALANCER_LIMITS.maxTableSize, `must be <= ${BALANCER_LIMITS.maxTableSize}`)
      .refine(isPrime, 'must be a prime number (e.g. 65537 or 5000011)')
      .optional(),
    choiceCount: z.int().min(2, 'must be >= 2').optional(),
  })
  .superRefine((b, ctx) => {
    const type: unknown = b.type;
    if (typeof type !== 'string' || !(BALANCER_TYPES as readonly string[]).includes(type)) return;
    for (const field of presentKeys(b, Object.keys(BALANCER_FIELDS))) {
      const owner = BALANCER_FIELDS[field];
      if (owner !== type) {
        ctx.addIssue({ code: 'custom', path: [field], message: `only applies to type ${owner}` });
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
  }),
);

const backend = z.strictObject({
  name: resourceName,
  endpoints: z
    .array(endpoint)
    .min(1, 'must have at least one endpoint')
    .superRefine((eps, ctx) => {
      const seen = new Map<string, number>();
      eps.forEach((ep, i) => {
        const key = `${ep.address.host.toLowerCase()}:${ep.address.port}`;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else ctx.addIssue({ code: 'custom', path: [i], message: `duplicates endpoints[${first}]` });
      });
    }),
  balancer: balancer.optional(),
  connectTimeout: duration({ positive: true }).optional(),
  protocol: z.enum(['http1', 'http2']).optional(),
});

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

const route = z.strictObject({
  name: resourceName.optional(),
  match: routeMatch.optional(),
  backends: z.array(weightedBackend).min(1, 'must have at least one backend'),
  headers: headerEdits.optional(),
  timeout: duration().optional(),
});

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
});

export type RawConfig = z.output<typeof configSchema>;
export type RawService = NonNullable<RawConfig['services']>[number];
export type RawRoute = RawService['routes'][number];
export type RawBackend = NonNullable<RawConfig['backends']>[number];
export type RawBalancer = NonNullable<RawBackend['balancer']>;
export type RawAffinityKey = NonNullable<RawService['affinity']>['keys'][number];
