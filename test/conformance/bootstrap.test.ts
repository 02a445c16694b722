/**
 * The Envoy bootstraps in envoy/ (no Envoy binary here): each YAML file is read the way Envoy
 * reads it (proto3 JSON form: "@type" Any values, "30s" durations, enum names), encoded through
 * envoy.config.bootstrap.v3.Bootstrap with no unknown field anywhere (typed_config payloads
 * included), decoded back unchanged, and checked against Envoy's PGV rules. Then what Tether
 * relies on: ADS to a static HTTP/2 cluster, the node kind, admin on loopback.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { assertKnownFields } from '../../src/envoy/encode';
import { DECODE_OPTIONS, formatViolation, unsupportedRules, validateMessage } from '../../src/envoy/pgv';
import { ENVOY_INCLUDE_DIRS, ENVOY_PROTO_FILES, loadRoot } from '../../src/envoy/protos';
import { anyPayloadProblems, canonical, differences } from './check-resources';
import { EnvoyJsonError, fromEnvoyJson } from './envoy-json';

const ENVOY_DIR = path.join(__dirname, '..', '..', 'envoy');
const BOOTSTRAPS = fs
  .readdirSync(ENVOY_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Extensions the bootstraps use beyond what Tether itself emits (protos.ts). */
const BOOTSTRAP_EXTENSION_PROTOS = [
  'envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.proto',
  'envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto',
];
const root = loadRoot([...ENVOY_PROTO_FILES, ...BOOTSTRAP_EXTENSION_PROTOS], ENVOY_INCLUDE_DIRS);
const Bootstrap = root.lookupType('envoy.config.bootstrap.v3.Bootstrap');

