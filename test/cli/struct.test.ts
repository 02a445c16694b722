import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { fromStruct, toStruct } from '../../src/cli/struct';
import { TETHER_PROTO_DIR } from '../../src/envoy/protos';

const DOC = {
  services: [{ name: 'shop', routes: [{ name: 'main', backends: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10.5 }] }] }],
  backends: [{ name: 'v1', endpoints: ['10.0.0.1:80'], healthy: true, note: null, empty: {}, list: [] }],
  zero: 0,
  negative: -3,
  unicode: 'naïve ✓',
};

describe('Struct conversion', () => {
  it('round-trips a config document (numbers are doubles)', () => {
    expect(fromStruct(toStruct(DOC))).toEqual(DOC);
  });

  it('survives the wire through the admin proto as proto-loader decodes it', () => {
    const definition = protoLoader.loadSync('tether/admin/v1/admin.proto', {
      includeDirs: [TETHER_PROTO_DIR],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const type = definition['tether.admin.v1.ApplyConfigRequest'] as protoLoader.MessageTypeDefinition<object, object>;
    const decoded = type.deserialize(type.serialize({ config: toStruct(DOC) })) as { config: Parameters<typeof fromStruct>[0] };
    expect(fromStruct(decoded.config)).toEqual(DOC);
  });

  it('drops undefined members like JSON does, and refuses what JSON cannot carry, naming the path', () => {
    expect(fromStruct(toStruct({ a: 1, b: undefined }))).toEqual({ a: 1 });
    expect(() => toStruct({ a: { b: [1, Number.NaN] } })).toThrow('a.b[1]');
    expect(() => toStruct({ f: () => 1 })).toThrow(/f: a function/);
    expect(() => toStruct({ big: 1n })).toThrow(/bigint/);
  });

  it('reads a Struct without the oneof discriminator, and null or absent as empty', () => {
    expect(fromStruct({ fields: { n: { numberValue: 2 }, s: { stringValue: 'x' }, l: { listValue: { values: [{ boolValue: false }] } } } })).toEqual({
      n: 2,
      s: 'x',
      l: [false],
    });
    expect(fromStruct(null)).toEqual({});
  });
});
