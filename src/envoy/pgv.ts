/**
 * Envoy's protoc-gen-validate (PGV) rules, checked without Envoy. Envoy runs the generated C++
 * validators on every resource and typed_config it receives and NACKs what fails; this reads the
 * same `(validate.rules)` field options, `(validate.required)` oneof options and
 * `(validate.disabled)` / `(validate.ignored)` message options from the protos (through
 * protobufjs reflection, the Root of protos.ts by default) and applies them to a decoded message,
 * recursively, unpacking every Any by its type URL like Envoy does.
 *
 * A rule this file does not implement throws `PgvRuleError` (so it can never pass silently),
 * unless IGNORED_RULES lists it with a reason. `unsupportedRules(root)` lists every such rule a
 * Root contains, so a test can prove the whole loaded API is covered.
 */
import * as net from 'node:net';
import * as protobuf from 'protobufjs';
import { getEnvoyRoot, lookupEnvoyType } from './protos';

export interface PgvViolation {
  /** Field path from the validated message, e.g. `virtual_hosts[0].routes[1].route.cluster_specifier`. */
  path: string;
  /** The rule, as written in the proto: `string.min_len`, `oneof.required`, `uint64.lte`. */
  rule: string;
  message: string;
}

export interface PgvOptions {
  /** Where types (and Any payloads) are looked up. Default: the Envoy Root of protos.ts. */
  root?: protobuf.Root;
  /** An Any whose type the Root does not know: a violation (default) or not checked. */
  unknownAnyTypes?: 'violation' | 'skip';
}

/** A rule that cannot be applied: not implemented, or written for another field type. */
export class PgvRuleError extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
    message: string,
  ) {
    super(`${field}: (validate.rules).${rule}: ${message}`);
    this.name = 'PgvRuleError';
  }
}

/** Rules deliberately not checked, each with the reason. Anything else unknown throws. */
export const IGNORED_RULES: Readonly<Record<string, string>> = {
  'map.no_sparse':
    'a map entry without a value decodes to the default message (in protobufjs as in C++ protobuf), so decoded data can never violate it; Envoy API protos do not use it',
};

/** protobufjs toObject options used for everything validated here (what decodeMessage uses too). */
export const DECODE_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, oneofs: false };

export function formatViolation(v: PgvViolation): string {
  return `${v.path || '<message>'}: ${v.rule} (${v.message})`;
}

/** Checks a decoded message (proto field names, as `decodeMessage` returns) against PGV rules. */
export function validateMessage(type: string | protobuf.Type, value: Record<string, unknown>, options: PgvOptions = {}): PgvViolation[] {
  const root = options.root ?? getEnvoyRoot();
  const resolved = typeof type === 'string' ? (options.root ? root.lookupType(type) : lookupEnvoyType(type)) : type;
  const ctx: Ctx = { root, unknownAny: options.unknownAnyTypes ?? 'violation', out: [] };
  validateType(resolved, value, '', ctx);
  return ctx.out;
}

/** Decodes `bytes` as `type` and validates the result. */
export function validateEncoded(type: string | protobuf.Type, bytes: Uint8Array, options: PgvOptions = {}): PgvViolation[] {
  const root = options.root ?? getEnvoyRoot();
  const resolved = typeof type === 'string' ? root.lookupType(type) : type;
  return validateMessage(resolved, resolved.toObject(resolved.decode(bytes), DECODE_OPTIONS), { ...options, root });
}

/**
 * Every field in `root` whose rules this file cannot apply, as `Type.field: rule: why`. Empty
 * means every PGV rule in those protos is implemented (or listed in IGNORED_RULES).
 */
