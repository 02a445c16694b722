/**
 * The proto3 JSON mapping of Envoy's messages, both ways, as Envoy's admin endpoint prints them
 * (`/config_dump`: original field names, `Any` as `{"@type", ...fields}`, Duration `"1.5s"`,
 * wrappers as bare values, int64 as strings, enums by name, defaults left out).
 *
 * `canonicalJson` reads such JSON into the real proto, encodes it and writes it back, so two
 * spellings of one message (`"0.200s"` and `"0.2s"`, `"5"` and `5`, a default written out or
 * not) come out identical: `tether verify` compares what Envoy reports with what Tether sends
 * this way. Fields the protos do not know are kept (as `"?name"`), never dropped silently.
 */
import * as protobuf from 'protobufjs';
import { lookupEnvoyType } from './protos';
import { messageNameOf } from './resource-types';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const WRAPPERS = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map(
    (n) => `.google.protobuf.${n}`,
  ),
);
/** Well-known types whose JSON form is not an object of their fields: inside an Any they go under "value". */
const SPECIAL = new Set([...WRAPPERS, '.google.protobuf.Duration', '.google.protobuf.Timestamp', '.google.protobuf.Struct', '.google.protobuf.Value', '.google.protobuf.ListValue', '.google.protobuf.FieldMask']);

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A field by its proto name or its JSON (lowerCamel) name; protobufjs' bundled WKTs use camelCase. */
function fieldOf(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return type.fields[name] ?? type.fields[camel(name)] ?? Object.values(type.fields).find((f) => camel(f.name) === name || f.name === camel(name));
}

function typeOfAny(typeUrl: string): protobuf.Type {
  try {
    return lookupEnvoyType(messageNameOf(typeUrl));
  } catch {
    throw new Error(`unknown type in Any: ${typeUrl}`);
  }
}

// ---------- message → JSON ----------

function durationText(seconds: string | number, nanos: number): string {
  const s = BigInt(seconds);
  const negative = s < 0n || nanos < 0;
  const abs = (negative ? -s : s).toString();
  const n = Math.abs(nanos);
  if (n === 0) return `${negative ? '-' : ''}${abs}s`;
  // As protobuf's own printer: 3, 6 or 9 fractional digits.
  let frac = String(n).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${negative ? '-' : ''}${abs}.${frac}s`;
}

function timestampText(seconds: string | number, nanos: number): string {
  const ms = Number(seconds) * 1000;
  const base = new Date(ms).toISOString().slice(0, 19);
  if (!nanos) return `${base}Z`;
  let frac = String(nanos).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${base}.${frac}Z`;
}

function scalarJson(field: protobuf.Field, value: unknown): Json {
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  if (LONG_TYPES.has(field.type)) return String(value);
  return value as Json;
}

