/**
 * encodeAny / encodeAnyOfParts write google.protobuf.Any by hand in one allocation
 * (src/envoy/wire.ts): the bytes must be protobufjs's own encoding of the same Any, at
 * every varint width of the lengths and for a type URL beyond ASCII.
 */
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { encodeAny, encodeAnyOfParts } from '../../src/envoy/wire';

const Any = protobuf.Root.fromJSON({
  nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } },
}).lookupType('Any');

describe('Any written by hand', () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 2_097_152])('a value of %i bytes', (size) => {
    const value = Buffer.alloc(size, 7);
    for (const typeUrl of ['type.googleapis.com/envoy.config.cluster.v3.Cluster', 'type.googleapis.com/é' + 'x'.repeat(130)]) {
      // protobufjs leaves an empty bytes field out; the Any of an empty message keeps it (tag, length 0), as it always has.
      const whole = Buffer.from(Any.encode(Any.create({ type_url: typeUrl, value })).finish());
      const expected = size === 0 ? Buffer.concat([whole, Buffer.from([0x12, 0x00])]) : whole;
      expect(encodeAny(typeUrl, value).equals(expected)).toBe(true);
      const cut = Math.floor(size / 3);
      expect(encodeAnyOfParts(typeUrl, [value.subarray(0, cut), value.subarray(cut, 2 * cut), value.subarray(2 * cut)]).equals(expected)).toBe(true);
    }
  });
});
