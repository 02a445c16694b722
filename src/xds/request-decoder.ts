/**
 * Decoding of DiscoveryRequest and DeltaDiscoveryRequest that enforces XDS_LIMITS while it
 * reads. A generic decoder materialises everything first (2.5 M resource names in 16 MiB cost
 * seconds of event loop before any check could run); this one refuses a request at the first
 * field over a cap, so a refusal costs at most what the caps allow, and never copies more of
 * a NACK's error_detail than is kept. Field numbers come from the real protos.
 *
 * A request that breaks a cap, or is not a valid message, becomes a RefusedRequest: the ADS
 * server ends the stream with INVALID_ARGUMENT naming the field (grpc-js would answer a
 * throwing deserializer with INTERNAL, blaming the server for the client's bytes).
 */
import * as protobuf from 'protobufjs';
import { lookupEnvoyType } from '../envoy/protos';
import type { DeltaDiscoveryRequestIn, DiscoveryRequestIn, ErrorDetail, RequestNode } from './discovery-codec';
import { XDS_LIMITS } from './limits';

export class RefusedRequest {
  constructor(
    /** The offending field's path in the request ('' for the message as a whole). */
    readonly field: string,
    readonly reason: string,
  ) {}

  get details(): string {
    return this.field ? `${this.field}: ${this.reason}` : this.reason;
  }
}

export function isRefused(request: unknown): request is RefusedRequest {
  return request instanceof RefusedRequest;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;
/** Three name lists (delta), the fields not read, and a few singular ones. */
const MAX_FIELDS = 3 * XDS_LIMITS.maxResourceNames + XDS_LIMITS.maxSkippedFields + 16;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT_UTF8 = new TextDecoder('utf-8');

type FieldIds<K extends string> = Record<K, number>;

function fieldIds<K extends string>(messageName: string, names: readonly K[]): FieldIds<K> {
  const type = lookupEnvoyType(messageName);
  const out = {} as FieldIds<K>;
  for (const name of names) {
    const field = type.fields[name];
    if (!field) throw new Error(`${messageName} has no field ${name}`);
    out[name] = field.id;
  }
  return out;
}

const SOTW_FIELDS = ['version_info', 'node', 'resource_names', 'type_url', 'response_nonce', 'error_detail'] as const;
const DELTA_FIELDS = [
  'node',
  'type_url',
  'resource_names_subscribe',
  'resource_names_unsubscribe',
  'initial_resource_versions',
  'response_nonce',
  'error_detail',
] as const;

let ids: { sotw: FieldIds<(typeof SOTW_FIELDS)[number]>; delta: FieldIds<(typeof DELTA_FIELDS)[number]>; status: FieldIds<'code' | 'message'> } | undefined;

function fieldNumbers(): NonNullable<typeof ids> {
  ids ??= {
    sotw: fieldIds('envoy.service.discovery.v3.DiscoveryRequest', SOTW_FIELDS),
    delta: fieldIds('envoy.service.discovery.v3.DeltaDiscoveryRequest', DELTA_FIELDS),
    status: fieldIds('google.rpc.Status', ['code', 'message']),
  };
  return ids;
}

/** A field's path in errors; an object's toString() is called only when there is an error. */
type Path = string | { toString(): string };

/** Reads one message's fields; each read checks bounds and caps before copying anything. */
class LimitedReader {
  private readonly r: protobuf.Reader;
  private skipped = 0;
  private fields = 0;

  constructor(readonly buf: Buffer) {
    this.r = protobuf.Reader.create(buf);
  }

  /** Calls `onField` per field; it returns false for a field it does not read (skipped, counted). */
  forEachField(onField: (field: number, wireType: number) => boolean): void {
    const r = this.r;
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 0) throw new RangeError('field number 0');
      // Singular fields may repeat on the wire (the last wins): count them too, or a request of
      // millions of tiny type_url fields would cost millions of reads.
      if (++this.fields > MAX_FIELDS) throw new RefusedRequest('', `more than ${MAX_FIELDS} fields`);
      if (onField(field, tag & 7)) continue;
      if (++this.skipped > XDS_LIMITS.maxSkippedFields) {
        throw new RefusedRequest('', `more than ${XDS_LIMITS.maxSkippedFields} fields Tether does not read`);
      }
      r.skipType(tag & 7);
    }
  }

  /** The bounds of a length-delimited field, refused when longer than `max` bytes. */
  span(wireType: number, path: Path, max = Infinity): [number, number] {
    if (wireType !== LENGTH_DELIMITED) throw new RangeError(`${path} has wire type ${wireType}`);
    const r = this.r;
    const length = r.uint32();
    if (length > max) throw new RefusedRequest(String(path), `${length} bytes, more than the ${max} allowed`);
    const start = r.pos;
    if (start + length > r.len) throw new RangeError(`${path} runs past the end of the message`);
    r.pos = start + length;
    return [start, start + length];
  }

  string(wireType: number, path: Path, max: number): string {
    const [start, end] = this.span(wireType, path, max);
    return utf8(this.buf, start, end, path);
  }

  int32(wireType: number, path: string): number {
    if (wireType !== VARINT) throw new RangeError(`${path} has wire type ${wireType}`);
    return this.r.int32();
  }
}