/** `obj`: protobufjs toObject output (longs and bytes as strings, enums by name). */
function objectJson(type: protobuf.Type, obj: Record<string, unknown>): Json {
  const name = type.fullName;
  const get = (f: string) => obj[f] ?? obj[camel(f)];
  if (name === '.google.protobuf.Any') {
    const typeUrl = String(get('type_url') ?? '');
    const inner = typeOfAny(typeUrl);
    const bytes = Buffer.from(String(get('value') ?? ''), 'base64');
    const json = messageJson(inner, bytes);
    return SPECIAL.has(inner.fullName) ? { '@type': typeUrl, value: json } : { '@type': typeUrl, ...(json as JsonObject) };
  }
  if (name === '.google.protobuf.Duration') return durationText((get('seconds') as string) ?? 0, (get('nanos') as number) ?? 0);
  if (name === '.google.protobuf.Timestamp') return timestampText((get('seconds') as string) ?? 0, (get('nanos') as number) ?? 0);
  if (WRAPPERS.has(name)) {
    const field = type.fields.value!;
    const value = get('value');
    if (value !== undefined) return scalarJson(field, value);
    return field.type === 'bool' ? false : field.type === 'string' || field.type === 'bytes' ? '' : LONG_TYPES.has(field.type) ? '0' : 0;
  }
  if (name === '.google.protobuf.Struct') {
    const fields = (get('fields') ?? {}) as Record<string, Record<string, unknown>>;
    const valueType = fieldOf(type, 'fields')!.resolvedType as protobuf.Type;
    return Object.fromEntries(Object.keys(fields).sort().map((k) => [k, objectJson(valueType, fields[k]!)]));
  }
  if (name === '.google.protobuf.Value') {
    if (get('null_value') !== undefined) return null;
    if (get('number_value') !== undefined) return get('number_value') as number;
    if (get('string_value') !== undefined) return get('string_value') as string;
    if (get('bool_value') !== undefined) return get('bool_value') as boolean;
    if (get('struct_value') !== undefined) return objectJson(fieldOf(type, 'struct_value')!.resolvedType as protobuf.Type, get('struct_value') as Record<string, unknown>);
    if (get('list_value') !== undefined) return objectJson(fieldOf(type, 'list_value')!.resolvedType as protobuf.Type, get('list_value') as Record<string, unknown>);
    return null;
  }
  if (name === '.google.protobuf.ListValue') {
    return ((get('values') ?? []) as Record<string, unknown>[]).map((v) => objectJson(fieldOf(type, 'values')!.resolvedType as protobuf.Type, v));
  }
  if (name === '.google.protobuf.FieldMask') return ((get('paths') ?? []) as string[]).map(camel).join(',');

  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    field.resolve();
    const resolved = field.resolvedType;
    const convert = (v: unknown): Json => (resolved instanceof protobuf.Type ? objectJson(resolved, v as Record<string, unknown>) : scalarJson(field, v));
    if (field.map) {
      const entries = value as Record<string, unknown>;
      out[field.name] = Object.fromEntries(Object.keys(entries).sort().map((k) => [k, convert(entries[k])]));
    } else if (field.repeated) {
      out[field.name] = (value as unknown[]).map(convert);
    } else {
      out[field.name] = convert(value);
    }
  }
  return out;
}

/** Encoded `type` → its JSON form. */
export function messageJson(type: protobuf.Type, bytes: Uint8Array): Json {
  const obj = type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: String, defaults: false });
  return objectJson(type, obj);
}

/** One encoded google.protobuf.Any → `{"@type", ...fields}`. */
export function anyJson(anyBytes: Uint8Array): JsonObject {
  return messageJson(lookupEnvoyType('google.protobuf.Any'), anyBytes) as JsonObject;
}

// ---------- JSON → message ----------

function parseDuration(text: string, path: string): { seconds: string; nanos: number } {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new Error(`${path}: not a Duration: ${JSON.stringify(text)}`);
  const sign = m[1] ? -1 : 1;
  const nanos = Number((m[3] ?? '').padEnd(9, '0'));
  return { seconds: String(sign * Number(m[2])), nanos: sign * nanos };
}

