/**
 * Wire forms ↔ plain values: google.protobuf.Struct ↔ config documents, Timestamps, and
 * uint64 (a decimal string on received messages).
 *
 * Structs arrive in proto-loader's shape (`{fields: {k: {kind: 'numberValue', numberValue}}}`,
 * camelCase members because the well-known types come from protobufjs's bundled
 * descriptors). Reading one collects every problem as a FieldError with its path instead of
 * stopping at the first, like config validation does.
 */
import type { FieldError } from '../config';
import { formatErrors, formatPath } from '../config/field-errors';
import type { ListValue } from '../generated/tether/google/protobuf/ListValue';
import type { Struct, Struct__Output } from '../generated/tether/google/protobuf/Struct';
import type { Timestamp } from '../generated/tether/google/protobuf/Timestamp';
import type { Value, Value__Output } from '../generated/tether/google/protobuf/Value';

/** Config documents are a handful of levels deep; anything past this is an attack or a bug. */
export const MAX_STRUCT_DEPTH = 32;

type Path = ReadonlyArray<string | number>;

/**
 * A received Struct as a plain object. Absent (null) → a "required" error. Numbers are
 * doubles; NaN/±Infinity (which JSON cannot hold) and Values with no kind set are errors.
 */
export function structToObject(struct: Struct__Output | null | undefined, path: Path, errors: FieldError[]): Record<string, unknown> {
  if (!struct) {
    errors.push({ path: formatPath(path), message: 'required' });
    return {};
  }
  return readStruct(struct, path, errors, 1);
}

/**
 * structToObject for a reader with nobody to hand field errors to (the CLI reading a
 * response): any problem throws a TypeError listing every "path: message".
 */
export function structToObjectOrThrow(struct: Struct__Output | null | undefined, path: Path): Record<string, unknown> {
  const errors: FieldError[] = [];
  const out = structToObject(struct, path, errors);
  if (errors.length > 0) throw new TypeError(formatErrors(errors));
  return out;
}

function readStruct(struct: Struct__Output, path: Path, errors: FieldError[], depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > MAX_STRUCT_DEPTH) {
    errors.push({ path: formatPath(path), message: `nested more than ${MAX_STRUCT_DEPTH} levels deep` });
    return out;
  }
  const fields = struct.fields ?? {};
  for (const key of Object.keys(fields)) {
    // defineProperty: a key named "__proto__" must stay a plain member, not swap the prototype.
    Object.defineProperty(out, key, {
      value: readValue(fields[key], [...path, key], errors, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function readValue(value: Value__Output | null | undefined, path: Path, errors: FieldError[], depth: number): unknown {
  switch (value?.kind) {
    case 'nullValue':
      return null;
    case 'numberValue': {
      // With proto-loader's `json` option, non-finite doubles arrive as "NaN"/"Infinity".
      const n = Number(value.numberValue);
      if (!Number.isFinite(n)) errors.push({ path: formatPath(path), message: `must be a finite number, got ${String(value.numberValue)}` });
      return n;
    }
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return readStruct(value.structValue ?? { fields: {} }, path, errors, depth + 1);
    case 'listValue': {
      if (depth + 1 > MAX_STRUCT_DEPTH) {
        errors.push({ path: formatPath(path), message: `nested more than ${MAX_STRUCT_DEPTH} levels deep` });
        return [];
      }
      return (value.listValue?.values ?? []).map((v, i) => readValue(v, [...path, i], errors, depth + 1));
    }
    default:
      errors.push({ path: formatPath(path), message: 'a value with no kind set (expected null, number, string, bool, struct or list)' });
      return undefined;
  }
}

/** A JSON-shaped object (a stored config document) as a Struct. Throws on values JSON cannot hold. */
export function objectToStruct(object: Record<string, unknown>, path: Path = []): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    Object.defineProperty(fields, key, { value: toValue(value, [...path, key]), enumerable: true, writable: true, configurable: true });
  }
  return { fields };
}

function toValue(value: unknown, path: Path): Value {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'boolean':
      return { boolValue: value };
    case 'string':
      return { stringValue: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${formatPath(path)}: ${value} has no JSON form`);
      return { numberValue: value };
    case 'object': {
      if (Array.isArray(value)) {
        const list: ListValue = { values: value.map((v, i) => (v === undefined ? { nullValue: 'NULL_VALUE' } : toValue(v, [...path, i]))) };
        return { listValue: list };
      }
      if (value instanceof Date) return { stringValue: value.toISOString() };
      return { structValue: objectToStruct(value as Record<string, unknown>, path) };
    }
    default:
      throw new TypeError(`${formatPath(path)}: a ${typeof value} has no JSON form`);
  }
}

/** A Date or ISO 8601 string as a Timestamp; null when absent or unparseable. */
export function toTimestamp(at: Date | string | undefined): Timestamp | null {
  if (at === undefined) return null;
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) return null;
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** A received uint64 (decimal string with `longs: String`) as a safe integer; too large → an error. */
export function readUint64(value: string | number | null | undefined, path: Path, errors: FieldError[]): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) {
    errors.push({ path: formatPath(path), message: `${String(value)} is out of range (at most ${Number.MAX_SAFE_INTEGER})` });
    return 0;
  }
  return n;
}
