/**
 * The Envoy API fields newer than grpc-js-xds's bundled protos (src/envoy/newer-api.ts): they go
 * on the wire under Envoy's own field numbers, misspellings still fail, their PGV rules apply,
 * and a bundled declaration that disagrees with Tether's is refused instead of shadowed.
 */
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, pack } from '../../src/envoy/encode';
import { addNewerEnvoyApi } from '../../src/envoy/newer-api';
import { validateMessage } from '../../src/envoy/pgv';
import { lookupEnvoyType } from '../../src/envoy/protos';

/** (field number, wire type) of every top-level field of a message's bytes. */
function topLevelFields(bytes: Uint8Array): Array<[number, number]> {
  const reader = protobuf.Reader.create(bytes);
  const out: Array<[number, number]> = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    out.push([tag >>> 3, tag & 7]);
    reader.skipType(tag & 7);
  }
  return out;
}

describe('newer Envoy API fields', () => {
  it('WeightedCluster.use_hash_policy is field 5, a BoolValue, in the random_value_specifier oneof', () => {
    const route = {
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 1 } }], use_hash_policy: { value: true } } } }],
        },
      ],
    };
    const bytes = encodeMessage('envoy.config.route.v3.RouteConfiguration', route);
    const decoded = decodeMessage('envoy.config.route.v3.RouteConfiguration', bytes) as any;
    const weighted = decoded.virtual_hosts[0].routes[0].route.weighted_clusters;
    expect(weighted.use_hash_policy).toEqual({ value: true });
    const wcType = lookupEnvoyType('envoy.config.route.v3.WeightedCluster');
    expect(topLevelFields(wcType.encode(wcType.fromObject(weighted)).finish())).toEqual([
      [1, 2],
      [5, 2],
    ]);
    expect(wcType.oneofs!.random_value_specifier!.oneof).toEqual(['header_name', 'use_hash_policy']);
  });

  it('Cookie.attributes is field 4 of envoy.type.http.v3.CookieAttribute {name = 1, value = 2}', () => {
    const packed = pack('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', {
      cookie: { name: 'pin', attributes: [{ name: 'Secure' }, { name: 'SameSite', value: 'Lax' }] },
    });
    const decoded = decodeMessage('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', packed.value) as any;
    expect(decoded.cookie.attributes).toEqual([{ name: 'Secure' }, { name: 'SameSite', value: 'Lax' }]);
    // cookie (1) → attributes (4) → name (1), value (2)
    const cookie = protobuf.Reader.create(packed.value);
    cookie.uint32();
    const cookieBytes = cookie.bytes();
    expect(topLevelFields(cookieBytes)).toEqual([
      [1, 2],
      [4, 2],
      [4, 2],
    ]);
  });

  it('misspelled newer fields are refused, like any other', () => {
    expect(() =>
      encodeMessage('envoy.config.route.v3.RouteConfiguration', {
        virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [], use_hash_polcy: { value: true } } as never } }] }],
      }),
    ).toThrow(/use_hash_polcy: unknown field/);
    expect(() => pack('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', { cookie: { name: 'p', attributes: [{ nam: 'Secure' } as never] } })).toThrow(
      /attributes\[0\]\.nam: unknown field/,
    );
  });

  it("the attribute's PGV rules apply (name required; no control characters in name or value)", () => {
    const violations = validateMessage('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', {
      cookie: { name: 'p', attributes: [{ name: '' }, { name: 'SameSite', value: 'Lax\r\nX: 1' }] },
    });
    expect(violations.map((v) => `${v.path}: ${v.rule}`)).toEqual(['cookie.attributes[0].name: string.min_len', 'cookie.attributes[1].value: string.well_known_regex']);
  });

  it('a bundled declaration that disagrees is an error, an agreeing one is kept', () => {
    const root = new protobuf.Root();
    root.define('google.protobuf').add(new protobuf.Type('BoolValue').add(new protobuf.Field('value', 1, 'bool')));
    const cookiePkg = root.define('envoy.type.http.v3');
    cookiePkg.add(new protobuf.Type('Cookie').add(new protobuf.Field('name', 1, 'string')));
    const route = root.define('envoy.config.route.v3');
    const wc = new protobuf.Type('WeightedCluster').add(new protobuf.OneOf('random_value_specifier'));
    wc.add(new protobuf.Field('use_hash_policy', 6, 'google.protobuf.BoolValue'));
    route.add(wc);
    expect(() => addNewerEnvoyApi(root)).toThrow(/declare envoy.config.route.v3.WeightedCluster.use_hash_policy as google.protobuf.BoolValue = 6, Tether as google.protobuf.BoolValue = 5/);
  });
});