export function unsupportedRules(root: protobuf.Root = getEnvoyRoot()): string[] {
  const problems: string[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) {
          try {
            compiledRules(field);
          } catch (err) {
            problems.push((err as Error).message);
          }
        }
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Rules as declared

type Rules = Record<string, unknown>;

/** What one set of FieldRules applies to: a single value of this type, or a whole list or map. */
interface Slot {
  /** Scalar proto type name (`uint32`, `string`…), or the resolved message / enum. */
  type: string | protobuf.Type | protobuf.Enum;
  collection?: 'repeated' | 'map';
  /** Map key type (`string`, `uint32`…). */
  keyType?: string;
}

const INT_KINDS = ['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64'];
const NUMERIC_KINDS = new Set([...INT_KINDS, 'float', 'double']);
const NUMERIC_RULES = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'ignore_empty'];
const STRING_WELL_KNOWN = ['email', 'hostname', 'ip', 'ipv4', 'ipv6', 'uri', 'uri_ref', 'address', 'uuid', 'well_known_regex'];

/** Implemented rules per kind. email, uri, uri_ref are left out on purpose: PGV's C++ (Envoy's) does not implement them either. */
const SUPPORTED: Readonly<Record<string, ReadonlySet<string>>> = {
  ...Object.fromEntries([...NUMERIC_KINDS].map((k) => [k, new Set(NUMERIC_RULES)])),
  bool: new Set(['const']),
  string: new Set([
    'const', 'len', 'min_len', 'max_len', 'len_bytes', 'min_bytes', 'max_bytes', 'pattern', 'prefix', 'suffix', 'contains',
    'not_contains', 'in', 'not_in', 'hostname', 'ip', 'ipv4', 'ipv6', 'address', 'uuid', 'well_known_regex', 'strict', 'ignore_empty',
  ]),
  bytes: new Set(['const', 'len', 'min_len', 'max_len', 'pattern', 'prefix', 'suffix', 'contains', 'in', 'not_in', 'ip', 'ipv4', 'ipv6', 'ignore_empty']),
  enum: new Set(['const', 'defined_only', 'in', 'not_in']),
  message: new Set(['skip', 'required']),
  repeated: new Set(['min_items', 'max_items', 'unique', 'items', 'ignore_empty']),
  map: new Set(['min_pairs', 'max_pairs', 'keys', 'values', 'ignore_empty']),
  any: new Set(['required', 'in', 'not_in']),
  duration: new Set(['required', 'const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in']),
};

const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
const ANY = '.google.protobuf.Any';
const DURATION = '.google.protobuf.Duration';
const TIMESTAMP = '.google.protobuf.Timestamp';

interface Compiled {
  rules?: Rules;
}
const compiledCache = new WeakMap<protobuf.Field, Compiled>();

/** The field's `(validate.rules)`, checked once for support and fit; throws PgvRuleError. */
function compiledRules(field: protobuf.Field): Rules | undefined {
  const cached = compiledCache.get(field);
  if (cached) return cached.rules;
  field.resolve();
  const name = `${field.parent?.fullName.slice(1) ?? '?'}.${field.name}`;
  const declared = (field as { parsedOptions?: Array<Record<string, unknown>> | null }).parsedOptions ?? [];
  let rules: Rules | undefined;
  for (const option of declared) {
    if (!('(validate.rules)' in option)) continue;
    rules = deepMerge(rules ?? {}, option['(validate.rules)'] as Rules);
  }
  if (!rules && Object.keys(field.options ?? {}).some((k) => k.startsWith('(validate.rules)'))) {
    throw new PgvRuleError(name, '?', 'rules present in options but not parsed (protobufjs without parsedOptions?)');
  }
  if (rules) checkFieldRules(name, rules, slotOf(field));
  compiledCache.set(field, { rules });
  return rules;
}

function slotOf(field: protobuf.Field): Slot {
  const type = field.resolvedType ?? field.type;
  if (field instanceof protobuf.MapField) return { type, collection: 'map', keyType: field.keyType };
  if (field.repeated) return { type, collection: 'repeated' };
  return { type };
}

function kindOf(rules: Rules, name: string): string | undefined {
  const kinds = Object.keys(rules).filter((k) => k !== 'message');
  if (kinds.length > 1) throw new PgvRuleError(name, kinds.join('+'), 'more than one rule type on one field');
  return kinds[0];
}

