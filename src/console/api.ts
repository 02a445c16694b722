/**
 * The console's JSON API: each call is one of the admin service's own functions (explain,
 * what-if, status, history, the resource diff of mutations) run in-process, so the page and
 * `tether explain` / `what-if` / `status` / `history` give the same answers. Reads only.
 */
import { validateConfig } from '../config';
import { explain } from '../admin/explain';
import type { ExplainSource } from '../admin/explain-source';
import { getStatus, statusColumns } from '../admin/status';
import { whatIf } from '../admin/what-if';
import { buildSnapshot, EncodeCache, type Snapshot } from '../cache/snapshot';
import { TetherError } from '../config/errors';
import { diffResources } from '../diff/resource-diff';
import type { ConfigManagerApi } from '../control/types';
import type { ExplainRequest__Output } from '../generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse } from '../generated/tether/tether/admin/v1/ExplainResponse';
import type { TypeStatus } from '../generated/tether/tether/admin/v1/TypeStatus';
import type { WhatIfRequest__Output } from '../generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse } from '../generated/tether/tether/admin/v1/WhatIfResponse';
import type { VersionRecord } from '../store/types';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import type { NodeRegistry } from '../xds/node-status';
import type { DiffView, HistoryView, NodesView, SyncState } from './api-types';
import { BodyReader } from './body-reader';
import { overview, rings } from './views';

export interface ConsoleApiOptions {
  manager: ConfigManagerApi;
  registry: NodeRegistry;
  source: ExplainSource;
  /** A version kept in the history (the store's), for the diff of two versions. */
  readVersion(version: number): Promise<VersionRecord | undefined>;
}

const connectedKinds = (registry: NodeRegistry) => () => registry.list().map((n) => n.kind);

function kindParam(value: string | null, fallback: NodeKind | undefined): NodeKind | undefined {
  if (value === null || value === '') return fallback;
  if ((NODE_KINDS as readonly string[]).includes(value)) return value as NodeKind;
  throw TetherError.invalid([{ path: 'kind', message: `must be one of ${NODE_KINDS.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}` }], 'invalid request');
}

/** The body of `POST explain`: a request's session-key material, as `tether explain` takes it. */
export function explainRequestOf(body: BodyReader): ExplainRequest__Output {
  const request: ExplainRequest__Output = {
    service: body.string('service', true),
    node_kind: body.string('kind'),
    headers: Object.entries(body.stringMap('headers')).map(([name, value]) => ({ name, value })),
    cookies: body.stringMap('cookies'),
    query: body.stringMap('query'),
    client_ip: body.string('clientIp'),
    path: body.string('path'),
    connection_remote: body.string('remoteAddress'),
    connection_local: body.string('localAddress'),
    listener: body.string('listener'),
  };
  body.done();
  return request;
}

const CHANGES = ['add_endpoint', 'remove_endpoint', 'drain_endpoint', 'set_split'] as const;

/** The body of `POST what-if`: one change, as `tether what-if` takes it. */
export function whatIfRequestOf(body: BodyReader): WhatIfRequest__Output {
  const change = body.oneOf('change', CHANGES);
  const request: WhatIfRequest__Output = { node_kind: body.string('kind'), samples: body.uint('samples'), sessions: body.strings('sessions') };
  const options = null;
  if (change === 'set_split') {
    request.set_split = { options, service: body.string('service', true), route: body.string('route'), weights: body.uintMap('weights') };
  } else if (change) {
    request[change] = { options, backend: body.string('backend', true), address: body.string('address', true), weight: body.uint('weight'), grpc_port: 0 };
  }
  if (change) request.change = change;
  body.done();
  return request;
}

function syncState(t: TypeStatus): SyncState {
  if (t.last_nack) return 'NACKED';
  if (!t.sent_version) return 'NOT SENT';
  return t.sent_version === t.acked_version ? 'SYNCED' : 'STALE';
}

const iso = (t: { seconds?: unknown; nanos?: number } | null | undefined): string =>
  t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : '';

export function createConsoleApi(options: ConsoleApiOptions) {
  const { manager, registry, source } = options;

  async function configOf(version: number) {
    if (version === manager.current().version) return manager.current().config;
    const record = await options.readVersion(version);
    if (!record) throw new TetherError('NOT_FOUND', `version ${version} is not in the history`);
    const result = validateConfig(record.document);
    if (!result.ok) throw new TetherError('FAILED_PRECONDITION', `version ${version} no longer validates: ${result.errors[0]?.message ?? ''}`);
    return result.config;
  }

  return {
    overview: () => overview(source),

    rings: (kind: NodeKind) => rings(source, kind),

    nodes(): NodesView {
      const status = getStatus(registry, manager.current().version);
      return {
        version: Number(status.current_version),
        types: statusColumns(status.nodes ?? []),
        nodes: (status.nodes ?? []).map((n) => ({
          nodeId: n.node_id ?? '',
          cluster: n.cluster ?? '',
          kind: n.kind ?? '',
          userAgent: n.user_agent ?? '',
          appliedVersion: Number(n.applied_version ?? 0),
          connectedAt: iso(n.connected_at),
          types: (n.types ?? []).map((t) => ({
            type: t.type ?? '',
            state: syncState(t),
            sent: t.sent_version ?? '',
            acked: t.acked_version ?? '',
            ...(t.last_nack ? { error: t.last_nack.error ?? '' } : {}),
          })),
        })),
      };
    },

    async history(): Promise<HistoryView> {
      const versions = await manager.history();
      return {
        version: manager.current().version,
        versions: versions.map((v) => ({
          version: v.version,
          createdAt: v.createdAt,
          source: v.source,
          description: v.description,
          ...(v.restores ? { restores: v.restores } : {}),
          ...(v.author ? { author: v.author } : {}),
        })),
      };
    },

    /** The Envoy resources that differ between two versions, per node kind, as `apply --dry-run` lists them. */
    async diff(params: URLSearchParams): Promise<DiffView> {
      const version = (name: string) => {
        const text = params.get(name) ?? '';
        const n = Number(text);
        if (!/^\d{1,15}$/.test(text) || n < 1) throw TetherError.invalid([{ path: name, message: `must be a version number, got ${JSON.stringify(text.slice(0, 40))}` }], 'invalid request');
        return n;
      };
      const from = version('from');
      const to = version('to');
      const only = kindParam(params.get('kind'), undefined);
      const kinds = only ? [only] : NODE_KINDS;
      const [before, after] = await Promise.all([configOf(from).then((c) => source.translate(c)), configOf(to).then((c) => source.translate(c))]);
      const encodings = new EncodeCache();
      const snapshots = (t: typeof before) => new Map<NodeKind, Snapshot>(kinds.map((k) => [k, buildSnapshot(t.resources(k), k, '', encodings)]));
      const changes = diffResources(snapshots(before), snapshots(after));
      return {
        from,
        to,
        kind: only ?? '',
        changes: changes.map((c) => ({ nodeKind: c.nodeKind, type: c.type, name: c.name, action: c.action, diff: c.diff ?? '' })),
      };
    },

    explain: (body: BodyReader): Promise<ExplainResponse> => explain(source, explainRequestOf(body), connectedKinds(registry)),

    whatIf: (body: BodyReader): Promise<WhatIfResponse> => whatIf(source, whatIfRequestOf(body), connectedKinds(registry)),

    kind: kindParam,
  };
}

export type ConsoleApi = ReturnType<typeof createConsoleApi>;
