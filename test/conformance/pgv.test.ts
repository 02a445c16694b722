/**
 * The PGV validator on hand-made messages that Envoy would reject (so the golden conformance
 * test can fail), on ones it would accept, and on rules it does not implement (which must
 * throw, never pass). Messages go through the real encoder and decoder first, as in the
 * conformance test, unless the point is a value the encoder could not carry.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeMessage, pack } from '../../src/envoy/encode';
import type { EnvoyMessageName, EnvoyMessages } from '../../src/envoy/messages';
import { IGNORED_RULES, PgvRuleError, formatViolation, unsupportedRules, validateEncoded, validateMessage } from '../../src/envoy/pgv';
import { ENVOY_INCLUDE_DIRS, getEnvoyRoot, loadRoot } from '../../src/envoy/protos';

/** Encodes through the real proto, decodes, validates: `path: rule` lines. */
function violations<K extends EnvoyMessageName>(typeName: K, message: EnvoyMessages[K]): string[] {
  return validateEncoded(typeName, encodeMessage(typeName, message)).map((v) => `${v.path}: ${v.rule}`);
}

/** For messages outside the EnvoyMessages map: validated as plain decoded-style objects. */
function plainViolations(typeName: string, message: Record<string, unknown>): string[] {
  return validateMessage(typeName, message).map((v) => `${v.path}: ${v.rule}`);
}