/** Throws unless every rule is implemented (or ignored) and fits the type it is applied to. */
function checkFieldRules(name: string, rules: Rules, slot: Slot): void {
  const kind = kindOf(rules, name);
  const allowed = expectedKinds(slot);
  // PGV does not type-check `any` rules, and Envoy has `(validate.rules).any.required` on a
  // ConfigSource (ExtensionConfigSource.config_source): PGV's C++ then checks presence only.
  const anyRequiredOnMessage =
    kind === 'any' && !slot.collection && slot.type instanceof protobuf.Type && isObject(rules.any) && Object.keys(rules.any).every((k) => k === 'required');
  if (kind !== undefined && !allowed.includes(kind) && !anyRequiredOnMessage) {
    throw new PgvRuleError(name, kind, `rule type does not fit a ${describeSlot(slot)} field (expected ${allowed.join(' or ') || 'no rules'})`);
  }
  if (rules.message !== undefined && (slot.collection || !(slot.type instanceof protobuf.Type))) {
    throw new PgvRuleError(name, 'message', `message rules on a ${describeSlot(slot)} field`);
  }
  for (const k of [...(kind ? [kind] : []), ...(rules.message !== undefined ? ['message'] : [])]) {
    const body = rules[k];
    if (body === null || typeof body !== 'object') throw new PgvRuleError(name, k, 'expected a rules object');
    for (const rule of Object.keys(body)) {
      const key = `${k}.${rule}`;
      if (IGNORED_RULES[key]) continue;
      if (!SUPPORTED[k]?.has(rule)) throw new PgvRuleError(name, key, 'rule not implemented by src/envoy/pgv.ts');
    }
  }
  if (kind === 'repeated' && isObject(rules.repeated) && isObject(rules.repeated.items)) {
    checkFieldRules(`${name}[]`, rules.repeated.items, { type: slot.type });
  }
  if (kind === 'map' && isObject(rules.map)) {
    if (isObject(rules.map.keys)) checkFieldRules(`${name}{key}`, rules.map.keys, { type: slot.keyType ?? 'string' });
    if (isObject(rules.map.values)) checkFieldRules(`${name}{value}`, rules.map.values, { type: slot.type });
  }
  if (kind === 'string' && isObject(rules.string)) {
    const wellKnown = STRING_WELL_KNOWN.filter((w) => w in (rules.string as Rules));
    if (wellKnown.length > 1) throw new PgvRuleError(name, 'string', `several well-known formats: ${wellKnown.join(', ')}`);
    const regex = (rules.string as Rules).well_known_regex;
    if (regex !== undefined && !['HTTP_HEADER_NAME', 'HTTP_HEADER_VALUE', 1, 2].includes(regex as string)) {
      throw new PgvRuleError(name, 'string.well_known_regex', `unknown regex ${String(regex)}`);
    }
    const pattern = (rules.string as Rules).pattern;
    if (typeof pattern === 'string') compilePattern(name, pattern);
  }
}

function expectedKinds(slot: Slot): string[] {
  if (slot.collection) return [slot.collection];
  const t = slot.type;
  if (typeof t === 'string') return [t];
  if (t instanceof protobuf.Enum) return ['enum'];
  if (t.fullName === ANY) return ['any'];
  if (t.fullName === DURATION) return ['duration'];
  if (t.fullName === TIMESTAMP) return ['timestamp'];
  const wrapped = WRAPPERS[t.fullName];
  return wrapped ? [wrapped] : [];
}

function describeSlot(slot: Slot): string {
  const t = typeof slot.type === 'string' ? slot.type : slot.type.fullName.slice(1);
  return slot.collection ? `${slot.collection} ${t}` : t;
}

// ---------------------------------------------------------------------------------------------
// Applying rules to decoded values

interface Ctx {
  root: protobuf.Root;
  unknownAny: 'violation' | 'skip';
  out: PgvViolation[];
}

function report(ctx: Ctx, path: string, rule: string, message: string): void {
  ctx.out.push({ path, rule, message });
}

function messageOption(type: protobuf.Type, name: string): boolean {
  return type.options?.[name] === true || (type.parsedOptions ?? []).some((o) => (o as Record<string, unknown>)[name] === true);
}

