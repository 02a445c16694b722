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
  /** Sizing of a ring_hash ring without minRingSize/maxRingSize (see translate/ring-sizing.ts). */
  ringSizing: 'stable',
  /** Fixed rings: Envoy's own defaults. */
  minRingSize: 1024,
  maxRingSize: 8_388_608,
  tableSize: 65_537,
  choiceCount: 2,
  stickySplitHeader: 'x-tether-bucket',
  mirrorPercent: 100,
  strongStrict: false,
  /** ext_proc (see src/extproc/README.md): the cluster envoy/sidecar.yaml and gateway.yaml define. */
  extProcCluster: 'tether-extproc',
  extProcFailureModeAllow: true,
  /** Envoy's own default message_timeout. */
  extProcMessageTimeoutMs: 200,
} as const;

/** Upper bounds from Envoy's proto validation rules (cluster.proto). */
export const BALANCER_LIMITS = {
  maxRingSize: 8_388_608,
  maxTableSize: 5_000_011,
  /** cluster.proto: hash_balance_factor gte 100 (UInt32Value). */
  minHashBalanceFactor: 100,
  /** Stable rings: K × W / wmin must fit Envoy's 8M; 65536 leaves room for 128 equal hosts. */
  maxPointsPerHost: 65_536,
} as const;