describe('PGV rules Envoy applies', () => {
  it('every rule in the loaded Envoy API is implemented or ignored with a reason', () => {
    expect(unsupportedRules(getEnvoyRoot())).toEqual([]);
    for (const [rule, reason] of Object.entries(IGNORED_RULES)) expect(reason.length, rule).toBeGreaterThan(20);
  });

  it('string.min_len: a Cluster with an empty name', () => {
    expect(violations('envoy.config.cluster.v3.Cluster', { name: '' })).toContain('name: string.min_len');
    expect(violations('envoy.config.cluster.v3.Cluster', { name: 'shop', connect_timeout: { seconds: '1' } })).toEqual([]);
  });

  it('string.well_known_regex HTTP_HEADER_NAME, strict: false (HeaderMatcher.name): only NUL, CR, LF are refused', () => {
    const route = (name: string) => ({
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name, present_match: true }] }, route: { cluster: 'c' } }] }],
    });
    expect(violations('envoy.config.route.v3.RouteConfiguration', route('x-user\r\nx-evil: 1'))).toEqual([
      'virtual_hosts[0].routes[0].match.headers[0].name: string.well_known_regex',
    ]);
    expect(violations('envoy.config.route.v3.RouteConfiguration', route(''))).toEqual(['virtual_hosts[0].routes[0].match.headers[0].name: string.min_len']);
    // Not an RFC token, but strict: false accepts it, as Envoy does.
    expect(violations('envoy.config.route.v3.RouteConfiguration', route('bad header'))).toEqual([]);
  });

  it('string.well_known_regex, strict (the default): RFC 7230 tokens and values; ignore_empty', () => {
    const sni = (v: string) => plainViolations('envoy.config.core.v3.UpstreamHttpProtocolOptions', { override_auto_sni_header: v });
    expect(sni('bad header')).toEqual(['override_auto_sni_header: string.well_known_regex']);
    expect(sni(':authority')).toEqual([]);
    expect(sni('')).toEqual([]); // ignore_empty
    const host = (v: string) => plainViolations('envoy.config.core.v3.HealthCheck.HttpHealthCheck', { host: v, path: '/healthz' });
    expect(host('shop\u0007')).toEqual(['host: string.well_known_regex']);
    expect(host('shop.example.com')).toEqual([]);
  });

  it('oneof.required: a RouteAction without a cluster specifier', () => {
    expect(plainViolations('envoy.config.route.v3.RouteAction', {})).toEqual(['cluster_specifier: oneof.required']);
    expect(plainViolations('envoy.config.route.v3.RouteAction', { cluster: 'shop' })).toEqual([]);
  });

  it('repeated.min_items: weighted_clusters with zero clusters', () => {
    expect(plainViolations('envoy.config.route.v3.RouteAction', { weighted_clusters: { clusters: [] } })).toEqual([
      'weighted_clusters.clusters: repeated.min_items',
    ]);
  });

  it('uint64.lte through a wrapper: ring_hash min_ring_size over 8M', () => {
    const cluster = (value: string) => ({ name: 'c', connect_timeout: { seconds: '1' }, lb_policy: 'RING_HASH' as const, ring_hash_lb_config: { minimum_ring_size: { value } } });
    expect(violations('envoy.config.cluster.v3.Cluster', cluster('8388609'))).toEqual(['ring_hash_lb_config.minimum_ring_size: uint64.lte']);
    expect(violations('envoy.config.cluster.v3.Cluster', cluster('8388608'))).toEqual([]);
  });

  it('recurses into Any payloads by type URL (typed_extension_config → RingHash, HCM in a listener)', () => {
    const ringHash = pack('envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash', {
      minimum_ring_size: { value: '9000000' },
      consistent_hashing_lb_config: { hash_balance_factor: { value: 99 } },
    });
    expect(
      violations('envoy.config.cluster.v3.Cluster', {
        name: 'c',
        connect_timeout: { seconds: '1' },
        load_balancing_policy: { policies: [{ typed_extension_config: { name: 'ring', typed_config: ringHash } }] },
      }),
    ).toEqual([
      'load_balancing_policy.policies[0].typed_extension_config.typed_config<RingHash>.minimum_ring_size: uint64.lte',
      'load_balancing_policy.policies[0].typed_extension_config.typed_config<RingHash>.consistent_hashing_lb_config.hash_balance_factor: uint32.gte',
    ]);
    const hcm = pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
      stat_prefix: '',
      rds: { route_config_name: 'http', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: pack('envoy.extensions.filters.http.router.v3.Router', {}) }],
    });
    const listener = { name: 'http', filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] };
    expect(violations('envoy.config.listener.v3.Listener', listener)).toEqual([
      'filter_chains[0].filters[0].typed_config<HttpConnectionManager>.stat_prefix: string.min_len',
    ]);
  });

  it('recurses through nested Anys (listener → HCM → stateful_session filter → cookie session state)', () => {
    const session = (cookie: { name: string; ttl?: { seconds: string } } | undefined) =>
      pack('envoy.extensions.filters.http.stateful_session.v3.StatefulSession', {
        session_state: {
          name: 'envoy.http.stateful_session.cookie',
          typed_config: pack('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', cookie ? { cookie } : {}),
        },
      });
    const listener = (filter: ReturnType<typeof session>) => ({
      name: 'http',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
                stat_prefix: 'http',
                rds: { route_config_name: 'http', config_source: { ads: {}, resource_api_version: 'V3' } },
                http_filters: [
                  { name: 'envoy.filters.http.stateful_session', typed_config: filter },
                  { name: 'envoy.filters.http.router', typed_config: pack('envoy.extensions.filters.http.router.v3.Router', {}) },
                ],
              }),
            },
          ],
        },
      ],
    });
    const at = 'filter_chains[0].filters[0].typed_config<HttpConnectionManager>.http_filters[0].typed_config<StatefulSession>.session_state.typed_config<CookieBasedSessionState>';
    expect(violations('envoy.config.listener.v3.Listener', listener(session(undefined)))).toEqual([`${at}.cookie: message.required`]);
    expect(violations('envoy.config.listener.v3.Listener', listener(session({ name: '' })))).toEqual([`${at}.cookie.name: string.min_len`]);
    expect(violations('envoy.config.listener.v3.Listener', listener(session({ name: 'sid', ttl: { seconds: '-5' } })))).toEqual([`${at}.cookie.ttl: duration.gte`]);
    expect(violations('envoy.config.listener.v3.Listener', listener(session({ name: 'sid', ttl: { seconds: '60' } })))).toEqual([]);
  });

  it('any.required, and an Any whose type the Root does not know', () => {
    expect(plainViolations('envoy.config.core.v3.TypedExtensionConfig', { name: 'x' })).toEqual(['typed_config: any.required']);
    const unknown = { name: 'x', typed_config: { type_url: 'type.googleapis.com/does.not.Exist', value: Buffer.alloc(0) } };
    expect(plainViolations('envoy.config.core.v3.TypedExtensionConfig', unknown)).toEqual(['typed_config: any.resolvable']);
    expect(validateMessage('envoy.config.core.v3.TypedExtensionConfig', unknown, { unknownAnyTypes: 'skip' })).toEqual([]);
  });

  it('enum.defined_only, duration.gt, message.required', () => {
    expect(violations('envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: { seconds: '1' }, lb_policy: 99 as never })).toEqual([
      'lb_policy: enum.defined_only',
    ]);
    expect(violations('envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: { seconds: '-1' } })).toEqual(['connect_timeout: duration.gt']);
    expect(violations('envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: {} })).toEqual(['connect_timeout: duration.gt']);
    expect(plainViolations('envoy.config.core.v3.HeaderValueOption', {})).toEqual(['header: message.required']);
  });

  it('rules on an unset oneof member do not apply (RouteMatch.safe_regex is message.required)', () => {
    expect(plainViolations('envoy.config.route.v3.RouteMatch', { prefix: '/' })).toEqual([]);
  });

  it('repeated items, map keys, bytes, string.in, bool.const, double, repeated.unique', () => {
    expect(violations('envoy.config.route.v3.RouteConfiguration', { name: 'r', request_headers_to_remove: ['x-ok', 'x-bad\n'] })).toEqual([
      'request_headers_to_remove[1]: string.well_known_regex',
    ]);
    const meta = { typed_filter_metadata: { '': { type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: Buffer.alloc(0) } } };
    expect(plainViolations('envoy.config.core.v3.Metadata', meta)).toEqual(['typed_filter_metadata[""]: string.min_len']);
    expect(plainViolations('envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: Buffer.alloc(16385) })).toEqual(['raw_value: bytes.max_len']);
    expect(plainViolations('envoy.config.core.v3.SchemeHeaderTransformation', { scheme_to_overwrite: 'ftp' })).toEqual(['scheme_to_overwrite: string.in']);
    expect(plainViolations('envoy.config.core.v3.SchemeHeaderTransformation', { scheme_to_overwrite: 'https' })).toEqual([]);
    expect(violations('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', { disabled: false })).toEqual(['disabled: bool.const']);
    expect(violations('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', { disabled: true })).toEqual([]);
    expect(plainViolations('envoy.type.v3.Percent', { value: 100.5 })).toEqual(['value: double.lte']);
    expect(plainViolations('envoy.config.metrics.v3.HistogramBucketSettings', { match: { exact: 'x' }, buckets: [1, 2, 1] })).toEqual([
      'buckets[2]: repeated.unique',
    ]);
  });

  it('formats violations as path: rule (why)', () => {
    const [v] = validateMessage('envoy.config.cluster.v3.Cluster', { name: '' });
    expect(formatViolation(v!)).toBe('name: string.min_len (must be at least 1 characters, got 0)');
  });
});

describe('rules the validator cannot apply fail loudly', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-pgv-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'pgv_fixture.proto'),
    `syntax = "proto3";
package tethertest;
import "validate/validate.proto";
import "google/protobuf/timestamp.proto";
message Email { string address = 1 [(validate.rules).string.email = true]; }
message Misfit { uint32 n = 1 [(validate.rules).string.min_len = 1]; }
message When { google.protobuf.Timestamp at = 1 [(validate.rules).timestamp.required = true]; }
message Off { option (validate.disabled) = true; string s = 1 [(validate.rules).string.min_len = 1]; }
message Outside { uint32 n = 1 [(validate.rules).uint32 = {lt: 10, gt: 20}]; }
message Opt { optional uint32 n = 1 [(validate.rules).uint32.gte = 5]; }
`,
  );
  const root = loadRoot(['pgv_fixture.proto'], [dir, ...ENVOY_INCLUDE_DIRS]);

  it('throws PgvRuleError for a rule it does not implement or that does not fit the field', () => {
    expect(() => validateMessage('tethertest.Email', { address: 'a@b.c' }, { root })).toThrow(PgvRuleError);
    expect(() => validateMessage('tethertest.When', {}, { root })).toThrow(/timestamp.required: rule not implemented/);
    expect(() => validateMessage('tethertest.Misfit', { n: 1 }, { root })).toThrow(/does not fit a uint32 field/);
    const listed = unsupportedRules(root);
    expect(listed.some((p) => p.startsWith('tethertest.Email.address: (validate.rules).string.email'))).toBe(true);
    expect(listed.some((p) => p.startsWith('tethertest.When.at'))).toBe(true);
    expect(listed.some((p) => p.startsWith('tethertest.Misfit.n'))).toBe(true);
  });

  it('honours (validate.disabled), PGV exclusive ranges (lt below gt) and proto3 optional presence', () => {
    expect(validateMessage('tethertest.Off', { s: '' }, { root })).toEqual([]);
    const outside = (n: number) => validateMessage('tethertest.Outside', { n }, { root }).map((v) => v.rule);
    expect(outside(15)).toEqual(['uint32.gt+lt']);
    expect(outside(5)).toEqual([]);
    expect(outside(25)).toEqual([]);
    expect(validateMessage('tethertest.Opt', {}, { root })).toEqual([]);
    expect(validateMessage('tethertest.Opt', { n: 4 }, { root }).map((v) => v.rule)).toEqual(['uint32.gte']);
  });
});
