/**
 * Envoy's YAML/JSON config form (proto3 JSON mapping, as Envoy reads a bootstrap) → plain
 * objects protobufjs encodes. What differs from protobufjs' own `fromObject`:
 *
 * - `{"@type": URL, ...fields}` becomes a packed Any, its payload converted and encoded through
 *   the real type (checked with assertKnownFields first, so a misspelled field inside a
 *   typed_config fails too);
 * - durations are strings (`"30s"`, `"0.25s"`), wrappers are bare scalars, Struct/Value/ListValue
 *   are plain JSON, bytes are base64;
 * - a scalar of the wrong JSON type (a number where a string belongs) is an error, as in
 *   protobuf's JSON parser, instead of being coerced;
 * - field names may be snake_case or lowerCamelCase.
 *
 * Unknown keys are left in place for `assertKnownFields` to reject with its own message.
 */
import * as protobuf from 'protobufjs';
import { assertKnownFields } from '../../src/envoy/encode';

export class EnvoyJsonError extends Error {
  constructor(path: string, message: string) {
    super(`${path || '<root>'}: ${message}`);
    this.name = 'EnvoyJsonError';
  }
}

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

export function fromEnvoyJson(root: protobuf.Root, type: protobuf.Type, json: unknown, path = ''): Record<string, unknown> {
  const name = type.fullName;
  if (name === '.google.protobuf.Any') return packAny(root, json, path);
  if (name === '.google.protobuf.Duration' && typeof json === 'string') return parseDuration(json, path);
  if (WRAPPERS.has(name) && (typeof json !== 'object' || json === null)) {
    return { value: scalar(type.fields.value!, json, path) };
  }
  if (name === '.google.protobuf.Struct') return { fields: mapValues(object(json, path), (v, k) => toValue(root, v, `${path}.${k}`)) };
  if (name === '.google.protobuf.Value') return toValue(root, json, path);
  if (name === '.google.protobuf.ListValue') return { values: array(json, path).map((v, i) => toValue(root, v, `${path}[${i}]`)) };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object(json, path))) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => camel(f.name) === key);
    const at = path ? `${path}.${key}` : key;
    if (!field) {
      out[key] = value; // assertKnownFields names it
      continue;
    }
    if (value === null) continue;
    field.resolve();
    if (field instanceof protobuf.MapField) {
      out[field.name] = mapValues(object(value, at), (v, k) => element(root, field, v, `${at}[${k}]`));
    } else if (field.repeated) {
      out[field.name] = array(value, at).map((v, i) => element(root, field, v, `${at}[${i}]`));
    } else {
      out[field.name] = element(root, field, value, at);
    }
  }
  return out;
}

function element(root: protobuf.Root, field: protobuf.Field, value: unknown, path: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return fromEnvoyJson(root, t, value, path);
  if (t instanceof protobuf.Enum) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new EnvoyJsonError(path, `expected a ${t.name} name`);
    return value;
  }
  return scalar(field, value, path);
}

function scalar(field: protobuf.Field, value: unknown, path: string): unknown {
  const t = field.type;
  const fail = (): never => {
    throw new EnvoyJsonError(path, `expected a ${t}, got ${JSON.stringify(value)}`);
  };
  if (t === 'string') return typeof value === 'string' ? value : fail();
  if (t === 'bool') return typeof value === 'boolean' ? value : fail();
  if (t === 'bytes') return typeof value === 'string' ? Buffer.from(value, 'base64') : fail();
  if (INT64.has(t)) return typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)) ? String(value) : fail();
  if (INT32.has(t)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    return typeof n === 'number' && Number.isInteger(n) ? n : fail();
  }
  return typeof value === 'number' ? value : fail(); // float, double
}

function packAny(root: protobuf.Root, json: unknown, path: string): Record<string, unknown> {
  const obj = object(json, path);
  const url = obj['@type'];
  if (typeof url !== 'string') throw new EnvoyJsonError(path, 'an Any needs "@type"');
  const typeName = url.slice(url.lastIndexOf('/') + 1);
  let inner: protobuf.Type;
  try {
    inner = root.lookupType(typeName);
  } catch {
    throw new EnvoyJsonError(path, `unknown type ${typeName} (not in the proto Root)`);
  }
  const { '@type': _ignored, ...fields } = obj;
  // Types with a special JSON form carry it under "value" inside an Any.
  const special = inner.fullName === '.google.protobuf.Duration' || inner.fullName === '.google.protobuf.Struct' || WRAPPERS.has(inner.fullName);
  const message = fromEnvoyJson(root, inner, special ? fields.value : fields, `${path}<${inner.name}>`);
  assertKnownFields(inner, message, '', `${path}<${inner.name}>`);
  const built = inner.fromObject(message);
  const err = inner.verify(built);
  if (err) throw new EnvoyJsonError(path, `${inner.name}: ${err}`);
  return { type_url: url, value: Buffer.from(inner.encode(built).finish()) };
}

/** Protobuf JSON durations: optional sign, seconds, up to 9 fractional digits, "s". */
function parseDuration(text: string, path: string): Record<string, unknown> {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new EnvoyJsonError(path, `invalid duration ${JSON.stringify(text)} (expected e.g. "30s" or "0.25s")`);
  const sign = m[1] ? -1 : 1;
  const nanos = Number((m[3] ?? '').padEnd(9, '0'));
  return { seconds: String(sign * Number(m[2])), nanos: sign * nanos };
}

/**
 * JSON → google.protobuf.Value. Its field names come from the Root: protobufjs defines the
 * google/protobuf types itself, with camelCase names (`stringValue`) even under keepCase.
 */
function toValue(root: protobuf.Root, v: unknown, path: string): Record<string, unknown> {
  const valueType = root.lookupType('google.protobuf.Value');
  const key = (snake: string) => (valueType.fields[snake] ? snake : camel(snake));
  if (v === null) return { [key('null_value')]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [key('number_value')]: v };
  if (typeof v === 'string') return { [key('string_value')]: v };
  if (typeof v === 'boolean') return { [key('bool_value')]: v };
  if (Array.isArray(v)) return { [key('list_value')]: { values: v.map((x, i) => toValue(root, x, `${path}[${i}]`)) } };
  if (typeof v === 'object') return { [key('struct_value')]: { fields: mapValues(v as Record<string, unknown>, (x, k) => toValue(root, x, `${path}.${k}`)) } };
  throw new EnvoyJsonError(path, `cannot represent ${typeof v} in a Struct`);
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EnvoyJsonError(path, `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new EnvoyJsonError(path, `expected a list, got ${JSON.stringify(v)}`);
  return v;
}

function mapValues<T>(obj: Record<string, unknown>, f: (v: unknown, k: string) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, f(v, k)]));
}

function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