function validateType(type: protobuf.Type, obj: Record<string, unknown>, path: string, ctx: Ctx): void {
  if (messageOption(type, '(validate.disabled)') || messageOption(type, '(validate.ignored)')) return;
  if (type.fullName === ANY) return validateAnyPayload(obj, path, ctx);
  for (const oneof of type.oneofsArray) {
    if (oneof.options?.['(validate.required)'] !== true) continue;
    if (!oneof.fieldsArray.some((f) => obj[f.name] !== undefined && obj[f.name] !== null)) {
      report(ctx, join(path, oneof.name), 'oneof.required', `exactly one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} must be set`);
    }
  }
  for (const field of type.fieldsArray) validateField(field, obj[field.name], join(path, field.name), ctx);
}

function validateField(field: protobuf.Field, raw: unknown, path: string, ctx: Ctx): void {
  const rules = compiledRules(field);
  const elementType = field.resolvedType ?? field.type;
  if (field instanceof protobuf.MapField) {
    const entries = isObject(raw) ? Object.entries(raw) : [];
    const map = rules?.map as Rules | undefined;
    if (map && !(map.ignore_empty === true && entries.length === 0)) {
      if (map.min_pairs !== undefined && entries.length < num(map.min_pairs)) report(ctx, path, 'map.min_pairs', `at least ${num(map.min_pairs)} entries`);
      if (map.max_pairs !== undefined && entries.length > num(map.max_pairs)) report(ctx, path, 'map.max_pairs', `at most ${num(map.max_pairs)} entries`);
    }
    for (const [key, value] of entries) {
      const at = `${path}[${JSON.stringify(key)}]`;
      if (isObject(map?.keys)) applyValueRules(map.keys, field.keyType, mapKey(field.keyType, key), true, false, at, ctx);
      applyValueRules(isObject(map?.values) ? map.values : undefined, elementType, value, true, false, at, ctx);
    }
    return;
  }
  if (field.repeated) {
    const items = Array.isArray(raw) ? raw : [];
    const repeated = rules?.repeated as Rules | undefined;
    if (repeated && !(repeated.ignore_empty === true && items.length === 0)) {
      if (repeated.min_items !== undefined && items.length < num(repeated.min_items)) {
        report(ctx, path, 'repeated.min_items', `at least ${num(repeated.min_items)} items, got ${items.length}`);
      }
      if (repeated.max_items !== undefined && items.length > num(repeated.max_items)) {
        report(ctx, path, 'repeated.max_items', `at most ${num(repeated.max_items)} items, got ${items.length}`);
      }
      if (repeated.unique === true) {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          const key = uniqueKey(elementType, item);
          if (seen.has(key)) report(ctx, `${path}[${i}]`, 'repeated.unique', 'items must be unique');
          seen.add(key);
        });
      }
    }
    items.forEach((item, i) => applyValueRules(isObject(repeated?.items) ? repeated.items : undefined, elementType, item, true, false, `${path}[${i}]`, ctx));
    return;
  }
  const present = raw !== undefined && raw !== null;
  // A oneof member's rules (even message.required) apply only when it is the member set, as
  // in PGV's generated switch on the oneof case; proto3 `optional` fields likewise.
  if (!present && field.partOf) return;
  applyValueRules(rules, elementType, raw, present, field.hasPresence, path, ctx);
}

/**
 * One value (a singular field, a list item, a map key or value). `present` false means the
 * field is absent: scalars without presence then take their default, as in protobuf.
 */
