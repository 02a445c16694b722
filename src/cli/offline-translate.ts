/**
 * A config translated without a server (`tether translate`, `tether diff`): validated as the
 * server validates it, its endpoints resolved as asked (IP literals only by default, or DNS /
 * a hosts file), translated per node kind and encoded through the real protos into the same
 * snapshots the server builds (src/cache/snapshot.ts). Nothing is served.
 */
import { isIP } from 'node:net';
import { EncodeCache, buildSnapshot, type Snapshot } from '../cache/snapshot';
import { formatErrors, validateConfig } from '../config';
import { anyJson } from '../envoy/proto-json';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE, SHORT_NAMES, SHOWN_TYPE_NAMES, type ResourceTypeName, type ResourceTypeUrl } from '../envoy/resource-types';
import type { TetherConfig } from '../model/types';
import { createEndpointResolver, type LookupFn } from '../resolve/resolver';
import { NODE_KINDS, readableAny, staticEndpoints, translateWithWarnings, type NodeKind, type ReadableResources, type ResolvedEndpoints } from '../translate';
import { CliError } from './errors';

export interface OfflineTranslation {
  config: TetherConfig;
  snapshots: Map<NodeKind, Snapshot>;
  warnings: { node_kind: string; path: string; message: string }[];
  /** Endpoints left out because their DNS name was not resolved (`backend: host:port`). */
  unresolved: string[];
}

/** Validates `document` (the file's shape) or throws a CliError listing every error with its path. */
export function validDocument(document: unknown, what: string): TetherConfig {
  const parsed = validateConfig(document);
  if (!parsed.ok) throw new CliError(`${what} is not a valid config:\n${formatErrors(parsed.errors)}`);
  return parsed.config;
}

/** `lookup` resolves DNS names (as `tether serve` would); without it only IP literals become endpoints. */
export async function translateOffline(config: TetherConfig, options: { lookup?: LookupFn; kinds?: readonly NodeKind[]; version?: string } = {}): Promise<OfflineTranslation> {
  let endpoints: ResolvedEndpoints;
  if (options.lookup) {
    const resolver = createEndpointResolver({ lookup: options.lookup, onChange: () => undefined });
    try {
      endpoints = await resolver.setConfig(config);
    } finally {
      resolver.close();
    }
  } else {
    endpoints = staticEndpoints(config);
  }
  const unresolved: string[] = [];
  for (const backend of config.backends) {
    const names = new Set((endpoints.get(backend.name) ?? []).map((e) => e.hostname).filter(Boolean));
    for (const e of backend.endpoints) {
      if (isIP(e.host.replace(/^\[|\]$/g, '')) !== 0 || names.has(e.host)) continue;
      unresolved.push(`${backend.name}: ${e.host}:${e.port}`);
    }
  }
  const snapshots = new Map<NodeKind, Snapshot>();
  const warnings: OfflineTranslation['warnings'] = [];
  const cache = new EncodeCache();
  for (const kind of options.kinds ?? NODE_KINDS) {
    const { resources, warnings: w } = translateWithWarnings(config, endpoints, kind);
    snapshots.set(kind, buildSnapshot(resources, kind, options.version ?? 'offline', cache));
    for (const x of w) warnings.push({ node_kind: kind, path: x.path, message: x.message });
  }
  cache.endBuild();
  return { config, snapshots, warnings, unresolved };
}

/**
 * A snapshot as the golden files show translations (src/translate/readable.ts): per type, every
 * resource decoded from the bytes a client is sent, Anys unpacked, sorted by name.
 */
export function readableSnapshot(snapshot: Snapshot): ReadableResources {
  const of = (typeUrl: ResourceTypeUrl) => snapshot.sets[typeUrl].list.map((r) => readableAny(r.anyBytes));
  return { listeners: of(LISTENER_TYPE), routes: of(ROUTE_TYPE), clusters: of(CLUSTER_TYPE), endpoints: of(ENDPOINT_TYPE) };
}

/** One resource as proto3 JSON (Envoy's /config_dump form), with its xDS type. */
export interface ResourceJson {
  type: ResourceTypeName;
  name: string;
  json: Record<string, unknown>;
}

/** Every resource of a snapshot, in LDS, RDS, CDS, EDS order (how people read a config). */
export function snapshotResources(snapshot: Snapshot): ResourceJson[] {
  const out: ResourceJson[] = [];
  for (const typeUrl of PUSH_ORDER) {
    for (const r of snapshot.sets[typeUrl].list) {
      const { '@type': _type, ...json } = anyJson(r.anyBytes);
      out.push({ type: SHORT_NAMES[typeUrl] as ResourceTypeName, name: r.name, json });
    }
  }
  return out.sort((a, b) => SHOWN_TYPE_NAMES.indexOf(a.type) - SHOWN_TYPE_NAMES.indexOf(b.type));
}
