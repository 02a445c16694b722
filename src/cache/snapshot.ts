import { createHash } from 'node:crypto';
import { encodeMessage } from '../envoy/encode';
import type { EnvoyMessageName, EnvoyMessages } from '../envoy/messages';
import { lookupEnvoyType } from '../envoy/protos';
import { referencesOf } from './references';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  PUSH_ORDER,
  ROUTE_TYPE,
  messageNameOf,
  type ResourceTypeUrl,
} from '../envoy/type-urls';
import type { EnvoyResources, NodeKind } from '../translate/types';

/**
 * One xDS resource, encoded once. `anyBytes` is a whole google.protobuf.Any message
 * ({type_url, value}); every stream that sends the resource writes these same bytes.
 */
export interface SnapshotResource {
  readonly name: string;
  /** Content hash of `anyBytes` (sha256, 16 hex digits). */
  readonly hash: string;
  readonly anyBytes: Buffer;
  /** Names of REFERENCED_TYPE resources it needs (route configs of a listener, ...). */
  readonly refs: readonly string[];
}

/** All resources of one type in a snapshot, sorted by name. */
export interface ResourceSet {
  readonly typeUrl: ResourceTypeUrl;
  /** `resourcesVersion` of every resource: equal content ⇔ equal version. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

/** What one kind of node is served at one config version. Immutable and shared by all its streams. */
export interface Snapshot {
  readonly kind: NodeKind;
  /** The config version the snapshot was translated from (for status and "wait until applied"). */
  readonly configVersion: string;
  /** Hash over the four type versions: two snapshots with equal content have equal contentVersion. */
  readonly contentVersion: string;
  readonly sets: Readonly<Record<ResourceTypeUrl, ResourceSet>>;
}

const HASH_HEX_DIGITS = 16;

function shortHash(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, HASH_HEX_DIGITS);
}

/**
 * The version of a group of resources: a hash over their sorted names and content hashes.
 * A type's version in a snapshot, and the version a stream sends for a subset of it, both
 * come from here, so the same content always carries the same version (across restarts too).
 */
export function resourcesVersion(resources: Iterable<SnapshotResource>): string {
  const sorted = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = createHash('sha256');
  for (const r of sorted) h.update(`${r.name}\n${r.hash}\n`);
  return h.digest('hex').slice(0, HASH_HEX_DIGITS);
}

function encodeAny(typeUrl: ResourceTypeUrl, bytes: Buffer): Buffer {
  const anyType = lookupEnvoyType('google.protobuf.Any');
  return Buffer.from(anyType.encode(anyType.fromObject({ type_url: typeUrl, value: bytes })).finish());
}

function buildSet<K extends EnvoyMessageName>(
  typeUrl: ResourceTypeUrl,
  messages: readonly EnvoyMessages[K][],
  nameOf: (m: EnvoyMessages[K]) => string | undefined,
): ResourceSet {
  const typeName = messageNameOf(typeUrl) as K;
  const byName = new Map<string, SnapshotResource>();
  for (const [i, message] of messages.entries()) {
    const name = nameOf(message);
    if (!name) throw new Error(`${typeName}[${i}]: a resource needs a name`);
    if (byName.has(name)) throw new Error(`${typeName}[${i}]: duplicate resource name ${JSON.stringify(name)}`);
    const anyBytes = encodeAny(typeUrl, encodeMessage(typeName, message));
    const refs = Object.freeze(referencesOf(typeUrl, message));
    byName.set(name, Object.freeze({ name, hash: shortHash(anyBytes), anyBytes, refs }));
  }
  const sorted = new Map([...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Object.freeze({ typeUrl, version: resourcesVersion(sorted.values()), resources: sorted });
}

/**
 * Encodes every resource exactly once through the real Envoy protos. Throws (EncodeError or
 * a plain Error for missing/duplicate names) when the translator produced something invalid.
 */
export function buildSnapshot(resources: EnvoyResources, kind: NodeKind, configVersion: string): Snapshot {
  const sets: Record<ResourceTypeUrl, ResourceSet> = {
    [LISTENER_TYPE]: buildSet<'envoy.config.listener.v3.Listener'>(LISTENER_TYPE, resources.listeners, (m) => m.name),
    [ROUTE_TYPE]: buildSet<'envoy.config.route.v3.RouteConfiguration'>(ROUTE_TYPE, resources.routes, (m) => m.name),
    [CLUSTER_TYPE]: buildSet<'envoy.config.cluster.v3.Cluster'>(CLUSTER_TYPE, resources.clusters, (m) => m.name),
    [ENDPOINT_TYPE]: buildSet<'envoy.config.endpoint.v3.ClusterLoadAssignment'>(
      ENDPOINT_TYPE,
      resources.endpoints,
      (m) => m.cluster_name,
    ),
  };
  const contentVersion = shortHash(PUSH_ORDER.map((t) => `${t}=${sets[t].version}`).join('\n'));
  return Object.freeze({ kind, configVersion, contentVersion, sets: Object.freeze(sets) });
}
