import { lookupEnvoyType } from '../envoy/protos';
import { fieldHeader, stringField, bytesField } from '../envoy/wire';
import type { DeltaDiscoveryRequest } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryRequest';
import type { DiscoveryRequest } from '../generated/envoy/service/discovery/v3/DiscoveryRequest';
import type { ClassifiableNode } from './node-kind';

/** The fields of envoy.config.core.v3.Node a stream keeps (the rest is dropped on decode). */
export interface RequestNode {
  id: string;
  cluster: string;
  user_agent_name: string;
  user_agent_version: string;
  /** What Envoy reports instead of user_agent_version (Node.user_agent_build_version). */
  user_agent_build_version: ClassifiableNode['user_agent_build_version'];
  metadata: ClassifiableNode['metadata'];
}

/** A NACK's google.rpc.Status. */
export interface ErrorDetail {
  code: number;
  /** The message, or only its start when it was longer than Tether keeps (see `messageBytes`). */
  message: string;
  /** Set when `message` is only the start: the message's full length in bytes. */
  messageBytes?: number;
}

/**
 * A decoded DiscoveryRequest, with proto3 defaults filled in (see request-decoder.ts: decoding
 * enforces XDS_LIMITS).
 */
export interface DiscoveryRequestIn {
  version_info: string;
  node: RequestNode | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: ErrorDetail | null;
}

/**
 * A DiscoveryResponse to encode. `resources` are the pre-encoded google.protobuf.Any messages
 * from a snapshot; they are copied into the frame as they are, never re-encoded.
 */
export interface DiscoveryResponseOut {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: readonly { readonly anyBytes: Buffer }[];
  /** Pre-encoded envoy.config.core.v3.ControlPlane (see encodeControlPlane). */
  control_plane?: Buffer;
  /**
   * The whole response already encoded (the fields above), shared by every stream that sends
   * the same response (stream-shares.ts); encoded from the fields when absent.
   */
  wire?: Buffer;
}

/** A decoded DiscoveryResponse (tests and tools). */
export interface DiscoveryResponseIn {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
  control_plane: { identifier: string } | null;
}

// DiscoveryResponse field numbers (envoy/service/discovery/v3/discovery.proto).
const VERSION_INFO = 1;
const RESOURCES = 2;
const TYPE_URL = 4;
const NONCE = 5;
const CONTROL_PLANE = 6;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

type AnyObject = { type_url?: string; value?: Uint8Array };

const anyOf = (a: AnyObject): { type_url: string; value: Buffer } => ({ type_url: str(a.type_url), value: Buffer.from(a.value ?? new Uint8Array()) });

function controlPlaneOf(o: Record<string, unknown>): { identifier: string } | null {
  const cp = o.control_plane as { identifier?: string } | undefined;
  return cp ? { identifier: str(cp.identifier) } : null;
}

/**
 * The response as bytes: the header fields written around each resource's shared Any bytes
 * (never re-encoded), into one buffer sized first, so each resource is copied once. Streams
 * subscribing by name (proxyless gRPC) each get a list of their own, hence an encoding of
 * their own: this runs per stream in a push.
 */