function readBootstrap(file: string): { message: Record<string, unknown>; decoded: Record<string, unknown> } {
  const json: unknown = parseYaml(fs.readFileSync(path.join(ENVOY_DIR, file), 'utf8'));
  const message = fromEnvoyJson(root, Bootstrap, json);
  assertKnownFields(Bootstrap, message);
  const built = Bootstrap.fromObject(message);
  const err = Bootstrap.verify(built);
  if (err) throw new Error(`${file}: ${err}`);
  const bytes = Bootstrap.encode(built).finish();
  return { message, decoded: Bootstrap.toObject(Bootstrap.decode(bytes), DECODE_OPTIONS) };
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('Envoy bootstraps', () => {
  it('envoy/ holds the sidecar and gateway bootstraps', () => {
    expect(BOOTSTRAPS).toEqual(expect.arrayContaining(['gateway.yaml', 'sidecar.yaml']));
  });

  it('every PGV rule in the bootstrap protos is implemented', () => {
    expect(unsupportedRules(root)).toEqual([]);
  });

  describe.each(BOOTSTRAPS)('%s', (file) => {
    it('encodes through Bootstrap without unknown fields, round-trips unchanged and passes PGV', () => {
      const { message, decoded } = readBootstrap(file);
      expect(differences(canonical(Bootstrap, message), canonical(Bootstrap, decoded))).toEqual([]);
      expect(anyPayloadProblems(root, Bootstrap, decoded)).toEqual([]);
      expect(validateMessage(Bootstrap, decoded, { root }).map(formatViolation)).toEqual([]);
    });

    it('streams everything from Tether over ADS and identifies itself as an Envoy node', () => {
      const b = readBootstrap(file).decoded as Obj;
      expect(b.node.id).toBeTruthy();
      expect(b.node.cluster).toBeTruthy();
      // protobufjs names google.protobuf.Value's fields in camelCase, even with keepCase.
      expect(b.node.metadata.fields.TETHER_NODE_KIND).toEqual({ stringValue: 'envoy' });

      const ads = b.dynamic_resources.ads_config;
      expect(ads).toMatchObject({ api_type: 'GRPC', transport_api_version: 'V3' });
      for (const source of [b.dynamic_resources.cds_config, b.dynamic_resources.lds_config]) {
        expect(source).toEqual({ ads: {}, resource_api_version: 'V3' });
      }
      const clusters = new Map<string, Obj>((b.static_resources.clusters as Obj[]).map((c) => [c.name, c]));
      const xdsName = ads.grpc_services[0].envoy_grpc.cluster_name;
      expect([...clusters.keys()].sort()).toEqual(['tether-extproc', 'tether-xds']);
      expect(xdsName).toBe('tether-xds');

      // gRPC needs HTTP/2 to both Tether ports; keepalives on both.
      const ports = { 'tether-xds': 18000, 'tether-extproc': 18002 } as const;
      for (const [name, port] of Object.entries(ports)) {
        const cluster = clusters.get(name)!;
        const socket = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
        expect(socket.port_value, name).toBe(port);
        const options = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
        const http = root.lookupType('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
        const h2 = (http.toObject(http.decode(options.value), DECODE_OPTIONS) as Obj).explicit_http_config.http2_protocol_options;
        expect(h2.connection_keepalive, name).toMatchObject({ interval: { seconds: '30' }, timeout: { seconds: '5' } });
      }

      expect(b.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9901 });
    });
  });

  it('the gateway has edge limits: overload manager with heap and connection monitors, small buffers', () => {
    const b = readBootstrap('gateway.yaml').decoded as Obj;
    const monitors = (b.overload_manager.resource_monitors as Obj[]).map((m) => m.name);
    expect(monitors).toEqual(['envoy.resource_monitors.fixed_heap', 'envoy.resource_monitors.global_downstream_max_connections']);
    const triggers = (b.overload_manager.actions as Obj[]).flatMap((a) => (a.triggers as Obj[]).map((t) => t.name));
    for (const t of triggers) expect(monitors).toContain(t);
    const extproc = (b.static_resources.clusters as Obj[]).find((c) => c.name === 'tether-extproc')!;
    expect(extproc.per_connection_buffer_limit_bytes).toEqual({ value: 32768 });
  });
});

describe('Envoy JSON → proto converter', () => {
  const convert = (json: unknown) => {
    const message = fromEnvoyJson(root, Bootstrap, json);
    assertKnownFields(Bootstrap, message);
    return message as Obj;
  };

  it('reads durations, wrappers, Struct and "@type" Anys', () => {
    const m = convert({
      node: { id: 'n', metadata: { a: 'x', n: 1, list: [true, null] } },
      stats_flush_interval: '0.25s',
      overload_manager: {
        resource_monitors: [{ name: 'h', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', maxHeapSizeBytes: 10 } }],
      },
    });
    expect(m.stats_flush_interval).toEqual({ seconds: '0', nanos: 250_000_000 });
    expect(m.node.metadata.fields.list.listValue.values).toEqual([{ boolValue: true }, { nullValue: 'NULL_VALUE' }]);
    const any = m.overload_manager.resource_monitors[0].typed_config;
    const heap = root.lookupType('envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig');
    expect(heap.toObject(heap.decode(any.value), DECODE_OPTIONS)).toEqual({ max_heap_size_bytes: '10' });
  });

  it('rejects misspelled fields (also inside typed_config), unknown types, bad enums and wrong scalar types', () => {
    expect(() => convert({ node: { idd: 'n' } })).toThrow(/node\.idd: unknown field/);
    expect(() =>
      convert({ overload_manager: { resource_monitors: [{ name: 'h', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap: 1 } }] } }),
    ).toThrow(/max_heap: unknown field/);
    expect(() => convert({ overload_manager: { resource_monitors: [{ name: 'h', typed_config: { '@type': 'type.googleapis.com/no.such.Type' } }] } })).toThrow(
      EnvoyJsonError,
    );
    expect(() => convert({ dynamic_resources: { ads_config: { api_type: 'GRPCC' } } })).toThrow(/unknown enum value "GRPCC"/);
    expect(() => convert({ node: { id: 7 } })).toThrow(/node\.id: expected a string/);
    expect(() => convert({ stats_flush_interval: '5 s' })).toThrow(/invalid duration/);
  });
});
