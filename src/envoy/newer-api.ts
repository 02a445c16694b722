/**
 * Envoy API fields newer than the protos bundled in @grpc/grpc-js-xds 1.14.1, declared here from
 * Envoy's own API (envoyproxy/envoy api/, mirrored as envoyproxy/data-plane-api; the numbers and
 * validation rules below are those of the .proto files, not copies of them) and added to the
 * loaded protobufjs Root at load time. So encode.ts's unknown-field check, the PGV checks and
 * decoding all know them, while a misspelling still fails. Their TypeScript side is
 * newer-api-types.ts (module augmentation of the generated interfaces).
 *
 * No npm package ships a newer Envoy API that Tether could load instead: the xDS clients on npm
 * bundle what they implement, and grpc-js-xds (the one real client here) is at 1.14.1.
 *
 * Tether sends these only to Envoys whose build has them (`since`; model/node-targets.ts picks
 * the features per node). An older Envoy would not NACK them: Envoy ignores unknown fields in
 * xDS resources (with a warning), so sending them blindly would fail silently, not loudly.
 *
 * When a later grpc-js-xds bundles one of them, `addNewerEnvoyApi` finds it already there and
 * checks that the bundled declaration agrees (number, type, label) instead of adding it again.
 */
import * as protobuf from 'protobufjs';

interface NewerField {
  /** Fully-qualified message the field belongs to. */
  message: string;
  name: string;
  id: number;
  /** Scalar type or fully-qualified message name (resolved against the Root). */
  type: string;
  repeated?: boolean;
  /** The oneof of `message` the field joins. */
  oneof?: string;
  /** `(validate.rules)` as declared on the field, in protobufjs' parsedOptions shape. */
  rules?: Record<string, unknown>;
  /** First Envoy release that has it: major.minor. */
  since: string;
}

interface NewerMessage {
  /** Fully-qualified name of the new message. */
  name: string;
  fields: Array<Omit<NewerField, 'message' | 'since'>>;
  since: string;
}

const HEADER_NAME_RULES = { string: { min_len: 1, max_bytes: 16384, well_known_regex: 'HTTP_HEADER_NAME', strict: false } };
const HEADER_VALUE_RULES = { string: { max_bytes: 16384, well_known_regex: 'HTTP_HEADER_VALUE', strict: false } };

/** envoy/type/http/v3/cookie.proto: `message CookieAttribute` (envoyproxy/envoy#40084, Envoy 1.35). */
export const NEWER_MESSAGES: readonly NewerMessage[] = [
  {
    name: 'envoy.type.http.v3.CookieAttribute',
    since: '1.35',
    fields: [
      { name: 'name', id: 1, type: 'string', rules: HEADER_NAME_RULES },
      { name: 'value', id: 2, type: 'string', rules: HEADER_VALUE_RULES },
    ],
  },
];

export const NEWER_FIELDS: readonly NewerField[] = [
  // envoy/config/route/v3/route_components.proto, WeightedCluster:
  //   oneof random_value_specifier { string header_name = 4; google.protobuf.BoolValue use_hash_policy = 5; }
  // (envoyproxy/envoy#41244, Envoy 1.36): the route's hash policy picks the weighted cluster.
  {
    message: 'envoy.config.route.v3.WeightedCluster',
    name: 'use_hash_policy',
    id: 5,
    type: 'google.protobuf.BoolValue',
    oneof: 'random_value_specifier',
    since: '1.36',
  },
  // envoy/type/http/v3/cookie.proto, Cookie: `repeated CookieAttribute attributes = 4;`
  // (envoyproxy/envoy#40084, Envoy 1.35): attributes of the stateful-session cookie.
  { message: 'envoy.type.http.v3.Cookie', name: 'attributes', id: 4, type: 'envoy.type.http.v3.CookieAttribute', repeated: true, since: '1.35' },
];

function withRules(field: protobuf.Field, rules: Record<string, unknown> | undefined): protobuf.Field {
  if (rules) (field as unknown as { parsedOptions: unknown[] }).parsedOptions = [{ '(validate.rules)': rules }];
  return field;
}

function namespaceOf(root: protobuf.Root, fullName: string): { ns: protobuf.Namespace; name: string } {
  const dot = fullName.lastIndexOf('.');
  const ns = root.lookup(fullName.slice(0, dot));
  if (!(ns instanceof protobuf.Namespace)) throw new Error(`newer Envoy API: no package ${fullName.slice(0, dot)} to add ${fullName} to`);
  return { ns, name: fullName.slice(dot + 1) };
}

function sameField(existing: protobuf.Field, wanted: Pick<NewerField, 'id' | 'type' | 'repeated'>, where: string): void {
  existing.resolve();
  const type = existing.resolvedType ? existing.resolvedType.fullName.slice(1) : existing.type;
  if (existing.id !== wanted.id || type !== wanted.type || existing.repeated !== (wanted.repeated ?? false)) {
    throw new Error(
      `newer Envoy API: the bundled protos declare ${where} as ${existing.repeated ? 'repeated ' : ''}${type} = ${existing.id}, ` +
        `Tether as ${wanted.repeated ? 'repeated ' : ''}${wanted.type} = ${wanted.id}`,
    );
  }
}

/** Adds NEWER_MESSAGES and NEWER_FIELDS to an Envoy Root (in place), then resolves it. */
export function addNewerEnvoyApi(root: protobuf.Root): protobuf.Root {
  for (const message of NEWER_MESSAGES) {
    const { ns, name } = namespaceOf(root, message.name);
    const existing = ns.get(name);
    if (existing instanceof protobuf.Type) {
      for (const f of message.fields) {
        const field = existing.fields[f.name];
        if (!field) throw new Error(`newer Envoy API: bundled ${message.name} has no field ${f.name}`);
        sameField(field, f, `${message.name}.${f.name}`);
      }
      continue;
    }
    const type = new protobuf.Type(name);
    for (const f of message.fields) type.add(withRules(new protobuf.Field(f.name, f.id, f.type, f.repeated ? 'repeated' : undefined), f.rules));
    ns.add(type);
  }
  for (const f of NEWER_FIELDS) {
    const type = root.lookupType(f.message);
    const existing = type.fields[f.name];
    if (existing) {
      sameField(existing, f, `${f.message}.${f.name}`);
      continue;
    }
    if (type.fieldsById[f.id]) throw new Error(`newer Envoy API: ${f.message} already has field number ${f.id} (${type.fieldsById[f.id]!.name})`);
    const field = withRules(new protobuf.Field(f.name, f.id, f.type, f.repeated ? 'repeated' : undefined), f.rules);
    type.add(field);
    if (f.oneof) {
      const oneof = type.oneofs?.[f.oneof];
      if (!oneof) throw new Error(`newer Envoy API: ${f.message} has no oneof ${f.oneof}`);
      oneof.add(field);
    }
  }
  root.resolveAll();
  return root;
}