export function encodeDiscoveryResponse(response: DiscoveryResponseOut): Buffer {
  const { version_info: version, type_url: typeUrl, nonce, control_plane: cp } = response;
  const versionBytes = Buffer.byteLength(version);
  const typeUrlBytes = Buffer.byteLength(typeUrl);
  const nonceBytes = Buffer.byteLength(nonce);
  let resourcesBytes = 0;
  for (const r of response.resources) resourcesBytes += fieldSize(r.anyBytes.length);
  const size = fieldSize(versionBytes) + resourcesBytes + fieldSize(typeUrlBytes) + fieldSize(nonceBytes) + (cp ? fieldSize(cp.length) : 0);
  const out = Buffer.allocUnsafe(size);
  let at = writeString(out, writeHeader(out, 0, VERSION_INFO, versionBytes), version, versionBytes);
  for (const r of response.resources) {
    at = writeHeader(out, at, RESOURCES, r.anyBytes.length);
    at += r.anyBytes.copy(out, at);
  }
  at = writeString(out, writeHeader(out, at, TYPE_URL, typeUrlBytes), typeUrl, typeUrlBytes);
  at = writeString(out, writeHeader(out, at, NONCE, nonceBytes), nonce, nonceBytes);
  if (cp) {
    at = writeHeader(out, at, CONTROL_PLANE, cp.length);
    at += cp.copy(out, at);
  }
  if (at !== size) throw new Error(`DiscoveryResponse: wrote ${at} of ${size} bytes`);
  return out;
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** Bytes of a length-delimited field of `length` bytes (field numbers below 16: a one-byte tag). */
const fieldSize = (length: number): number => 1 + varintSize(length) + length;

/** Tag (wire type 2) and length; returns where the value starts. */
function writeHeader(out: Buffer, at: number, field: number, length: number): number {
  out[at++] = (field << 3) | 2;
  let n = length;
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

function writeString(out: Buffer, at: number, value: string, bytes: number): number {
  if (bytes > 0) out.write(value, at, bytes, 'utf8');
  return at + bytes;
}

/** envoy.config.core.v3.ControlPlane{identifier}, encoded once per server. */
export function encodeControlPlane(identifier: string): Buffer {
  const type = lookupEnvoyType('envoy.config.core.v3.ControlPlane');
  return Buffer.from(type.encode(type.fromObject({ identifier })).finish());
}

export function encodeDiscoveryRequest(request: DiscoveryRequest): Buffer {
  const type = lookupEnvoyType('envoy.service.discovery.v3.DiscoveryRequest');
  const err = type.verify(request);
  if (err) throw new Error(`DiscoveryRequest: ${err}`);
  return Buffer.from(type.encode(type.fromObject(request as Record<string, unknown>)).finish());
}

export function decodeDiscoveryResponse(bytes: Buffer): DiscoveryResponseIn {
  const type = lookupEnvoyType('envoy.service.discovery.v3.DiscoveryResponse');
  const o = type.toObject(type.decode(bytes), { longs: String, enums: String, arrays: true }) as Record<string, unknown>;
  return {
    version_info: str(o.version_info),
    type_url: str(o.type_url),
    nonce: str(o.nonce),
    resources: (o.resources as AnyObject[]).map(anyOf),
    control_plane: controlPlaneOf(o),
  };
}

// ---- Incremental (delta) xDS ----

/** A decoded DeltaDiscoveryRequest, with proto3 defaults filled in. */
export interface DeltaDiscoveryRequestIn {
  node: RequestNode | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: ErrorDetail | null;
}

/** One resource of a DeltaDiscoveryResponse: a shared, pre-encoded envoy.service.discovery.v3.Resource. */
export interface DeltaResourceOut {
  readonly resourceBytes: Buffer;
}

export interface DeltaDiscoveryResponseOut {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: readonly DeltaResourceOut[];
  removed_resources: readonly string[];
  control_plane?: Buffer;
  /** The whole response already encoded, shared by the streams that send it (see DiscoveryResponseOut.wire). */
  wire?: Buffer;
}

/** A decoded DeltaDiscoveryResponse (tests and tools). */
export interface DeltaDiscoveryResponseIn {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: { name: string; version: string; resource: { type_url: string; value: Buffer } | null }[];
  removed_resources: string[];
  control_plane: { identifier: string } | null;
}

let deltaFields: { response: Record<string, number>; resource: Record<string, number> } | undefined;

/** Field numbers read from the real protos (DeltaDiscoveryResponse and Resource). */
function deltaFieldNumbers(): NonNullable<typeof deltaFields> {
  if (!deltaFields) {
    const ids = (name: string, fields: string[]) => {
      const type = lookupEnvoyType(name);
      return Object.fromEntries(
        fields.map((f) => {
          const field = type.fields[f];
          if (!field) throw new Error(`${name} has no field ${f}`);
          return [f, field.id];
        }),
      );
    };
    deltaFields = {
      response: ids('envoy.service.discovery.v3.DeltaDiscoveryResponse', ['system_version_info', 'resources', 'type_url', 'removed_resources', 'nonce', 'control_plane']),
      resource: ids('envoy.service.discovery.v3.Resource', ['name', 'version', 'resource']),
    };
  }
  return deltaFields;
}

/**
 * envoy.service.discovery.v3.Resource{name, version, resource} around a snapshot's Any bytes,
 * by concatenation (the Any is copied as it is). Encoded once per resource version and shared
 * by every delta stream that sends it.
 */
export function encodeDeltaResource(name: string, version: string, anyBytes: Buffer): Buffer {
  const f = deltaFieldNumbers().resource;
  return Buffer.concat([stringField(f.name!, name), stringField(f.version!, version), fieldHeader(f.resource!, anyBytes.length), anyBytes]);
}

export function encodeDeltaDiscoveryResponse(response: DeltaDiscoveryResponseOut): Buffer {
  const f = deltaFieldNumbers().response;
  const chunks: Buffer[] = [];
  if (response.system_version_info) chunks.push(stringField(f.system_version_info!, response.system_version_info));
  for (const r of response.resources) chunks.push(fieldHeader(f.resources!, r.resourceBytes.length), r.resourceBytes);
  chunks.push(stringField(f.type_url!, response.type_url));
  for (const name of response.removed_resources) chunks.push(stringField(f.removed_resources!, name));
  chunks.push(stringField(f.nonce!, response.nonce));
  if (response.control_plane) chunks.push(bytesField(f.control_plane!, response.control_plane));
  return Buffer.concat(chunks);
}

export function decodeDeltaDiscoveryResponse(bytes: Buffer): DeltaDiscoveryResponseIn {
  const type = lookupEnvoyType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const o = type.toObject(type.decode(bytes), { longs: String, enums: String, arrays: true }) as Record<string, unknown>;
  const resources = (o.resources as { name?: string; version?: string; resource?: AnyObject }[]).map((r) => ({
    name: str(r.name),
    version: str(r.version),
    resource: r.resource ? anyOf(r.resource) : null,
  }));
  return {
    system_version_info: str(o.system_version_info),
    type_url: str(o.type_url),
    nonce: str(o.nonce),
    resources,
    removed_resources: (o.removed_resources as string[] | undefined) ?? [],
    control_plane: controlPlaneOf(o),
  };
}

export function encodeDeltaDiscoveryRequest(request: DeltaDiscoveryRequest): Buffer {
  const type = lookupEnvoyType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const err = type.verify(request);
  if (err) throw new Error(`DeltaDiscoveryRequest: ${err}`);
  return Buffer.from(type.encode(type.fromObject(request as Record<string, unknown>)).finish());
}
