/**
 * The encoder's fast path (src/envoy/encode-plan.ts) against its reference, the strict path
 * (assertKnownFields, fromObject, verify): the same bytes for every resource of every golden
 * case and target, nested packed Anys included, and the same refusals.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config';
import { encodeMessage, encodeStrictly, EncodeError, withStrictEncoding } from '../../src/envoy/encode';
import { FALLBACK, prepareMessage } from '../../src/envoy/encode-plan';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { NODE_TARGETS, staticEndpoints, translateWithWarnings } from '../../src/translate';
import type { EnvoyResources } from '../../src/translate';

const GOLDEN = path.join(__dirname, '..', 'golden');
const cases = fs.readdirSync(GOLDEN).filter((c) => fs.existsSync(path.join(GOLDEN, c, 'input.yaml'))).sort();

const TYPES = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  secrets: 'envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

function encodeAll(resources: EnvoyResources): Array<{ name: string; bytes: Buffer; fast: boolean }> {
  return (Object.keys(TYPES) as Array<keyof typeof TYPES>).flatMap((list) =>
    (resources[list] ?? []).map((m, i) => ({
      name: `${list}[${i}]`,
      bytes: encodeMessage(TYPES[list], m as never),
      fast: prepareMessage(lookupEnvoyType(TYPES[list]), m as object) !== FALLBACK,
    })),
  );
}

describe('fast encoding path', () => {
  it.each(cases)('%s: same bytes as the strict path, for every target', (name) => {
    const parsed = parseConfigText(fs.readFileSync(path.join(GOLDEN, name, 'input.yaml'), 'utf8'));
    if (!parsed.ok) throw new Error(`${name}: invalid input`);
    for (const target of NODE_TARGETS) {
      const endpoints = staticEndpoints(parsed.config);
      // The strict reference translates under withStrictEncoding, so its packed typed_configs are strict too.
      const strict = withStrictEncoding(() => encodeAll(translateWithWarnings(parsed.config, endpoints, target).resources));
      const fast = encodeAll(translateWithWarnings(parsed.config, endpoints, target).resources);
      expect(fast.map((r) => [r.name, r.bytes.toString('hex')])).toEqual(strict.map((r) => [r.name, r.bytes.toString('hex')]));
      // The fast path is taken (a silent fall back everywhere would cost the cold start seconds at 10,000 services).
      expect(fast.filter((r) => !r.fast).map((r) => r.name)).toEqual([]);
    }
  });

  it('refuses misspelled fields and unknown enum names deep inside lists and maps, as the strict path does', () => {
    const cluster = 'envoy.config.cluster.v3.Cluster';
    const bad: Array<[unknown, RegExp]> = [
      [{ name: 'c', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { adress: {} } }] }] } }, /endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.adress: unknown field/],
      [{ name: 'c', typed_extension_protocol_options: { x: { type_url: 't', value: Buffer.alloc(0), extra: 1 } } }, /must come from pack/],
      [{ name: 'c', lb_policy: 'toString' }, /unknown enum value "toString"/],
      [{ name: 'c', health_checks: [{ timeout: { seconds: 1 }, unhealthy_threshold: { value: 1 }, healthy_threshold: { value: 1 }, http_health_check: { pth: '/' } }] }, /http_health_check\.pth: unknown field/],
      [{ name: 'c', dns_lookup_family: 'V4_ONLYY' }, /unknown enum value "V4_ONLYY"/],
    ];
    for (const [message, error] of bad) {
      expect(() => encodeMessage(cluster, message as never)).toThrow(EncodeError);
      expect(() => encodeMessage(cluster, message as never)).toThrow(error);
    }
  });

  it('leaves the forms it does not know to the strict path, with the same bytes', () => {
    const cluster = 'envoy.config.cluster.v3.Cluster';
    const odd = [
      { name: 'c', ring_hash_lb_config: { minimum_ring_size: { value: '99999999999999999' } } }, // beyond a safe integer
      { name: 'c', per_connection_buffer_limit_bytes: { value: 2 ** 33 } }, // out of uint32 range
      { name: 'c', lb_policy: 2 }, // an enum as its number
    ];
    for (const message of odd) {
      expect(prepareMessage(lookupEnvoyType(cluster), message)).toBe(message.lb_policy === 2 ? message : FALLBACK);
      expect(encodeMessage(cluster, message as never).toString('hex')).toBe(encodeStrictly(cluster, message as never).toString('hex'));
    }
  });
});

describe('fast encoding of 64-bit fields', () => {
  it('takes decimal strings as their numbers, a zero one being the default as for the strict path', () => {
    const cluster = 'envoy.config.cluster.v3.Cluster';
    for (const seconds of ['0', '1', '-3', '9007199254740991']) {
      const message = { name: 'c', connect_timeout: { seconds } };
      expect(prepareMessage(lookupEnvoyType(cluster), message)).not.toBe(FALLBACK);
      expect(encodeMessage(cluster, message as never).toString('hex')).toBe(encodeStrictly(cluster, message as never).toString('hex'));
    }
  });
});
