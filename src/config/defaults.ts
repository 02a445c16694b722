/**
 * Every default the file format fills in, in one place so normalize.ts, the schema and
 * docs/config-reference.md agree. Values mirror Envoy's own defaults where one exists.
 */

export const DEFAULTS = {
  listenerAddress: '0.0.0.0',
  domains: ['*'] as readonly string[],
  pathPrefix: '/',
  affinityKeyTerminal: true,
  singleBackendWeight: 1,
  endpointWeight: 1,
  endpointDrain: false,
  connectTimeoutMs: 1000,
  protocol: 'http1',
  minRingSize: 1024,
  maxRingSize: 8_388_608,
  tableSize: 65_537,
  choiceCount: 2,
} as const;

/** Upper bounds from Envoy's proto validation rules (cluster.proto). */
export const BALANCER_LIMITS = {
  maxRingSize: 8_388_608,
  maxTableSize: 5_000_011,
} as const;
