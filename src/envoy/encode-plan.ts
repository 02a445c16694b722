import * as protobuf from 'protobufjs';

/**
 * The fast path of encode.ts: per message type a plan, computed once, that checks a plain
 * message object and turns it into what protobufjs's generated `encode` writes the same bytes
 * from as from `fromObject`'s result (enum names become their numbers; nothing else changes),
 * (and 64-bit decimal strings their numbers), without building message instances, re-checking them with `verify`, or walking the type's
 * reflection per call. Objects that need no change are used as they are.
 *
 * The plan accepts only what it knows fromObject would pass through unchanged. Anything else
 * (an unknown field, an unknown enum name, a hand-made Any, a number out of its field's range,
 * a string where a number belongs...) answers FALLBACK, and the caller runs the strict path
 * (assertKnownFields, fromObject, verify), which reports the error or handles the rare form:
 * the fast path never accepts what the strict path would refuse.
 */
export const FALLBACK: unique symbol = Symbol('fallback to the strict encoder');
type Prepared = object | typeof FALLBACK;

/** A scalar as the generated encoder takes it with fromObject's meaning: the value, a converted value, or FALLBACK. */
type ScalarPlan = (v: unknown) => unknown;

const int = (lo: number, hi: number): ScalarPlan => (v) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v < hi ? v : FALLBACK);
const number: ScalarPlan = (v) => (typeof v === 'number' ? v : FALLBACK);
const DECIMAL = /^-?\d{1,16}$/;
/**
 * 64-bit fields (the translation writes Durations' seconds as strings, like proto3 JSON):
 * a safe integer, or a decimal string of one, encodes to the same bits as the Long fromObject
 * makes of it; the string becomes its number, so that "0" is a default as fromObject's Long is.
 */
const long =
  (unsigned: boolean): ScalarPlan =>
  (v) => {
    const n = typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v;
    return typeof n === 'number' && Number.isSafeInteger(n) && (!unsigned || n >= 0) ? n : FALLBACK;
  };
const is =
  (test: (v: unknown) => boolean): ScalarPlan =>
  (v) => (test(v) ? v : FALLBACK);

const SCALARS: Readonly<Record<string, ScalarPlan>> = {
  double: number,
  float: number,
  int32: int(-(2 ** 31), 2 ** 31),
  sint32: int(-(2 ** 31), 2 ** 31),
  sfixed32: int(-(2 ** 31), 2 ** 31),
  uint32: int(0, 2 ** 32),
  fixed32: int(0, 2 ** 32),
  int64: long(false),
  sint64: long(false),
  sfixed64: long(false),
  uint64: long(true),
  fixed64: long(true),
  bool: is((v) => typeof v === 'boolean'),
  string: is((v) => typeof v === 'string'),
  bytes: is((v) => v instanceof Uint8Array),
};

interface FieldPlan {
  readonly repeated: boolean;
  readonly map: boolean;
  /** For a message field: its type (its plan is made on first use: types may be recursive). */
  readonly message?: protobuf.Type;
  /** For an enum field: name → number. */
  readonly enumValues?: Readonly<Record<string, number>>;
  /** For a scalar field: the value as the encoder takes it. */
  readonly scalar?: ScalarPlan;
}

interface TypePlan {
  readonly isAny: boolean;
  readonly fields: ReadonlyMap<string, FieldPlan>;
  /** proto-loader's `--oneofs` virtual fields (the set member's name): ignored, as by the strict path. */
  readonly oneofs: ReadonlySet<string>;
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields = new Map<string, FieldPlan>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const common = { repeated: field.repeated, map: field.map };
    if (field.map && (field as unknown as protobuf.MapField).keyType !== 'string') continue; // no such map is used: left to the strict path
    if (resolved instanceof protobuf.Type) fields.set(field.name, { ...common, message: resolved });
    else if (resolved instanceof protobuf.Enum) {
      // A closed enum drops unknown numbers in fromObject: such values are left to the strict path.
      const closed = (resolved as unknown as { _features?: { enum_type?: string } })._features?.enum_type === 'CLOSED';
      if (!closed) fields.set(field.name, { ...common, enumValues: resolved.values });
    } else if (SCALARS[field.type]) fields.set(field.name, { ...common, scalar: SCALARS[field.type] });
  }
  plan = { isAny: type.fullName === '.google.protobuf.Any', fields, oneofs: new Set(Object.keys(type.oneofs ?? {})) };
  plans.set(type, plan);
  return plan;
}

/** One value of a field (an element of a repeated field, a map value): itself, its converted form, or FALLBACK. */
function prepareValue(field: FieldPlan, value: unknown): unknown {
  if (field.message) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return FALLBACK;
    return prepareMessage(field.message, value);
  }
  if (field.enumValues) {
    if (typeof value === 'string') {
      const n = field.enumValues[value];
      // `in` would accept Object.prototype's names: only own entries are enum values.
      return n !== undefined && Object.prototype.hasOwnProperty.call(field.enumValues, value) ? n : FALLBACK;
    }
    return typeof value === 'number' && (value | 0) === value ? value : FALLBACK;
  }
  return field.scalar!(value);
}

/** `message` ready for type.encode (the same object when nothing needs converting), or FALLBACK. */
export function prepareMessage(type: protobuf.Type, message: object): Prepared {
  const plan = planOf(type);
  if (plan.isAny) {
    const any = message as Record<string, unknown>;
    // Only what pack() makes: {type_url, value: Buffer}.
    return typeof any.type_url === 'string' && any.value instanceof Uint8Array && Object.keys(any).length === 2 ? message : FALLBACK;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in message) {
    if (!Object.prototype.hasOwnProperty.call(message, key)) continue;
    const value = (message as Record<string, unknown>)[key];
    const field = plan.fields.get(key);
    if (!field) {
      if (plan.oneofs.has(key) && typeof value === 'string') continue;
      return FALLBACK;
    }
    if (value === undefined || value === null) continue;
    let prepared: unknown;
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) return FALLBACK;
      prepared = prepareEntries(field, value as Record<string, unknown>);
    } else if (field.repeated) {
      if (!Array.isArray(value)) return FALLBACK;
      prepared = prepareList(field, value);
    } else prepared = prepareValue(field, value);
    if (prepared === FALLBACK) return FALLBACK;
    if (prepared !== value) (out ??= { ...(message as Record<string, unknown>) })[key] = prepared;
  }
  return out ?? message;
}

function prepareList(field: FieldPlan, list: readonly unknown[]): unknown {
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    const prepared = prepareValue(field, v);
    if (prepared === FALLBACK) return FALLBACK;
    if (prepared !== v) (out ??= list.slice())[i] = prepared;
  }
  return out ?? list;
}

function prepareEntries(field: FieldPlan, entries: Record<string, unknown>): unknown {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(entries)) {
    if (key === '__proto__') return FALLBACK;
    const v = entries[key];
    // A null map value: fromObject would turn it into a default message; leave it to the strict path.
    if (v === undefined || v === null) return FALLBACK;
    const prepared = prepareValue(field, v);
    if (prepared === FALLBACK) return FALLBACK;
    if (prepared !== v) (out ??= { ...entries })[key] = prepared;
  }
  return out ?? entries;
}