function applyValueRules(
  rules: Rules | undefined,
  type: string | protobuf.Type | protobuf.Enum,
  value: unknown,
  present: boolean,
  hasPresence: boolean,
  path: string,
  ctx: Ctx,
): void {
  if (type instanceof protobuf.Type) {
    const message = rules?.message as Rules | undefined;
    if (message?.required === true && !present) report(ctx, path, 'message.required', 'must be set');
    const kind = rules ? Object.keys(rules).find((k) => k !== 'message') : undefined;
    if (kind === 'any') checkAny(rules!.any as Rules, present ? (value as Record<string, unknown>) : undefined, path, ctx);
    else if (kind === 'duration') checkDuration(rules!.duration as Rules, present ? (value as Record<string, unknown>) : undefined, path, ctx);
    else if (kind && present && WRAPPERS[type.fullName]) {
      const inner = (value as Record<string, unknown>).value;
      checkScalar(kind, rules![kind] as Rules, inner ?? defaultOf(kind), path, ctx);
    }
    if (present && message?.skip !== true) validateType(type, value as Record<string, unknown>, path, ctx);
    return;
  }
  if (!present && hasPresence) return;
  if (!rules) return;
  const kind = Object.keys(rules).find((k) => k !== 'message');
  if (!kind) return;
  if (type instanceof protobuf.Enum) {
    checkEnum(type, rules.enum as Rules, present ? value : 0, path, ctx);
    return;
  }
  checkScalar(kind, rules[kind] as Rules, present ? value : defaultOf(type), path, ctx);
}

function validateAnyPayload(any: Record<string, unknown>, path: string, ctx: Ctx): void {
  const typeUrl = typeof any.type_url === 'string' ? any.type_url : '';
  if (typeUrl === '') {
    report(ctx, path, 'any.type_url', 'an Any without a type URL cannot be unpacked');
    return;
  }
  const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  let type: protobuf.Type;
  try {
    type = ctx.root.lookupType(typeName);
  } catch {
    if (ctx.unknownAny === 'violation') report(ctx, path, 'any.resolvable', `type ${typeName} is not in the proto Root, so its rules cannot be checked`);
    return;
  }
  const bytes = any.value instanceof Uint8Array ? any.value : typeof any.value === 'string' ? Buffer.from(any.value, 'base64') : new Uint8Array();
  let decoded: Record<string, unknown>;
  try {
    decoded = type.toObject(type.decode(bytes), DECODE_OPTIONS);
  } catch (err) {
    report(ctx, path, 'any.decode', `payload does not decode as ${typeName}: ${(err as Error).message}`);
    return;
  }
  validateType(type, decoded, `${path}<${type.name}>`, ctx);
}

// ---------------------------------------------------------------------------------------------
// Per-kind checks

function checkAny(r: Rules, any: Record<string, unknown> | undefined, path: string, ctx: Ctx): void {
  if (!any) {
    if (r.required === true) report(ctx, path, 'any.required', 'must be set');
    return;
  }
  const url = String(any.type_url ?? '');
  if (r.in !== undefined && !list(r.in).includes(url)) report(ctx, path, 'any.in', `type URL ${url} not in ${list(r.in).join(', ')}`);
  if (r.not_in !== undefined && list(r.not_in).includes(url)) report(ctx, path, 'any.not_in', `type URL ${url} not allowed`);
}

function durationNanos(d: unknown): bigint {
  const o = isObject(d) ? d : {};
  return bigOf(o.seconds ?? 0) * 1_000_000_000n + bigOf(o.nanos ?? 0);
}

function checkDuration(r: Rules, d: Record<string, unknown> | undefined, path: string, ctx: Ctx): void {
  if (!d) {
    if (r.required === true) report(ctx, path, 'duration.required', 'must be set');
    return;
  }
  const v = durationNanos(d);
  const show = (n: bigint) => `${Number(n) / 1e9}s`;
  checkOrdered('duration', r, v, durationNanos, show, path, ctx);
}

function checkEnum(type: protobuf.Enum, r: Rules, value: unknown, path: string, ctx: Ctx): void {
  const n = typeof value === 'string' ? type.values[value] : Number(value);
  if (n === undefined) {
    report(ctx, path, 'enum.defined_only', `unknown ${type.name} name ${String(value)}`);
    return;
  }
  if (r.defined_only === true && !Object.values(type.values).includes(n)) report(ctx, path, 'enum.defined_only', `${n} is not a defined ${type.name} value`);
  if (r.const !== undefined && n !== num(r.const)) report(ctx, path, 'enum.const', `must be ${String(r.const)}`);
  if (r.in !== undefined && !list(r.in).map(num).includes(n)) report(ctx, path, 'enum.in', `must be one of ${list(r.in).join(', ')}`);
  if (r.not_in !== undefined && list(r.not_in).map(num).includes(n)) report(ctx, path, 'enum.not_in', `must not be ${enumName(type, n)} (${n})`);
}

