import { decodeMessage, encodeMessage } from '../envoy/encode';
import { messageNameOf } from '../envoy/resource-types';
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
    listeners: resources.listeners.map((m) => roundTrip('envoy.config.listener.v3.Listener', encodeMessage('envoy.config.listener.v3.Listener', m))),
    routes: resources.routes.map((m) => roundTrip('envoy.config.route.v3.RouteConfiguration', encodeMessage('envoy.config.route.v3.RouteConfiguration', m))),
    clusters: resources.clusters.map((m) => roundTrip('envoy.config.cluster.v3.Cluster', encodeMessage('envoy.config.cluster.v3.Cluster', m))),
    endpoints: resources.endpoints.map((m) =>
      roundTrip('envoy.config.endpoint.v3.ClusterLoadAssignment', encodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', m)),
    ),
  };
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
