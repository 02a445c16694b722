/**
 * Node status for GetStatus and WaitForRollout: the registry's per-stream view in the admin
 * API's shape.
 */
import type { FieldError } from '../config';
import { SHORT_NAMES, SHOWN_TYPE_NAMES, STATUS_TYPES } from '../envoy/resource-types';
import type { GetStatusResponse } from '../generated/tether/tether/admin/v1/GetStatusResponse';
import type { NodeInfo } from '../generated/tether/tether/admin/v1/NodeInfo';
import type { TypeStatus as TypeStatusMessage } from '../generated/tether/tether/admin/v1/TypeStatus';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import type { NodeRegistry, NodeStatus, TypeStatus } from '../xds/node-status';
import { toTimestamp } from './convert';


/**
 * The config version a stream has fully applied, as a number; 0 when none yet, or when the
 * stream's snapshot version is not a config version number.
 */
export function appliedVersionOf(node: NodeStatus): number {
  return configVersionNumber(node.appliedConfigVersion);
}

/** The config version a stream is stuck on because the node rejected part of it (0: none). */
export function blockedVersionOf(node: NodeStatus): number {
  return configVersionNumber(node.blocked?.configVersion);
}

function configVersionNumber(version: string | undefined): number {
  const n = Number(version);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * The type's NACK when the node's latest answer for it was one (a later ACK clears it: the
 * registry keeps the last NACK, so it is compared with the last ACK's time), or when the
 * stream is blocked on it (the current version of the type is the one rejected).
 */
export function activeNack(t: TypeStatus, blocked = false): TypeStatus['lastNack'] {
  const nack = t.lastNack;
  if (!nack) return undefined;
  return blocked || !t.ackedAt || nack.at.getTime() >= t.ackedAt.getTime() ? nack : undefined;
}

export function toNodeInfo(node: NodeStatus): NodeInfo {
  const types: TypeStatusMessage[] = [];
  // As people say it ("LDS, RDS, CDS, EDS"), a VHDS node's VHDS after RDS, SDS (TLS listeners) last.
  for (const typeUrl of STATUS_TYPES) {
    const t = node.types[typeUrl];
    if (!t) continue;
    const nack = activeNack(t, node.blocked?.typeUrl === typeUrl);
    types.push({
      type: SHORT_NAMES[typeUrl],
      sent_version: t.sentVersion ?? '',
      acked_version: t.ackedVersion ?? '',
      last_nack: nack ? { version: nack.version, error: nack.message, at: toTimestamp(nack.at) } : null,
    });
  }
  return {
    node_id: node.nodeId,
    cluster: node.cluster,
    kind: node.kind,
    user_agent: node.userAgent,
    applied_version: appliedVersionOf(node),
    connected_at: toTimestamp(node.connectedAt),
    types,
    stream_id: node.streamId,
    // Several instances (src/cluster/cluster-nodes.ts): the one the node is connected to.
    instance: (node as NodeStatus & { instance?: string }).instance ?? '',
  };
}

/** Columns of a status table (`tether status`, the console): LDS, RDS, CDS, EDS, and any other type a node reports (VHDS after RDS, SDS last). */
export function statusColumns(nodes: readonly { types?: readonly { type?: string }[] | null }[]): string[] {
  const reported = new Set(nodes.flatMap((n) => (n.types ?? []).map((t) => t.type)));
  const shown: readonly string[] = SHOWN_TYPE_NAMES;
  return STATUS_TYPES.map((t) => SHORT_NAMES[t]).filter((name) => shown.includes(name) || reported.has(name));
}

/** Validates a request's node_kind: '' → all kinds. */
export function readNodeKind(value: string | undefined, path: string, errors: FieldError[]): NodeKind | undefined {
  if (!value) return undefined;
  if ((NODE_KINDS as readonly string[]).includes(value)) return value as NodeKind;
  errors.push({ path, message: `must be one of ${NODE_KINDS.map((k) => `"${k}"`).join(', ')} (or empty for all), got ${JSON.stringify(value.slice(0, 100))}` });
  return undefined;
}

export function getStatus(registry: NodeRegistry, currentVersion: number, kind?: NodeKind): GetStatusResponse {
  return { current_version: currentVersion, nodes: registry.list(kind).map(toNodeInfo) };
}
