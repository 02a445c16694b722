/**
 * The proto3 JSON form `tether verify` compares in (src/envoy/proto-json.ts): what Tether
 * sends reads back unchanged, and the other ways Envoy or a person may write the same message
 * (Duration digits, int64 as a number, lowerCamel names, a default written out) come out the
 * same. Unknown fields are kept, not dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config';
import { encodeMessage } from '../../src/envoy/encode';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { anyJson, canonicalJson, messageJson } from '../../src/envoy/proto-json';
import { staticEndpoints, translate } from '../../src/translate';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';

describe('proto3 JSON of Envoy messages', () => {
  it('every resource Tether builds for examples/session-key.yaml reads back identical through canonicalJson', () => {
    const parsed = parseConfigText(fs.readFileSync(path.resolve(__dirname, '../../examples/session-key.yaml'), 'utf8'));
    if (!parsed.ok) throw new Error('example does not parse');
    const resources = translate(parsed.config, staticEndpoints(parsed.config), 'envoy');
    const all: [string, unknown][] = [
      ...resources.listeners.map((r) => ['envoy.config.listener.v3.Listener', r] as [string, unknown]),
      ...resources.routes.map((r) => ['envoy.config.route.v3.RouteConfiguration', r] as [string, unknown]),
      ...resources.clusters.map((r) => [CLUSTER, r] as [string, unknown]),
      ...resources.endpoints.map((r) => ['envoy.config.endpoint.v3.ClusterLoadAssignment', r] as [string, unknown]),
    ];
    expect(all.length).toBeGreaterThan(4);
    for (const [typeName, message] of all) {
      const json = messageJson(lookupEnvoyType(typeName), encodeMessage(typeName as never, message as never));
      expect(canonicalJson(typeName, json as never)).toEqual(json);
    }
    // Anys are written as Envoy writes them: "@type" and the message's fields.
    const listener = messageJson(lookupEnvoyType('envoy.config.listener.v3.Listener'), encodeMessage('envoy.config.listener.v3.Listener', resources.listeners[0]!)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    expect(hcm['@type']).toBe('type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
    expect(hcm.http_filters[0].typed_config.message_timeout).toBe('0.200s');
  });

  it('other spellings of the same message come out the same', () => {
    const a = canonicalJson(CLUSTER, {
      name: 'c',
      connect_timeout: '0.25s',
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: 1024, maximum_ring_size: '8388608' },
      per_connection_buffer_limit_bytes: 32768,
      ignore_health_on_host_removal: false,
    });
    const b = canonicalJson(CLUSTER, {
      name: 'c',
      connectTimeout: '0.250000s',
      lbPolicy: 'RING_HASH',
      ringHashLbConfig: { minimumRingSize: '1024', maximumRingSize: 8388608 },
      perConnectionBufferLimitBytes: 32768,
    });
    expect(a).toEqual(b);
    expect(a).toEqual({
      name: 'c',
      connect_timeout: '0.250s',
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: '1024', maximum_ring_size: '8388608' },
      per_connection_buffer_limit_bytes: 32768,
    });
  });

  it('Struct metadata, durations of every precision, and Any-wrapped well-known types', () => {
    const lb = canonicalJson('envoy.config.endpoint.v3.LbEndpoint', {
      endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } },
      metadata: { filter_metadata: { 'envoy.lb': { hash_key: 'r1', weight: 2, tags: ['a', true, null] } } },
    });
    expect(lb.metadata).toEqual({ filter_metadata: { 'envoy.lb': { hash_key: 'r1', tags: ['a', true, null], weight: 2 } } });
    for (const [input, out] of [['1s', '1s'], ['1.5s', '1.500s'], ['0.000001s', '0.000001s'], ['2.000000100s', '2.000000100s'], ['0s', '0s']] as const) {
      expect(canonicalJson(CLUSTER, { name: 'c', connect_timeout: input }).connect_timeout).toBe(out);
    }
    const any = lookupEnvoyType('google.protobuf.Any');
    const wrapped = any.encode(any.fromObject(canonicalAny())).finish();
    expect(anyJson(wrapped)).toEqual({ '@type': 'type.googleapis.com/google.protobuf.UInt32Value', value: 7 });
  });

  it('keeps what the protos do not know as "?path", so it still counts as a difference', () => {
    expect(canonicalJson(CLUSTER, { name: 'c', not_a_field: 1, connect_timeout: '1s' })).toEqual({ name: 'c', connect_timeout: '1s', '?not_a_field': 1 });
  });
});

/** A google.protobuf.Any holding UInt32Value 7, made from its JSON form. */
function canonicalAny(): Record<string, unknown> {
  const value = lookupEnvoyType('google.protobuf.UInt32Value');
  return { type_url: 'type.googleapis.com/google.protobuf.UInt32Value', value: Buffer.from(value.encode(value.fromObject({ value: 7 })).finish()) };
}
