import { type NodeKind, envoyTargetFor, type NodeTarget } from '../model/node-targets';

/** Node metadata key that states the kind outright (bootstrap `node.metadata`). */
export const NODE_KIND_METADATA_KEY = 'TETHER_NODE_KIND';

/**
 * Node metadata key that caps the Envoy API version a node is served for ("1.35"): for builds
 * that report no version or a misleading one (forks), or to keep a fleet on the older output.
 * It can only lower what the build reports.
 */
export const ENVOY_API_METADATA_KEY = 'TETHER_ENVOY_API';

/** The part of envoy.config.core.v3.Node that classification reads. */
export interface ClassifiableNode {
  user_agent_name?: string | null;
  /** Envoy's build version: {version: {major_number, minor_number, patch}}. */
  user_agent_build_version?: { version?: { major_number?: number | null; minor_number?: number | null } | null } | null;
  metadata?: { fields?: Record<string, unknown> | null } | null;
}

function metadataString(node: ClassifiableNode, key: string): string | undefined {
  const value = node.metadata?.fields?.[key] as { stringValue?: unknown; string_value?: unknown } | undefined;
  // protobufjs' built-in Struct uses camelCase field names even when loaded with keepCase.
  const text = value?.stringValue ?? value?.string_value;
  return typeof text === 'string' ? text : undefined;
}

function metadataKind(node: ClassifiableNode): NodeKind | undefined {
  const text = metadataString(node, NODE_KIND_METADATA_KEY);
  return text === 'envoy' || text === 'grpc' ? text : undefined;
}

interface Version {
  major: number;
  minor: number;
}

function reportedVersion(node: ClassifiableNode): Version | undefined {
  const v = node.user_agent_build_version?.version;
  const major = v?.major_number ?? 0;
  // An empty SemanticVersion (0.0) says nothing.
  return v && (major > 0 || (v.minor_number ?? 0) > 0) ? { major, minor: v.minor_number ?? 0 } : undefined;
}

function statedVersion(node: ClassifiableNode): Version | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})(\.\d+)?$/.exec(metadataString(node, ENVOY_API_METADATA_KEY)?.trim() ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const older = (a: Version, b: Version): Version => (a.major < b.major || (a.major === b.major && a.minor < b.minor) ? a : b);

/**
 * Which snapshot a node is served: gRPC nodes the gRPC one; Envoy nodes the one for the Envoy
 * API level of their build (model/node-targets.ts), capped by TETHER_ENVOY_API. A client that
 * reports no build version (not a real Envoy) gets the current API unless the metadata says.
 */
export function nodeTarget(node: ClassifiableNode): NodeTarget {
  if (classifyNode(node) === 'grpc') return 'grpc';
  const reported = reportedVersion(node);
  const stated = statedVersion(node);
  return envoyTargetFor(reported && stated ? older(reported, stated) : (reported ?? stated));
}

/**
 * Envoy and proxyless gRPC need different resources (real listeners vs api_listeners), so
 * each stream is served one kind's snapshot. The metadata key wins, so an operator can
 * override; otherwise the user agent decides: Envoy sends "envoy", grpc-js-xds sends
 * "gRPC Node Pure JS" and the other gRPC languages "gRPC <Language>". Unknown clients get
 * Envoy resources.
 */
export function classifyNode(node: ClassifiableNode): NodeKind {
  const fromMetadata = metadataKind(node);
  if (fromMetadata) return fromMetadata;
  const agent = node.user_agent_name ?? '';
  if (agent === 'envoy') return 'envoy';
  if (agent.startsWith('gRPC')) return 'grpc';
  return 'envoy';
}

/**
 * Node metadata key by which a delta Envoy node asks for virtual host discovery ("true"):
 * route configurations without virtual hosts, each virtual host its own resource (xds/vhds.ts).
 */
export const VHDS_METADATA_KEY = 'TETHER_VHDS';

/** The node opted in to VHDS (meaningful on delta streams of current-API Envoys only). */
export function wantsVhds(node: ClassifiableNode): boolean {
  return metadataString(node, VHDS_METADATA_KEY)?.trim().toLowerCase() === 'true';
}
