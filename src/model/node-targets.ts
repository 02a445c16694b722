/**
 * What one snapshot is built for. Beyond the two kinds of node (below), Envoys differ by the
 * API their build knows: a few fields Tether uses are newer than some Envoys still in service
 * (src/envoy/newer-api.ts). Envoy ignores fields it does not know, so sending them to an older
 * build would silently lose the behaviour; instead each Envoy is served the best its build
 * supports, and the translation for an older build warns about what it gets instead.
 *
 * `envoy` is the current API (Envoy ≥ 1.36: everything Tether uses; the pinned Envoy is 1.40);
 * the other Envoy targets are built only when such a node connects (control/publisher.ts).
 */

/**
 * The two kinds of xDS client Tether serves. Envoy gets real listeners (address + port)
 * with an HTTP connection manager; proxyless gRPC gets one api_listener per service,
 * named after it, and no Envoy-only filters. See xds/node-kind.ts for how a node is classified.
 */
export type NodeKind = 'envoy' | 'grpc';
export const NODE_KINDS: readonly NodeKind[] = ['envoy', 'grpc'];

/** Features of the Envoy API that only some Envoy builds have. */
export interface EnvoyFeatures {
  /** WeightedCluster.use_hash_policy (Envoy 1.36): the route's hash picks the weighted cluster. */
  readonly weightedClusterHashPolicy: boolean;
  /** envoy.type.http.v3.Cookie.attributes (Envoy 1.35): SameSite, Secure… on stateful-session cookies. */
  readonly sessionCookieAttributes: boolean;
}

export type NodeTarget = NodeKind | 'envoy-1.35' | 'envoy-pre-1.35';

interface EnvoyLevel {
  readonly target: NodeTarget;
  /** First Envoy release of the level: [major, minor]. */
  readonly since: readonly [number, number];
  /** How warnings name the Envoys of this level. */
  readonly label: string;
  readonly features: EnvoyFeatures;
}

/** Newest first: a node gets the first level its version reaches. */
const ENVOY_LEVELS: readonly EnvoyLevel[] = [
  { target: 'envoy', since: [1, 36], label: 'Envoy ≥ 1.36', features: { weightedClusterHashPolicy: true, sessionCookieAttributes: true } },
  { target: 'envoy-1.35', since: [1, 35], label: 'Envoy 1.35', features: { weightedClusterHashPolicy: false, sessionCookieAttributes: true } },
  { target: 'envoy-pre-1.35', since: [0, 0], label: 'Envoy before 1.35', features: { weightedClusterHashPolicy: false, sessionCookieAttributes: false } },
];

const NO_FEATURES: EnvoyFeatures = { weightedClusterHashPolicy: false, sessionCookieAttributes: false };

/** Every target, default ones (NODE_KINDS) first. */
export const NODE_TARGETS: readonly NodeTarget[] = ['envoy', 'grpc', 'envoy-1.35', 'envoy-pre-1.35'];

export function isNodeTarget(value: string): value is NodeTarget {
  return (NODE_TARGETS as readonly string[]).includes(value);
}

export function targetKind(target: NodeTarget): NodeKind {
  return target === 'grpc' ? 'grpc' : 'envoy';
}

/** What the translation for one target may use, and how its warnings name those nodes. */
export interface TargetApi {
  readonly features: EnvoyFeatures;
  /** "Envoy ≥ 1.36", "Envoy 1.35", "Envoy before 1.35", "gRPC". */
  readonly label: string;
}

export function targetApi(target: NodeTarget): TargetApi {
  const level = ENVOY_LEVELS.find((l) => l.target === target);
  return level ? { features: level.features, label: level.label } : { features: NO_FEATURES, label: 'gRPC' };
}

/** The current Envoy API: what `translate(…, 'envoy')` uses, and tests that build pieces directly. */
export const CURRENT_ENVOY_API: TargetApi = targetApi('envoy');

/**
 * The Envoy target for a build version (envoy.config.core.v3.Node.user_agent_build_version).
 * Every Envoy build reports one; a client that reports none (an xDS test client, a tool) is
 * served the current API, as before levels existed. TETHER_ENVOY_API in the node metadata
 * states a version for such clients (xds/node-kind.ts).
 */
export function envoyTargetFor(version: { major: number; minor: number } | undefined): NodeTarget {
  if (!version) return ENVOY_LEVELS[0]!.target;
  const level = ENVOY_LEVELS.find((l) => version.major > l.since[0] || (version.major === l.since[0] && version.minor >= l.since[1]));
  return (level ?? ENVOY_LEVELS[ENVOY_LEVELS.length - 1]!).target;
}
