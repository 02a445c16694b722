/**
 * Just enough protobuf and gRPC framing for lightweight ADS clients and the baseline server:
 * requests are assembled from pre-encoded parts (only version and nonce change per ACK), and
 * responses are read for their header fields only (version, type, nonce, resource count); the
 * resources themselves are skipped by length, never decoded. Field numbers are those of
 * envoy/service/discovery/v3/discovery.proto (checked against the loaded protos by the smoke test).
 */

// DiscoveryRequest / DiscoveryResponse (SotW).
export const SOTW_REQ = { version_info: 1, node: 2, resource_names: 3, type_url: 4, response_nonce: 5 } as const;
export const SOTW_RES = { version_info: 1, resources: 2, type_url: 4, nonce: 5 } as const;
// DeltaDiscoveryRequest / DeltaDiscoveryResponse.
export const DELTA_REQ = { node: 1, type_url: 2, resource_names_subscribe: 3, response_nonce: 6 } as const;
export const DELTA_RES = { system_version_info: 1, resources: 2, type_url: 4, nonce: 5, removed_resources: 6 } as const;
// envoy.service.discovery.v3.Resource, google.protobuf.Any, envoy.config.core.v3.Node, Struct, Value.
export const RESOURCE = { name: 3, version: 1, resource: 2 } as const;
export const ANY = { type_url: 1, value: 2 } as const;
export const NODE = { id: 1, cluster: 2, metadata: 3, user_agent_name: 6 } as const;

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const DELTA_PATH = `/${ADS_SERVICE}/DeltaAggregatedResources`;

export const TYPE = {
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export type TypeName = keyof typeof TYPE;
export const TYPE_NAMES: readonly TypeName[] = ['CDS', 'EDS', 'LDS', 'RDS'];
export const TYPE_BY_URL: ReadonlyMap<string, TypeName> = new Map(TYPE_NAMES.map((t) => [TYPE[t], t]));

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** One length-delimited field: tag, length, bytes. */
export function field(num: number, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const tag = (num << 3) | 2;
  const out = Buffer.allocUnsafe(varintLength(tag) + varintLength(bytes.length) + bytes.length);
  let at = writeVarint(out, 0, tag);
  at = writeVarint(out, at, bytes.length);
  bytes.copy(out, at);
  return out;
}

export const fields = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

/** gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length, message. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** gRPC frame of several message parts without concatenating them first. */
export function frameParts(parts: readonly Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(5 + len);
  out[0] = 0;
  out.writeUInt32BE(len, 1);
  let at = 5;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

/** envoy.config.core.v3.Node {id, cluster, user_agent_name, metadata{TETHER_NODE_KIND: kind}}. */
export function encodeNode(id: string, kind: 'envoy' | 'grpc'): Buffer {
  const value = field(3 /* Value.string_value */, kind);
  const entry = fields(field(1, 'TETHER_NODE_KIND'), field(2, value)); // map<string, Value> entry
  const struct = field(1 /* Struct.fields */, entry);
  return fields(
    field(NODE.id, id),
    field(NODE.cluster, 'bench'),
    field(NODE.metadata, struct),
    field(NODE.user_agent_name, kind === 'envoy' ? 'envoy' : 'gRPC Node Pure JS'),
  );
}

/** The header fields of a (SotW or delta) discovery response; resources are counted, not decoded. */
export interface ResponseHead {
  version: string;
  typeUrl: string;
  nonce: string;
  resources: number;
  removed: number;
}

function readVarint(buf: Buffer, at: number): [number, number] {
  let result = 0;
  let shift = 1;
  for (;;) {
    const b = buf[at++]!;
    result += (b & 0x7f) * shift;
    if (b < 0x80) return [result, at];
    shift *= 128;
  }
}

/**
 * Calls `onBytes(field number, start, end)` for every length-delimited top-level field of a
 * message and skips the others: all the bench needs to read of requests and responses.
 */
function forEachBytesField(buf: Buffer, what: string, onBytes: (num: number, start: number, end: number) => void): void {
  let at = 0;
  while (at < buf.length) {
    let key: number;
    [key, at] = readVarint(buf, at);
    const num = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      [, at] = readVarint(buf, at);
      continue;
    }
    if (wire === 1) {
      at += 8;
      continue;
    }
    if (wire === 5) {
      at += 4;
      continue;
    }
    if (wire !== 2) throw new Error(`unexpected wire type ${wire} in a ${what}`);
    let len: number;
    [len, at] = readVarint(buf, at);
    onBytes(num, at, at + len);
    at += len;
  }
}

/** Walks the top-level fields; works for DiscoveryResponse and DeltaDiscoveryResponse (same numbers for the fields read). */
export function readResponseHead(buf: Buffer, delta: boolean): ResponseHead {
  const head: ResponseHead = { version: '', typeUrl: '', nonce: '', resources: 0, removed: 0 };
  forEachBytesField(buf, 'discovery response', (num, start, end) => {
    if (num === 1) head.version = buf.toString('utf8', start, end);
    else if (num === 2) head.resources++;
    else if (num === 4) head.typeUrl = buf.toString('utf8', start, end);
    else if (num === 5) head.nonce = buf.toString('utf8', start, end);
    else if (delta && num === DELTA_RES.removed_resources) head.removed++;
  });
  return head;
}

/** Fields of a discovery request the baseline server needs (type and nonce; same numbers-by-name lookup per protocol). */
export function readRequestHead(buf: Buffer, delta: boolean): { typeUrl: string; nonce: string } {
  const typeField = delta ? DELTA_REQ.type_url : SOTW_REQ.type_url;
  const nonceField = delta ? DELTA_REQ.response_nonce : SOTW_REQ.response_nonce;
  let typeUrl = '';
  let nonce = '';
  forEachBytesField(buf, 'discovery request', (num, start, end) => {
    if (num === typeField) typeUrl = buf.toString('utf8', start, end);
    else if (num === nonceField) nonce = buf.toString('utf8', start, end);
  });
  return { typeUrl, nonce };
}

/**
 * Splits a byte stream into gRPC messages. Chunks are kept in a list and joined once per
 * message, so a multi-megabyte response costs one copy.
 */
export class GrpcDeframer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 5) return;
        const head = this.take(5);
        this.need = head.readUInt32BE(1);
      }
      if (this.buffered < this.need) return;
      const message = this.take(this.need);
      this.need = -1;
      this.onMessage(message);
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
