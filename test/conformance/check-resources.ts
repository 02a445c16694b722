/**
 * What the conformance tests check on translated resources. Round trip: what a translation
 * builds, compared with what a client decodes from the bytes, in one canonical form where only
 * representation differences are erased (int64 as number/string/Long, enums by number or name, bytes as Buffer or base64,
 * absent vs. default scalars without presence). Everything else (a wrapped uint32, a value of
 * the wrong type coerced by protobufjs, two members of one oneof, a float losing precision)
 * shows up as a difference.
 */
import * as protobuf from 'protobufjs';
import { decodeMessage, encodeMessage } from '../../src/envoy/encode';
import type { EnvoyMessageName } from '../../src/envoy/messages';
import { formatViolation, validateMessage } from '../../src/envoy/pgv';
import { getEnvoyRoot, lookupEnvoyType } from '../../src/envoy/protos';
import type { EnvoyResources } from '../../src/translate';

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const ANY = '.google.protobuf.Any';

export function canonical(type: protobuf.Type, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { '?not-a-message': String(value) };
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const oneofNames = new Set(Object.keys(type.oneofs ?? {}));
  for (const key of Object.keys(obj).sort()) {
    const field = type.fields[key];
    const raw = obj[key];
    if (raw === undefined || raw === null) continue;
    if (!field) {
      // proto-loader's virtual oneof member name (`--oneofs`) is not data.
      if (!(oneofNames.has(key) && typeof raw === 'string')) out[`?unknown.${key}`] = raw;
      continue;
    }
    field.resolve();
    const elementType = field.resolvedType ?? field.type;
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(raw as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (entries.length > 0) out[key] = Object.fromEntries(entries.map(([k, v]) => [k, canonicalValue(elementType, v)]));
    } else if (field.repeated) {
      const items = Array.isArray(raw) ? raw : [raw];
      if (items.length > 0) out[key] = items.map((v) => canonicalValue(elementType, v));
    } else {
      const v = canonicalValue(elementType, raw);
      if (elementType instanceof protobuf.Type || field.hasPresence || !isDefault(elementType, v)) out[key] = v;
    }
  }
  return out;
}

function canonicalValue(type: string | protobuf.Type | protobuf.Enum, v: unknown): unknown {
  if (type instanceof protobuf.Type) {
    if (type.fullName === ANY) {
      const any = v as { type_url?: unknown; value?: unknown };
      return { type_url: any.type_url ?? '', value: bytes(any.value) };
    }
    return canonical(type, v);
  }
  if (type instanceof protobuf.Enum) return typeof v === 'number' && type.valuesById[v] !== undefined ? type.valuesById[v] : v;
  if (INT64.has(type)) {
    try {
      return BigInt(typeof v === 'object' && v !== null ? String(v) : (v as string | number)).toString();
    } catch {
      return `?not-an-integer:${String(v)}`;
    }
  }
  if (type === 'bytes') return bytes(v);
  return v;
}

function bytes(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return typeof v === 'string' ? v : '';
}

function isDefault(type: string | protobuf.Enum, v: unknown): boolean {
  if (type instanceof protobuf.Enum) return v === type.valuesById[0] || v === 0;
  if (INT64.has(type)) return v === '0';
  if (type === 'string' || type === 'bytes') return v === '';
  if (type === 'bool') return v === false;
  return v === 0;
}

/**
 * Every Any under a decoded message must re-encode to exactly its bytes once decoded through
 * its type: protobufjs drops unknown fields on decode, so a payload carrying fields the proto
 * does not have (or that decodes lossily) comes back different. Returns `path: problem` lines.
 */
