import type { NodeKind } from '../translate/types';

/** Node metadata key that states the kind outright (bootstrap `node.metadata`). */
export const NODE_KIND_METADATA_KEY = 'TETHER_NODE_KIND';

/** The part of envoy.config.core.v3.Node that classification reads. */
export interface ClassifiableNode {
  user_agent_name?: string | null;
  metadata?: { fields?: Record<string, unknown> | null } | null;
}

function metadataKind(node: ClassifiableNode): NodeKind | undefined {
  const value = node.metadata?.fields?.[NODE_KIND_METADATA_KEY] as
    | { stringValue?: unknown; string_value?: unknown }
    | undefined;
  // protobufjs' built-in Struct uses camelCase field names even when loaded with keepCase.
  const text = value?.stringValue ?? value?.string_value;
  return text === 'envoy' || text === 'grpc' ? text : undefined;
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