function checkScalar(kind: string, r: Rules, value: unknown, path: string, ctx: Ctx): void {
  if (kind === 'bool') {
    if (r.const !== undefined && Boolean(value) !== r.const) report(ctx, path, 'bool.const', `must be ${String(r.const)}`);
  } else if (kind === 'string') {
    checkString(r, typeof value === 'string' ? value : String(value ?? ''), path, ctx);
  } else if (kind === 'bytes') {
    checkBytes(r, toBytes(value), path, ctx);
  } else if (INT_KINDS.includes(kind)) {
    const v = bigOf(value);
    if (r.ignore_empty === true && v === 0n) return;
    checkOrdered(kind, r, v, bigOf, String, path, ctx);
  } else {
    const v = Number(value ?? 0);
    if (r.ignore_empty === true && v === 0) return;
    checkOrdered(kind, r, v, Number, String, path, ctx);
  }
}

/** const, in, not_in, and gt/gte/lt/lte with PGV's semantics (lt below gt = outside the range). */
function checkOrdered<T extends number | bigint>(
  kind: string,
  r: Rules,
  v: T,
  conv: (x: unknown) => T,
  show: (x: T) => string,
  path: string,
  ctx: Ctx,
): void {
  if (r.const !== undefined && v !== conv(r.const)) report(ctx, path, `${kind}.const`, `must equal ${show(conv(r.const))}`);
  if (r.in !== undefined && !list(r.in).map(conv).includes(v)) report(ctx, path, `${kind}.in`, `must be one of ${list(r.in).map((x) => show(conv(x))).join(', ')}`);
  if (r.not_in !== undefined && list(r.not_in).map(conv).includes(v)) report(ctx, path, `${kind}.not_in`, `must not be ${show(v)}`);
  const lowKey = r.gt !== undefined ? 'gt' : r.gte !== undefined ? 'gte' : undefined;
  const highKey = r.lt !== undefined ? 'lt' : r.lte !== undefined ? 'lte' : undefined;
  const low = lowKey ? conv(r[lowKey]) : undefined;
  const high = highKey ? conv(r[highKey]) : undefined;
  const aboveLow = low === undefined || (lowKey === 'gt' ? v > low : v >= low);
  const belowHigh = high === undefined || (highKey === 'lt' ? v < high : v <= high);
  if (low !== undefined && high !== undefined && high < low) {
    // PGV: an upper bound below the lower bound means "outside [high, low]".
    if (!aboveLow && !belowHigh) report(ctx, path, `${kind}.${lowKey}+${highKey}`, `${show(v)} must be outside [${show(high)}, ${show(low)}]`);
    return;
  }
  if (!aboveLow) report(ctx, path, `${kind}.${lowKey}`, `${show(v)} must be ${lowKey === 'gt' ? '>' : '>='} ${show(low!)}`);
  if (!belowHigh) report(ctx, path, `${kind}.${highKey}`, `${show(v)} must be ${highKey === 'lt' ? '<' : '<='} ${show(high!)}`);
}

// PGV's own patterns (templates/goshared/register.go, C++ the same). Note `+-.` is a range that
// includes ',' — kept as PGV has it, since that is what Envoy enforces.
const HTTP_HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~\x60]+$/;
const HTTP_HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
/** `strict: false`: only NUL, CR and LF are refused. */
const HEADER_STRING = /^[^\u0000\u000A\u000D]*$/;

