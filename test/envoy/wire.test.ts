import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { bytesField, encodeAny, framedField } from '../../src/envoy/wire';

/** What protobufjs writes for an Any: the reference the one-buffer writers must equal byte for byte. */
function protoAny(typeUrl: string, value: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(typeUrl);
  w.uint32((2 << 3) | 2).bytes(value);
  return Buffer.from(w.finish());
}

describe('one-buffer wire writers', () => {
  // Lengths around the varint boundaries (1, 2 and 3 bytes), an empty payload, non-ASCII URLs.
  const sizes = [0, 1, 127, 128, 300, 16_383, 16_384, 70_000];
  const payload = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));

  it('encodeAny equals protobufjs for every length class', () => {
    const any = lookupEnvoyType('google.protobuf.Any');
    for (const url of ['type.googleapis.com/envoy.config.cluster.v3.Cluster', 'x/ü€', 'u'.repeat(200)]) {
      for (const n of sizes) {
        const value = payload(n);
        const ours = encodeAny(url, value);
        expect(ours.equals(protoAny(url, value))).toBe(true);
        // The well-known type itself agrees (it omits nothing we write: both fields are set).
        if (n > 0) expect(ours.equals(Buffer.from(any.encode(any.fromObject({ type_url: url, value })).finish()))).toBe(true);
      }
    }
  });

  it('framedField equals bytesField (tag, length, bytes) for small and large field numbers', () => {
    for (const field of [1, 15, 16, 2047, 2048]) {
      for (const n of sizes) expect(framedField(field, payload(n)).equals(bytesField(field, payload(n)))).toBe(true);
    }
  });
});
