import { decodeMessage, encodeMessage } from '../envoy/encode';
import type { EnvoyMessageName, EnvoyMessages } from '../envoy/messages';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, messageNameOf, messageOf } from '../envoy/resource-types';
import type { EnvoyResources } from '../envoy/resources';

/** Resources as plain objects, exactly as they go on the wire (for golden files, diffs, CLIs). */
export interface ReadableResources {
  listeners: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
}

/**
 * Encodes every resource through the real proto and decodes it back, so what this returns is
 * what a client receives (defaults dropped, int64 as strings, enums by name). Any values are
 * unpacked recursively into `{'@type': <type URL>, ...fields}`.
 */
export function toReadable(resources: EnvoyResources): ReadableResources {
  return {
    listeners: readableList(messageOf(LISTENER_TYPE), resources.listeners),
    routes: readableList(messageOf(ROUTE_TYPE), resources.routes),
    clusters: readableList(messageOf(CLUSTER_TYPE), resources.clusters),
    endpoints: readableList(messageOf(ENDPOINT_TYPE), resources.endpoints),
  };
}

function readableList<K extends EnvoyMessageName>(typeName: K, messages: readonly EnvoyMessages[K][]): Record<string, unknown>[] {
  return messages.map((m) => roundTrip(typeName, encodeMessage(typeName, m)));
}

function roundTrip(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  return unpackAnys(decodeMessage(typeName, bytes)) as Record<string, unknown>;
}

function unpackAnys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unpackAnys);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const obj = value as Record<string, unknown>;
  if (isAny(obj)) {
    // An empty payload (e.g. Router {}) may come back without `value`.
    const payload = obj.value instanceof Uint8Array ? obj.value : new Uint8Array();
    return { '@type': obj.type_url, ...(unpackAnys(decodeMessage(messageNameOf(obj.type_url), payload)) as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = unpackAnys(v);
  return out;
}

function isAny(obj: Record<string, unknown>): obj is { type_url: string; value?: Uint8Array } {
  const keys = Object.keys(obj);
  return (
    typeof obj.type_url === 'string' &&
    keys.every((k) => k === 'type_url' || k === 'value') &&
    (obj.value === undefined || obj.value instanceof Uint8Array)
  );
}

/** One encoded google.protobuf.Any (an xDS resource as sent) as a plain object, Anys unpacked. */
export function readableAny(anyBytes: Uint8Array): Record<string, unknown> {
  const any = decodeMessage('google.protobuf.Any', anyBytes);
  const unpacked = unpackAnys(any) as Record<string, unknown>;
  // The resource itself: drop the outer '@type' the unpacking added.
  const { '@type': _type, ...resource } = unpacked;
  return resource;
}

/** One encoded message of `typeName` as a plain object, Anys unpacked (as toReadable shows it). */
export function readableMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  return roundTrip(typeName, bytes);
}