function checkString(r: Rules, s: string, path: string, ctx: Ctx): void {
  if (r.ignore_empty === true && s === '') return;
  const runes = [...s].length;
  const bytes = Buffer.byteLength(s, 'utf8');
  const fail = (rule: string, message: string) => report(ctx, path, `string.${rule}`, message);
  if (r.const !== undefined && s !== r.const) fail('const', `must equal ${JSON.stringify(r.const)}`);
  if (r.in !== undefined && !list(r.in).includes(s)) fail('in', `${JSON.stringify(s)} must be one of ${list(r.in).map((x) => JSON.stringify(x)).join(', ')}`);
  if (r.not_in !== undefined && list(r.not_in).includes(s)) fail('not_in', `${JSON.stringify(s)} is not allowed`);
  if (r.len !== undefined && runes !== num(r.len)) fail('len', `must be ${num(r.len)} characters, got ${runes}`);
  if (r.min_len !== undefined && runes < num(r.min_len)) fail('min_len', `must be at least ${num(r.min_len)} characters, got ${runes}`);
  if (r.max_len !== undefined && runes > num(r.max_len)) fail('max_len', `must be at most ${num(r.max_len)} characters, got ${runes}`);
  if (r.len_bytes !== undefined && bytes !== num(r.len_bytes)) fail('len_bytes', `must be ${num(r.len_bytes)} bytes, got ${bytes}`);
  if (r.min_bytes !== undefined && bytes < num(r.min_bytes)) fail('min_bytes', `must be at least ${num(r.min_bytes)} bytes, got ${bytes}`);
  if (r.max_bytes !== undefined && bytes > num(r.max_bytes)) fail('max_bytes', `must be at most ${num(r.max_bytes)} bytes, got ${bytes}`);
  if (typeof r.prefix === 'string' && !s.startsWith(r.prefix)) fail('prefix', `must start with ${JSON.stringify(r.prefix)}`);
  if (typeof r.suffix === 'string' && !s.endsWith(r.suffix)) fail('suffix', `must end with ${JSON.stringify(r.suffix)}`);
  if (typeof r.contains === 'string' && !s.includes(r.contains)) fail('contains', `must contain ${JSON.stringify(r.contains)}`);
  if (typeof r.not_contains === 'string' && s.includes(r.not_contains)) fail('not_contains', `must not contain ${JSON.stringify(r.not_contains)}`);
  if (typeof r.pattern === 'string' && !compilePattern(path, r.pattern).test(s)) fail('pattern', `must fully match ${r.pattern}`);
  if (r.ip === true && net.isIP(s) === 0) fail('ip', 'must be an IP address');
  if (r.ipv4 === true && !net.isIPv4(s)) fail('ipv4', 'must be an IPv4 address');
  if (r.ipv6 === true && !net.isIPv6(s)) fail('ipv6', 'must be an IPv6 address');
  if (r.hostname === true && !isHostname(s)) fail('hostname', 'must be a host name');
  if (r.address === true && !isHostname(s) && net.isIP(s) === 0) fail('address', 'must be a host name or an IP address');
  if (r.uuid === true && !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) fail('uuid', 'must be a UUID');
  if (r.well_known_regex !== undefined) {
    const which = r.well_known_regex === 1 ? 'HTTP_HEADER_NAME' : r.well_known_regex === 2 ? 'HTTP_HEADER_VALUE' : String(r.well_known_regex);
    const strict = r.strict !== false;
    const re = !strict ? HEADER_STRING : which === 'HTTP_HEADER_NAME' ? HTTP_HEADER_NAME : HTTP_HEADER_VALUE;
    if (!re.test(s)) {
      fail(`well_known_regex`, `${JSON.stringify(s)} is not a valid ${which}${strict ? '' : ' (strict: false: no NUL, CR or LF)'}`);
    }
  }
}

