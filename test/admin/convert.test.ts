import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../src/config';
import { MAX_STRUCT_DEPTH, objectToStruct, readUint64, structToObject, structToObjectOrThrow, toTimestamp } from '../../src/admin/convert';
import { strictDeserializer, isMalformed } from '../../src/admin/request-decoding';
import { adminProto } from '../../src/admin/admin-proto';
import type { Struct__Output } from '../../src/generated/tether/google/protobuf/Struct';

/** Through the real wire: object → Struct → bytes (proto-loader) → strict decode. */
function wire(doc: Record<string, unknown>): Struct__Output {
  const type = adminProto().UpsertServiceRequest;
  const bytes = (type as unknown as { serialize(v: unknown): Buffer }).serialize({ service: objectToStruct(doc) });
  return (strictDeserializer('tether.admin.v1.UpsertServiceRequest')(bytes) as { service: Struct__Output }).service;
}

function roundTrip(doc: Record<string, unknown>): Record<string, unknown> {
  const errors: FieldError[] = [];
  const out = structToObject(wire(doc), ['service'], errors);
  expect(errors).toEqual([]);
  return out;
}

describe('Struct <-> plain objects', () => {
  it('round-trips every JSON type through the wire', () => {
    const doc = {
      name: 'demo',
      port: 10000,
      ratio: 0.25,
      negative: -3,
      big: 2 ** 52,
      on: true,
      off: false,
      none: null,
      empty: {},
      list: [1, 'two', false, null, { deep: [[], [{}]] }],
      unicode: 'ünïcødé ✓ 🚀',
      ['__proto__']: { sneaky: true },
    };
    const out = roundTrip(doc);
    expect(JSON.stringify(out)).toBe(JSON.stringify(doc));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toContain('__proto__');
  });

  it('reads a missing Struct as a "required" error', () => {
    const errors: FieldError[] = [];
    structToObject(null, ['service'], errors);
    expect(errors).toEqual([{ path: 'service', message: 'required' }]);
  });

  it('reports non-finite numbers, kind-less values and excess depth with their paths, all at once', () => {
    const errors: FieldError[] = [];
    let deep: Struct__Output = { fields: {} };
    for (let i = 0; i < MAX_STRUCT_DEPTH + 5; i++) deep = { fields: { x: { kind: 'structValue', structValue: deep } } };
    structToObject(
      {
        fields: {
          nan: { kind: 'numberValue', numberValue: 'NaN' },
          inf: { kind: 'numberValue', numberValue: 'Infinity' },
          list: { kind: 'listValue', listValue: { values: [{ kind: 'numberValue', numberValue: 1 }, {}] } },
          'odd key': {},
          deep: { kind: 'structValue', structValue: deep },
        },
      },
      ['config'],
      errors,
    );
    expect(errors.map((e) => e.path)).toEqual(['config.nan', 'config.inf', 'config.list[1]', 'config["odd key"]', expect.stringMatching(/^config\.deep(\.x)+$/)]);
    expect(errors[0]!.message).toBe('must be a finite number, got NaN');
    expect(errors[2]!.message).toMatch(/no kind set/);
    expect(errors[4]!.message).toBe(`nested more than ${MAX_STRUCT_DEPTH} levels deep`);
  });

  it('bounds nesting through lists too', () => {
    let v: unknown = 1;
    for (let i = 0; i < MAX_STRUCT_DEPTH + 3; i++) v = [v];
    const errors: FieldError[] = [];
    structToObject(wire({ v }), [], errors);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/nested more than/);
  });

  it('refuses to put values JSON cannot hold into a Struct', () => {
    expect(() => objectToStruct({ a: { b: NaN } })).toThrow('a.b: NaN has no JSON form');
    expect(() => objectToStruct({ f: () => 1 })).toThrow('f: a function has no JSON form');
    expect(() => objectToStruct({ big: 1n })).toThrow('big: a bigint has no JSON form');
    expect(objectToStruct({ skip: undefined, d: new Date(0) })).toEqual({ fields: { d: { stringValue: '1970-01-01T00:00:00.000Z' } } });
  });
});

describe('a response Struct as the CLI reads it', () => {
  // The CLI's client decodes with adminProto() too, so this is `tether get`'s path byte for byte.
  const { responseSerialize, responseDeserialize } = adminProto().Admin.service.GetConfig;

  it('round-trips a config document as the client decodes it (numbers are doubles)', () => {
    const doc = {
      services: [{ name: 'shop', routes: [{ name: 'main', backends: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10.5 }] }] }],
      backends: [{ name: 'v1', endpoints: ['10.0.0.1:80'], healthy: true, note: null, empty: {}, list: [] }],
      zero: 0,
      negative: -3,
      unicode: 'naïve ✓',
    };
    const response = responseDeserialize(responseSerialize({ version: '3', config: objectToStruct(doc), yaml: '' }));
    expect(structToObjectOrThrow(response.config, ['config'])).toEqual(doc);
  });

  it('throws every problem at once with its path, an absent Struct included', () => {
    expect(() => structToObjectOrThrow(null, ['config'])).toThrow(new TypeError('config: required'));
    const bad: Struct__Output = { fields: { n: { kind: 'numberValue', numberValue: 'NaN' }, l: { kind: 'listValue', listValue: { values: [{}] } } } };
    expect(() => structToObjectOrThrow(bad, ['config'])).toThrow(/^config\.n: must be a finite number, got NaN\nconfig\.l\[0\]: a value with no kind set/);
  });
});

describe('timestamps and uint64', () => {
  it('converts dates and ISO strings, keeping milliseconds', () => {
    expect(toTimestamp('2024-05-01T12:00:00.123Z')).toEqual({ seconds: String(Date.UTC(2024, 4, 1, 12) / 1000), nanos: 123_000_000 });
    expect(toTimestamp(new Date(-1))).toEqual({ seconds: '-1', nanos: 999_000_000 });
    expect(toTimestamp(undefined)).toBeNull();
    expect(toTimestamp('not a date')).toBeNull();
  });

  it('reads uint64 strings as safe integers and reports larger ones', () => {
    const errors: FieldError[] = [];
    expect(readUint64('42', ['v'], errors)).toBe(42);
    expect(readUint64('', ['v'], errors)).toBe(0);
    expect(readUint64('18446744073709551615', ['options', 'expected_version'], errors)).toBe(0);
    expect(errors).toEqual([{ path: 'options.expected_version', message: expect.stringMatching(/out of range/) }]);
  });
});

describe('strict request decoding', () => {
  const decode = strictDeserializer('tether.admin.v1.DeleteServiceRequest');

  it('decodes valid messages with the generated types\' defaults', () => {
    expect(decode(Buffer.from([0x12, 0x01, 0x61]))).toEqual({ options: null, name: 'a' });
    expect(decode(Buffer.alloc(0))).toEqual({ options: null, name: '' });
  });

  it('turns invalid UTF-8, truncation and garbage into MalformedRequest instead of throwing', () => {
    for (const bytes of [[0x12, 0x03, 0xff, 0xfe, 0x41], [0x12, 0x05, 0x61], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0f]]) {
      const out = decode(Buffer.from(bytes));
      expect(isMalformed(out), JSON.stringify(bytes)).toBe(true);
    }
  });
});
