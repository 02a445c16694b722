import * as protobuf from 'protobufjs';
import { FALLBACK, prepareMessage } from './encode-plan';
import { lookupEnvoyType } from './protos';
import { TYPE_PREFIX } from './resource-types';
import type { EnvoyMessageName, EnvoyMessages } from './messages';

/** A google.protobuf.Any whose payload was encoded through the real Envoy proto. */
export interface PackedAny {
  type_url: string;
  value: Buffer;
}

export class EncodeError extends Error {
  constructor(
    readonly typeName: string,
    readonly path: string,
    message: string,
  ) {
    super(`${typeName}${path ? `.${path}` : ''}: ${message}`);
    this.name = 'EncodeError';
  }
}

/**
 * Rejects anything protobufjs would silently drop or coerce: unknown (misspelled) field
 * names, enum names that do not exist, objects where scalars belong, and Any values
 * that were not produced by `pack()`.
 */
export function assertKnownFields(type: protobuf.Type, value: unknown, path = '', rootName = type.fullName.slice(1)): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EncodeError(rootName, path, `expected a ${type.name} message object`);
  }
  if (type.fullName === '.google.protobuf.Any') {
    const any = value as Record<string, unknown>;
    if (typeof any.type_url !== 'string' || !(any.value instanceof Uint8Array) || Object.keys(any).length !== 2) {
      throw new EncodeError(rootName, path, 'an Any must come from pack() ({type_url, value: Buffer})');
    }
    return;
  }
  const oneofNames = new Set(Object.keys(type.oneofs ?? {}));
  for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const field = type.fields[key];
    if (!field) {
      // proto-loader's `--oneofs` virtual field (the name of the set member) is harmless.
      if (oneofNames.has(key) && typeof fieldValue === 'string') continue;
      throw new EncodeError(rootName, fieldPath, `unknown field (not in ${type.fullName.slice(1)})`);
    }
    if (fieldValue === undefined || fieldValue === null) continue;
    field.resolve();
    if (field.map) {
      if (typeof fieldValue !== 'object') throw new EncodeError(rootName, fieldPath, 'expected a map object');
      for (const [k, v] of Object.entries(fieldValue as Record<string, unknown>)) checkValue(field, v, `${fieldPath}[${k}]`, rootName);
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) throw new EncodeError(rootName, fieldPath, 'expected an array');
      fieldValue.forEach((v, i) => checkValue(field, v, `${fieldPath}[${i}]`, rootName));
    } else {
      checkValue(field, fieldValue, fieldPath, rootName);
    }
  }
}

function checkValue(field: protobuf.Field, value: unknown, path: string, rootName: string): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    assertKnownFields(resolved, value, path, rootName);
  } else if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' ? !(value in resolved.values) : typeof value !== 'number') {
      throw new EncodeError(rootName, path, `unknown enum value ${JSON.stringify(value)} for ${resolved.fullName.slice(1)}`);
    }
  } else if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    throw new EncodeError(rootName, path, `expected a ${field.type}, got an object`);
  }
}

const types = new Map<string, protobuf.Type>();

let strictOnly = false;

/** Runs `fn` with every encoding (pack() inside translations too) on the strict path: the reference the fast path is checked against. */
export function withStrictEncoding<T>(fn: () => T): T {
  const before = strictOnly;
  strictOnly = true;
  try {
    return fn();
  } finally {
    strictOnly = before;
  }
}

function typeOf(typeName: string): protobuf.Type {
  let type = types.get(typeName);
  if (!type) types.set(typeName, (type = lookupEnvoyType(typeName)));
  return type;
}

/**
 * Encodes a message through the real Envoy proto, refusing unknown fields. A message the
 * type's plan accepts (encode-plan.ts: every key a field, every enum name known, every value
 * of its field's kind) is written by the type's generated encoder as it is; anything else
 * takes the strict path, which names the error or handles the rare form. Both give the same
 * bytes (test/envoy/encode-plan.test.ts).
 */
export function encodeMessage<K extends EnvoyMessageName>(typeName: K, message: EnvoyMessages[K]): Buffer {
  const type = typeOf(typeName);
  if (strictOnly) return encodeStrictly(typeName, message);
  const prepared = message !== null && typeof message === 'object' && !Array.isArray(message) ? prepareMessage(type, message) : FALLBACK;
  if (prepared === FALLBACK) return encodeStrictly(typeName, message);
  return asBuffer(type.encode(prepared).finish());
}

/** The strict path alone: check every field, build the message with fromObject, verify it, encode. */
export function encodeStrictly<K extends EnvoyMessageName>(typeName: K, message: EnvoyMessages[K]): Buffer {
  const type = typeOf(typeName);
  assertKnownFields(type, message);
  const built = type.fromObject(message as Record<string, unknown>);
  const err = type.verify(built);
  if (err) throw new EncodeError(typeName, '', err);
  return asBuffer(type.encode(built).finish());
}

/** protobufjs's writer already makes a Buffer under Node: no copy then. */
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));

/** Packs a message into an Any (for typed_config fields and xDS resources). */
export function pack<K extends EnvoyMessageName>(typeName: K, message: EnvoyMessages[K]): PackedAny {
  return { type_url: TYPE_PREFIX + typeName, value: encodeMessage(typeName, message) };
}

/** Decodes bytes into a plain object with proto field names (for tests, diffs and golden files). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupEnvoyType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: false, oneofs: false });
}
