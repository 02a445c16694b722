/**
 * google.protobuf.Struct <-> plain JSON objects, in the shape proto-loader uses for the
 * well-known types (camelCase `numberValue`… even with keepCase, because proto-loader takes
 * them from protobufjs's bundled descriptors). Struct numbers are doubles, so integers
 * beyond 2^53 do not survive; config documents never need them.
 */
import type { ListValue } from '../generated/tether/google/protobuf/ListValue';
import type { Struct, Struct__Output } from '../generated/tether/google/protobuf/Struct';
import type { Value, Value__Output } from '../generated/tether/google/protobuf/Value';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A plain object as a Struct. Throws on values JSON cannot carry (undefined in arrays, NaN, functions…), naming the path. */
export function toStruct(object: Record<string, unknown>, path = ''): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(object)) {
    // JSON.stringify drops undefined members too; a YAML/JSON document never has them.
    if (value === undefined) continue;
    fields[key] = toValue(value, path ? `${path}.${key}` : key);
  }
  return { fields };
}

export function toValue(value: unknown, path = ''): Value {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'boolean':
      return { boolValue: value };
    case 'string':
      return { stringValue: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path || 'value'}: ${value} cannot be sent (not a finite number)`);
      return { numberValue: value };
    case 'object': {
      if (Array.isArray(value)) {
        const list: ListValue = { values: value.map((v, i) => toValue(v, `${path}[${i}]`)) };
        return { listValue: list };
      }
      if (value instanceof Date) return { stringValue: value.toISOString() };
      return { structValue: toStruct(value as Record<string, unknown>, path) };
    }
    default:
      throw new TypeError(`${path || 'value'}: a ${typeof value} cannot be sent in a Struct`);
  }
}

/** A received Struct as a plain object (null/absent → {}). */
export function fromStruct(struct: Struct__Output | Struct | null | undefined): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = fromValue(value);
  return out;
}

export function fromValue(value: Value__Output | Value | null | undefined): JsonValue {
  if (!value) return null;
  // `kind` is set by proto-loader's oneofs option; fall back to whichever member is present.
  const kind = value.kind ?? (['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'] as const).find((k) => value[k] !== undefined && value[k] !== null);
  switch (kind) {
    case 'numberValue':
      return Number(value.numberValue);
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}