function utf8(buf: Buffer, start: number, end: number, path: Path): string {
  // Type URLs, versions, nonces and resource names are ASCII in practice: then the bytes are
  // the characters, read without a TextDecoder call (every ACK carries three or more).
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  try {
    return STRICT_UTF8.decode(buf.subarray(start, end));
  } catch {
    throw new RangeError(`${path} is not valid UTF-8`);
  }
}

/** Resource names of one list, within the per-list caps. */
class NameList {
  readonly names: string[] = [];
  private count = 0;
  private bytes = 0;

  constructor(private readonly path: string) {}

  /** Counts one more entry of `bytes` bytes, refusing the request past the caps. */
  admit(bytes: number): void {
    if (++this.count > XDS_LIMITS.maxResourceNames) throw new RefusedRequest(this.path, `more than ${XDS_LIMITS.maxResourceNames} names`);
    this.bytes += bytes;
    if (this.bytes > XDS_LIMITS.maxResourceNamesTotalBytes) {
      throw new RefusedRequest(this.path, `more than ${XDS_LIMITS.maxResourceNamesTotalBytes} bytes of names`);
    }
  }

  read(reader: LimitedReader, wireType: number): void {
    // The entry's path is only needed for an error: not built for each of thousands of names.
    const [start, end] = reader.span(wireType, this, XDS_LIMITS.maxResourceNameBytes);
    this.admit(end - start);
    this.names.push(utf8(reader.buf, start, end, this));
  }

  /** The path of the entry being read, for errors. */
  toString(): string {
    return `${this.path}[${this.names.length}]`;
  }
}

function readNode(reader: LimitedReader, wireType: number): RequestNode {
  const [start, end] = reader.span(wireType, 'node', XDS_LIMITS.maxNodeBytes);
  const type = lookupEnvoyType('envoy.config.core.v3.Node');
  const o = type.toObject(type.decode(reader.buf.subarray(start, end)), { longs: String, enums: String, arrays: true }) as Record<string, unknown>;
  const id = str(o.id);
  if (id.length > XDS_LIMITS.maxNodeIdChars) throw new RefusedRequest('node.id', `${id.length} characters, more than the ${XDS_LIMITS.maxNodeIdChars} allowed`);
  // The stream keeps cluster and user agent cut to XDS_LIMITS.maxNodeFieldChars.
  return {
    id,
    cluster: str(o.cluster),
    user_agent_name: str(o.user_agent_name),
    user_agent_version: str(o.user_agent_version),
    // Envoy's build version picks the API level it is served (model/node-targets.ts).
    user_agent_build_version: (o.user_agent_build_version as RequestNode['user_agent_build_version']) ?? null,
    metadata: (o.metadata as RequestNode['metadata']) ?? null,
  };
}

/**
 * google.rpc.Status{code, message}. Only the start of a long message is decoded (enough for
 * the characters kept); `messageBytes` then says how long it was.
 */
