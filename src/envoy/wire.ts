/**
 * Protobuf wire-format helpers for splicing pre-encoded messages: Tether encodes each resource
 * once (through the real protos, encode.ts) and then builds larger messages around those bytes
 * by writing only tags and lengths, and reads encoded messages field by field without decoding
 * them. Field numbers come from the callers (looked up in the loaded protos where they are not
 * fixed by a well-known type).
 */
import * as protobuf from 'protobufjs';

/** Wire type of strings, bytes and embedded messages. */
export const LENGTH_DELIMITED = 2;

/** google.protobuf.Any: {type_url = 1, value = 2} (fixed by the well-known type). */
export const ANY_FIELDS = { typeUrl: 1, value: 2 } as const;

export const lengthDelimitedTag = (field: number): number => (field << 3) | LENGTH_DELIMITED;

/**
 * The tag and length of a length-delimited field whose `length` bytes are written separately:
 * the way shared bytes are spliced into a message without being copied into a new one first.
 */
export function fieldHeader(field: number, length: number): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32(lengthDelimitedTag(field)).uint32(length).finish());
}

/** A whole length-delimited field (tag, length, bytes). */
export function bytesField(field: number, value: Uint8Array): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32(lengthDelimitedTag(field)).bytes(value).finish());
}

/** A string field (tag, length, UTF-8). */
export function stringField(field: number, value: string): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32(lengthDelimitedTag(field)).string(value).finish());
}

/**
 * google.protobuf.Any{type_url, value} around already encoded message bytes: written into one
 * buffer (a cold start wraps 60,000 resources; a writer, a copy and a concat per field each
 * were a third of encoding's time, most of it allocation and the garbage collector).
 */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return encodeAnyOfParts(typeUrl, [value]);
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

/**
 * encodeAny of the concatenation of `parts`, written in one copy (a route configuration of
 * 10,000 virtual hosts is 1.4 MB: its pieces are not joined first and then copied again).
 */
export function encodeAnyOfParts(typeUrl: string, parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  // One allocation per resource (every resource of a snapshot is wrapped: 60,000 at 10,000 services).
  const urlLength = Buffer.byteLength(typeUrl, 'utf8');
  const typeTag = lengthDelimitedTag(ANY_FIELDS.typeUrl);
  const valueTag = lengthDelimitedTag(ANY_FIELDS.value);
  const out = Buffer.allocUnsafe(varintSize(typeTag) + varintSize(urlLength) + urlLength + varintSize(valueTag) + varintSize(length) + length);
  let at = writeVarint(out, 0, typeTag);
  at = writeVarint(out, at, urlLength);
  at += out.write(typeUrl, at, 'utf8');
  at = writeVarint(out, at, valueTag);
  at = writeVarint(out, at, length);
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A whole length-delimited field (tag, length, `value`) in one buffer: bytesField without its writer and copies. */
export function framedField(field: number, value: Uint8Array): Buffer {
  const tag = lengthDelimitedTag(field);
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(value.length) + value.length);
  out.set(value, writeVarint(out, writeVarint(out, 0, tag), value.length));
  return out;
}

/** One top-level field of an encoded message: its number, wire type, and where it lies. */
export interface WireField {
  field: number;
  wireType: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** Length-delimited fields: where the payload starts (else `end`). */
  valueStart: number;
}

/** The top-level fields of an encoded message, in order, without decoding any of them. */
export function wireFields(bytes: Uint8Array): WireField[] {
  const r = protobuf.Reader.create(bytes);
  const out: WireField[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const wireType = tag & 7;
    let valueStart: number;
    if (wireType === LENGTH_DELIMITED) {
      const len = r.uint32();
      valueStart = r.pos;
      r.skip(len);
    } else {
      r.skipType(wireType);
      valueStart = r.pos;
    }
    out.push({ field: tag >>> 3, wireType, start, end: r.pos, valueStart });
  }
  return out;
}

/** The payload of the last occurrence of length-delimited `field` (protobuf: last one wins), or undefined. */
export function lengthDelimitedValue(bytes: Buffer, field: number): Buffer | undefined {
  let found: Buffer | undefined;
  for (const f of wireFields(bytes)) {
    if (f.field === field && f.wireType === LENGTH_DELIMITED) found = bytes.subarray(f.valueStart, f.end);
  }
  return found;
}

/** The payload of an encoded google.protobuf.Any (empty when it has none). */
export function anyPayload(anyBytes: Buffer): Buffer {
  return lengthDelimitedValue(anyBytes, ANY_FIELDS.value) ?? Buffer.alloc(0);
}