export function anyPayloadProblems(root: protobuf.Root, type: protobuf.Type, value: unknown, path = ''): string[] {
  const problems: string[] = [];
  const visit = (t: protobuf.Type, v: unknown, at: string): void => {
    if (v === null || typeof v !== 'object') return;
    const obj = v as Record<string, unknown>;
    if (t.fullName === ANY) {
      const url = String(obj.type_url ?? '');
      const name = url.slice(url.lastIndexOf('/') + 1);
      let inner: protobuf.Type;
      try {
        inner = root.lookupType(name);
      } catch {
        problems.push(`${at}: Any type ${name} is not in the proto Root`);
        return;
      }
      const payload = obj.value instanceof Uint8Array ? obj.value : new Uint8Array();
      const message = inner.decode(payload);
      const again = inner.encode(message).finish();
      if (!Buffer.from(again).equals(Buffer.from(payload))) {
        problems.push(`${at}: ${name} payload does not re-encode to the same ${payload.length} bytes (unknown or lossy fields)`);
      }
      visit(inner, inner.toObject(message, { longs: String, enums: String, defaults: false }), `${at}<${inner.name}>`);
      return;
    }
    for (const field of t.fieldsArray) {
      field.resolve();
      const fv = obj[field.name];
      if (!(field.resolvedType instanceof protobuf.Type) || fv === undefined || fv === null) continue;
      const child = field.resolvedType;
      if (field instanceof protobuf.MapField) for (const [k, x] of Object.entries(fv as object)) visit(child, x, `${at}.${field.name}[${k}]`);
      else if (field.repeated) (fv as unknown[]).forEach((x, i) => visit(child, x, `${at}.${field.name}[${i}]`));
      else visit(child, fv, at ? `${at}.${field.name}` : field.name);
    }
  };
  visit(type, value, path);
  return problems;
}

/** Paths where two canonical forms differ, as `path: sent …, decoded …` (empty when equal). */
export function differences(sent: unknown, decoded: unknown, path = ''): string[] {
  if (Object.is(sent, decoded)) return [];
  const bothObjects = sent !== null && decoded !== null && typeof sent === 'object' && typeof decoded === 'object';
  if (bothObjects && Array.isArray(sent) === Array.isArray(decoded)) {
    const a = sent as Record<string, unknown>;
    const b = decoded as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences(a[k], b[k], Array.isArray(sent) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) => (v === undefined ? '(absent: default)' : JSON.stringify(v));
  return [`${path || '<message>'}: sent ${show(sent)}, decoded ${show(decoded)}`];
}

const KINDS_OF_RESOURCE: ReadonlyArray<[keyof EnvoyResources, EnvoyMessageName, string]> = [
  ['listeners', 'envoy.config.listener.v3.Listener', 'name'],
  ['routes', 'envoy.config.route.v3.RouteConfiguration', 'name'],
  ['clusters', 'envoy.config.cluster.v3.Cluster', 'name'],
  ['endpoints', 'envoy.config.endpoint.v3.ClusterLoadAssignment', 'cluster_name'],
  ['secrets', 'envoy.extensions.transport_sockets.tls.v3.Secret', 'name'],
];

/**
 * Every round-trip difference and PGV violation in one node kind's resources, as
 * `resource: problem` lines (empty: Envoy's protos and rules accept them all).
 */
export function conformanceProblems(resources: EnvoyResources): string[] {
  const problems: string[] = [];
  for (const [list, typeName, nameField] of KINDS_OF_RESOURCE) {
    const type = lookupEnvoyType(typeName);
    (resources[list] ?? []).forEach((resource, i) => {
      const label = `${list}[${String((resource as Record<string, unknown>)[nameField] ?? i)}]`;
      let bytes: Buffer;
      try {
        bytes = encodeMessage(typeName, resource as never);
      } catch (err) {
        problems.push(`${label}: does not encode: ${(err as Error).message}`);
        return;
      }
      const decoded = decodeMessage(typeName, bytes);
      for (const d of differences(canonical(type, resource), canonical(type, decoded))) problems.push(`${label}: round trip: ${d}`);
      for (const p of anyPayloadProblems(getEnvoyRoot(), type, decoded)) problems.push(`${label}: round trip: ${p}`);
      for (const v of validateMessage(type, decoded)) problems.push(`${label}: ${formatViolation(v)}`);
    });
  }
  return problems;
}

