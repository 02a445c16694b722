/**
 * How admin responses read on a terminal: aligned tables, mutation summaries with their
 * resource diffs, and a JSON view (Timestamps as RFC 3339, like proto3's JSON mapping).
 */
import { statusColumns } from '../admin/status';
import type { RolloutProgress__Output } from '../generated/tether/tether/admin/v1/RolloutProgress';
import type {
  GetStatusResponse__Output,
  ListVersionsResponse__Output,
  MutationResponse__Output,
  NodeInfo__Output,
  ResourceChange__Output,
} from './admin-client';

/** Left-aligned columns two spaces apart; trailing blanks trimmed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

interface TimestampLike {
  seconds: string | number;
  nanos: number;
}

function isTimestamp(value: unknown): value is TimestampLike {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && keys.includes('seconds') && keys.includes('nanos');
}

/** RFC 3339 in UTC, whole seconds unless the value has a fraction ('' for none). */
export function formatTimestamp(ts: TimestampLike | null | undefined): string {
  if (!ts) return '';
  const ms = Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
  if (ms === 0) return '';
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A response ready for JSON.stringify: Timestamps become RFC 3339 strings. */
export function jsonView(value: unknown): unknown {
  if (isTimestamp(value)) return formatTimestamp(value) || null;
  if (Array.isArray(value)) return value.map(jsonView);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonView(v)]));
  }
  return value;
}

/** xDS type versions are content hashes; eight characters tell them apart on screen. */
export function shortVersion(version: string | undefined): string {
  if (!version) return '-';
  return version.length > 8 ? version.slice(0, 8) : version;
}

const ACTION_MARK: Record<string, string> = { ADDED: '+', REMOVED: '-', MODIFIED: '~' };

export function changeHeading(change: ResourceChange__Output): string {
  return `${ACTION_MARK[change.action] ?? '?'} ${change.node_kind} ${change.type} ${change.name}`;
}

/**
 * A mutation's result: for a dry run every change with its diff and a summary; otherwise
 * the changed resources (headings only) and `applied version N`, or `no change (version N)`.
 * A rollback also names the version it restores.
 */
export function formatMutation(res: MutationResponse__Output): string {
  const out: string[] = [];
  const restores = res.restores && res.restores !== '0' ? ` (the config of version ${res.restores})` : '';
  if (res.dry_run) {
    for (const change of res.changes) {
      out.push(changeHeading(change));
      if (change.diff) out.push(change.diff.replace(/\n$/, ''));
    }
    const n = res.changes.length;
    const would = restores ? `; would restore version ${res.restores}` : '';
    out.push(n === 0 ? `dry run: no change (version ${res.version})${would}` : `dry run: ${n} resource change${n === 1 ? '' : 's'}; version ${res.version} unchanged${would}`);
  } else if (!res.changed) {
    out.push(`no change (version ${res.version}${restores ? ` already has the config of version ${res.restores}` : ''})`);
  } else {
    for (const change of res.changes) out.push(changeHeading(change));
    out.push(`applied version ${res.version}${restores}`);
  }
  return out.join('\n') + '\n';
}

/** Translation warnings, one `warning: [kind] path: message` line each ('' for none). */
export function formatWarningLines(warnings: readonly { node_kind: string; path: string; message: string }[]): string {
  return warnings.map((w) => `warning: [${w.node_kind}] ${w.path ? `${w.path}: ` : ''}${w.message}\n`).join('');
}


/** The type-by-type NACKs of a node, `CDS: error; EDS: error`. */
export function nackSummary(node: NodeInfo__Output): string {
  return node.types
    .filter((t) => t.last_nack)
    .map((t) => `${t.type}: ${t.last_nack!.error}`)
    .join('; ');
}

export function formatStatus(res: GetStatusResponse__Output): string {
  const TYPES = statusColumns(res.nodes);
  const rows = res.nodes.map((node) => {
    const byType = new Map(node.types.map((t) => [t.type, t]));
    return [
      node.node_id,
      node.kind,
      node.stream_id,
      node.applied_version && node.applied_version !== '0' ? node.applied_version : '-',
      ...TYPES.map((t) => shortVersion(byType.get(t)?.acked_version)),
      nackSummary(node),
      ...(res.instance ? [node.instance] : []),
    ];
  });
  // Several instances (etcd store): which one answered, where the history is, and whether it is in touch.
  const where = res.instance ? ` (instance ${res.instance}, ${res.store})` : '';
  const stale = res.stale ? `STALE: this instance refuses edits and serves its last version: ${res.stale}\n` : '';
  const heading = `current version ${res.current_version}${where}; ${res.nodes.length} stream${res.nodes.length === 1 ? '' : 's'}\n${stale}`;
  if (rows.length === 0) return heading;
  return heading + renderTable(['NODE', 'KIND', 'STREAM', 'APPLIED', ...TYPES, 'NACK', ...(res.instance ? ['INSTANCE'] : [])], rows);
}

export function formatHistory(res: ListVersionsResponse__Output): string {
  const rows = res.versions.map((v) => [
    v.version === res.current_version ? `* ${v.version}` : `  ${v.version}`,
    formatTimestamp(v.created_at),
    v.source,
    v.author || '-',
    shortVersion(v.content_hash),
    v.description,
  ]);
  return renderTable(['  VERSION', 'CREATED', 'SOURCE', 'BY', 'HASH', 'DESCRIPTION'], rows);
}

/** One line per WaitForRollout message (progress goes to stderr); `minNodes` as asked for. */
export function formatProgress(p: RolloutProgress__Output, minNodes = 0): string {
  const total = p.applied.length + p.pending.length;
  const pending = p.pending.length > 0 ? `; pending: ${p.pending.join(', ')}` : '';
  const nacked = p.nacked.length > 0 ? `; nacked: ${p.nacked.map((n) => n.node_id).join(', ')}` : '';
  const few = p.connected < minNodes ? `; ${connectedNodes(p.connected, minNodes)}` : '';
  return `${p.state.toLowerCase().replace('_', ' ')}: version ${p.version}, ${p.applied.length}/${total} applied${pending}${nacked}${few}`;
}

/** "0 nodes connected, at least 1 needed (--min-nodes)". */
export function connectedNodes(connected: number, minNodes: number): string {
  return `${connected} node${connected === 1 ? '' : 's'} connected, at least ${minNodes} needed (--min-nodes)`;
}