function readErrorDetail(reader: LimitedReader, wireType: number): ErrorDetail {
  const [start, end] = reader.span(wireType, 'error_detail');
  const f = fieldNumbers().status;
  const inner = new LimitedReader(reader.buf.subarray(start, end));
  const detail: ErrorDetail = { code: 0, message: '' };
  inner.forEachField((field, wt) => {
    if (field === f.code) detail.code = inner.int32(wt, 'error_detail.code');
    else if (field === f.message) {
      const [s, e] = inner.span(wt, 'error_detail.message');
      // Four bytes per character at most: this prefix holds every character that is kept.
      const keep = XDS_LIMITS.maxErrorDetailChars * 4;
      if (e - s <= keep) detail.message = utf8(inner.buf, s, e, 'error_detail.message');
      else {
        detail.message = LENIENT_UTF8.decode(inner.buf.subarray(s, s + keep));
        detail.messageBytes = e - s;
      }
    } else return false;
    return true;
  });
  return detail;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function decodeWith<T>(messageName: string, bytes: Buffer, read: (reader: LimitedReader) => T): T | RefusedRequest {
  try {
    return read(new LimitedReader(bytes));
  } catch (err) {
    if (err instanceof RefusedRequest) return err;
    return new RefusedRequest('', `malformed ${messageName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function decodeDiscoveryRequest(bytes: Buffer): DiscoveryRequestIn | RefusedRequest {
  const f = fieldNumbers().sotw;
  return decodeWith('DiscoveryRequest', bytes, (reader) => {
    const req: DiscoveryRequestIn = { version_info: '', node: null, resource_names: [], type_url: '', response_nonce: '', error_detail: null };
    const names = new NameList('resource_names');
    reader.forEachField((field, wt) => {
      if (field === f.resource_names) names.read(reader, wt);
      else if (field === f.type_url) req.type_url = reader.string(wt, 'type_url', XDS_LIMITS.maxTypeUrlBytes);
      else if (field === f.version_info) req.version_info = reader.string(wt, 'version_info', XDS_LIMITS.maxVersionBytes);
      else if (field === f.response_nonce) req.response_nonce = reader.string(wt, 'response_nonce', XDS_LIMITS.maxVersionBytes);
      else if (field === f.node) req.node = readNode(reader, wt);
      else if (field === f.error_detail) req.error_detail = readErrorDetail(reader, wt);
      else return false;
      return true;
    });
    req.resource_names = names.names;
    return req;
  });
}

export function decodeDeltaDiscoveryRequest(bytes: Buffer): DeltaDiscoveryRequestIn | RefusedRequest {
  const f = fieldNumbers().delta;
  return decodeWith('DeltaDiscoveryRequest', bytes, (reader) => {
    const req: DeltaDiscoveryRequestIn = {
      node: null,
      type_url: '',
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
    };
    const subscribe = new NameList('resource_names_subscribe');
    const unsubscribe = new NameList('resource_names_unsubscribe');
    const initial = new NameList('initial_resource_versions');
    const versions = new Map<string, string>();
    reader.forEachField((field, wt) => {
      if (field === f.resource_names_subscribe) subscribe.read(reader, wt);
      else if (field === f.resource_names_unsubscribe) unsubscribe.read(reader, wt);
      else if (field === f.initial_resource_versions) readVersionEntry(reader, wt, initial, versions);
      else if (field === f.type_url) req.type_url = reader.string(wt, 'type_url', XDS_LIMITS.maxTypeUrlBytes);
      else if (field === f.response_nonce) req.response_nonce = reader.string(wt, 'response_nonce', XDS_LIMITS.maxVersionBytes);
      else if (field === f.node) req.node = readNode(reader, wt);
      else if (field === f.error_detail) req.error_detail = readErrorDetail(reader, wt);
      else return false;
      return true;
    });
    req.resource_names_subscribe = subscribe.names;
    req.resource_names_unsubscribe = unsubscribe.names;
    req.initial_resource_versions = Object.fromEntries(versions);
    return req;
  });
}

/** One map<string, string> entry (key = 1, value = 2, by the protobuf map encoding). */
function readVersionEntry(reader: LimitedReader, wireType: number, list: NameList, versions: Map<string, string>): void {
  const path = `initial_resource_versions[${versions.size}]`;
  const [start, end] = reader.span(wireType, path, XDS_LIMITS.maxResourceNameBytes + XDS_LIMITS.maxVersionBytes + 8);
  list.admit(end - start);
  const entry = new LimitedReader(reader.buf.subarray(start, end));
  let key = '';
  let value = '';
  entry.forEachField((field, wt) => {
    if (field === 1) key = entry.string(wt, `${path}.key`, XDS_LIMITS.maxResourceNameBytes);
    else if (field === 2) value = entry.string(wt, `${path}.value`, XDS_LIMITS.maxVersionBytes);
    else return false;
    return true;
  });
  versions.set(key, value);
}