function checkBytes(r: Rules, b: Buffer, path: string, ctx: Ctx): void {
  if (r.ignore_empty === true && b.length === 0) return;
  const fail = (rule: string, message: string) => report(ctx, path, `bytes.${rule}`, message);
  const eq = (x: unknown) => b.equals(toBytes(x));
  if (r.const !== undefined && !eq(r.const)) fail('const', 'must equal the constant');
  if (r.in !== undefined && !list(r.in).some(eq)) fail('in', 'must be one of the listed values');
  if (r.not_in !== undefined && list(r.not_in).some(eq)) fail('not_in', 'value not allowed');
  if (r.len !== undefined && b.length !== num(r.len)) fail('len', `must be ${num(r.len)} bytes, got ${b.length}`);
  if (r.min_len !== undefined && b.length < num(r.min_len)) fail('min_len', `must be at least ${num(r.min_len)} bytes, got ${b.length}`);
  if (r.max_len !== undefined && b.length > num(r.max_len)) fail('max_len', `must be at most ${num(r.max_len)} bytes, got ${b.length}`);
  if (r.prefix !== undefined && !b.subarray(0, toBytes(r.prefix).length).equals(toBytes(r.prefix))) fail('prefix', 'must start with the prefix');
  if (r.suffix !== undefined && !b.subarray(b.length - toBytes(r.suffix).length).equals(toBytes(r.suffix))) fail('suffix', 'must end with the suffix');
  if (r.contains !== undefined && b.indexOf(toBytes(r.contains)) < 0) fail('contains', 'must contain the bytes');
  if (typeof r.pattern === 'string' && !compilePattern(path, r.pattern).test(b.toString('latin1'))) fail('pattern', `must fully match ${r.pattern}`);
  if (r.ip === true && b.length !== 4 && b.length !== 16) fail('ip', 'must be 4 or 16 bytes');
  if (r.ipv4 === true && b.length !== 4) fail('ipv4', 'must be 4 bytes');
  if (r.ipv6 === true && b.length !== 16) fail('ipv6', 'must be 16 bytes');
}

// ---------------------------------------------------------------------------------------------
// Helpers

const patternCache = new Map<string, RegExp>();

/**
 * PGV's C++ (what Envoy runs) uses RE2::FullMatch, so the pattern is anchored at both ends.
 * JavaScript's engine stands in for RE2: fine for the character-class patterns Envoy's API uses;
 * a pattern it cannot compile throws rather than passing.
 */
function compilePattern(where: string, pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 'u');
    } catch (err) {
      throw new PgvRuleError(where, 'string.pattern', `cannot compile ${pattern}: ${(err as Error).message}`);
    }
    patternCache.set(pattern, re);
  }
  return re;
}

function isHostname(s: string): boolean {
  const host = s.endsWith('.') ? s.slice(0, -1) : s;
  if (s.length > 253 || host === '') return false;
  return host.split('.').every((part) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(part));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : x === undefined ? [] : [x];
}

function num(x: unknown): number {
  return Number(typeof x === 'object' && x !== null ? String(x) : x);
}

/** int64 values arrive as strings (longs: String), numbers, or Long objects. */
function bigOf(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number') return BigInt(Math.trunc(x));
  if (typeof x === 'string') return x === '' ? 0n : BigInt(x);
  if (x && typeof x === 'object') return BigInt(String(x));
  return 0n;
}

function toBytes(x: unknown): Buffer {
  if (x instanceof Uint8Array) return Buffer.from(x);
  if (typeof x === 'string') return Buffer.from(x, 'base64');
  return Buffer.alloc(0);
}

function defaultOf(type: string | protobuf.Enum): unknown {
  if (type instanceof protobuf.Enum) return 0;
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'bytes') return Buffer.alloc(0);
  return 0;
}

/** Map keys come back as strings; integer keys stay strings (bigOf reads them). */
function mapKey(keyType: string, key: string): unknown {
  return keyType === 'bool' ? key === 'true' : key;
}

function uniqueKey(type: string | protobuf.Type | protobuf.Enum, item: unknown): string {
  if (type instanceof protobuf.Enum) return String(typeof item === 'string' ? type.values[item] : item);
  if (item instanceof Uint8Array) return Buffer.from(item).toString('base64');
  if (typeof type === 'string' && INT_KINDS.includes(type)) return bigOf(item).toString();
  return typeof item === 'object' ? JSON.stringify(item) : String(item);
}

function enumName(type: protobuf.Enum, n: number): string {
  return type.valuesById[n] ?? String(n);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function deepMerge(a: Rules, b: Rules): Rules {
  const out: Rules = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Rules, v) : v;
  return out;
}