function parseTimestamp(text: string, path: string): { seconds: string; nanos: number } {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`${path}: not a Timestamp: ${JSON.stringify(text)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

function scalarValue(field: protobuf.Field, value: Json, path: string): unknown {
  switch (field.type) {
    case 'double':
    case 'float':
      return typeof value === 'string' ? Number(value) : value;
    case 'bytes':
      if (typeof value !== 'string') throw new Error(`${path}: bytes must be base64 text`);
      return Buffer.from(value, 'base64');
    case 'bool':
    case 'string':
      return value;
    default:
      if (field.resolvedType instanceof protobuf.Enum) return value;
      return LONG_TYPES.has(field.type) ? String(value) : typeof value === 'string' ? Number(value) : value;
  }
}

/**
 * JSON → a plain object `type.fromObject` takes. Unknown fields go to `unknown` as
 * `path: value` (they cannot be encoded).
 */
function fromJson(type: protobuf.Type, json: Json, path: string, unknown: Map<string, Json>): Record<string, unknown> | unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Any') {
    const { '@type': typeUrl, ...rest } = json as JsonObject;
    if (typeof typeUrl !== 'string') throw new Error(`${path}: an Any without @type`);
    const inner = typeOfAny(typeUrl);
    const plain = fromJson(inner, SPECIAL.has(inner.fullName) ? (rest.value ?? null) : rest, path, unknown);
    return { type_url: typeUrl, value: Buffer.from(inner.encode(inner.fromObject(plain as Record<string, unknown>)).finish()) };
  }
  if (name === '.google.protobuf.Duration') return parseDuration(String(json), path);
  if (name === '.google.protobuf.Timestamp') return parseTimestamp(String(json), path);
  if (WRAPPERS.has(name)) return { value: scalarValue(type.fields.value!, json, path) };
  if (name === '.google.protobuf.Struct') {
    const valueType = fieldOf(type, 'fields')!.resolvedType as protobuf.Type;
    const fields = Object.fromEntries(Object.entries(json as JsonObject).map(([k, v]) => [k, fromJson(valueType, v, `${path}.${k}`, unknown)]));
    return { [fieldOf(type, 'fields')!.name]: fields };
  }
  if (name === '.google.protobuf.Value') {
    const key = (f: string) => fieldOf(type, f)!.name;
    if (json === null) return { [key('null_value')]: 0 };
    if (typeof json === 'number') return { [key('number_value')]: json };
    if (typeof json === 'string') return { [key('string_value')]: json };
    if (typeof json === 'boolean') return { [key('bool_value')]: json };
    if (Array.isArray(json)) return { [key('list_value')]: fromJson(fieldOf(type, 'list_value')!.resolvedType as protobuf.Type, json, path, unknown) };
    return { [key('struct_value')]: fromJson(fieldOf(type, 'struct_value')!.resolvedType as protobuf.Type, json, path, unknown) };
  }
  if (name === '.google.protobuf.ListValue') {
    const values = fieldOf(type, 'values')!;
    return { [values.name]: (json as Json[]).map((v, i) => fromJson(values.resolvedType as protobuf.Type, v, `${path}[${i}]`, unknown)) };
  }
  if (name === '.google.protobuf.FieldMask') {
    return { paths: String(json).split(',').filter(Boolean).map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
  }

  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path}: expected a ${name.slice(1)} object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldOf(type, key);
    const at = path ? `${path}.${key}` : key;
    if (!field) {
      unknown.set(at, value);
      continue;
    }
    if (value === null) continue;
    field.resolve();
    const resolved = field.resolvedType;
    const convert = (v: Json, p: string) => (resolved instanceof protobuf.Type ? fromJson(resolved, v, p, unknown) : scalarValue(field, v, p));
    if (field.map) {
      out[field.name] = Object.fromEntries(Object.entries(value as JsonObject).map(([k, v]) => [k, convert(v, `${at}[${k}]`)]));
    } else if (field.repeated) {
      out[field.name] = (value as Json[]).map((v, i) => convert(v, `${at}[${i}]`));
    } else {
      out[field.name] = convert(value, at);
    }
  }
  return out;
}

/**
 * The JSON form of a message of `typeName` written any valid way, in the one form
 * `messageJson` writes. Fields the protos do not know are added back as `"?path": value`
 * at the top level, so a comparison still sees them.
 */
export function canonicalJson(typeName: string, json: Json): JsonObject {
  const type = lookupEnvoyType(typeName);
  const unknown = new Map<string, Json>();
  const plain = fromJson(type, json, '', unknown) as Record<string, unknown>;
  const message = type.fromObject(plain);
  const err = type.verify(message);
  if (err) throw new Error(`${typeName}: ${err}`);
  const out = messageJson(type, type.encode(message).finish()) as JsonObject;
  for (const [path, value] of unknown) out[`?${path}`] = value;
  return out;
}
