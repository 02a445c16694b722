import { describe, expect, it } from 'vitest';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { buildSnapshot } from '../../src/cache/snapshot';
import { decodeDiscoveryRequest } from '../../src/xds/request-decoder';
import {
  decodeDiscoveryResponse,
  encodeControlPlane,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
} from '../../src/xds/discovery-codec';
import { mesh } from './fixtures/resources';

describe('discovery codec', () => {
  it('builds a response by concatenation that the real proto decodes', () => {
    const snap = buildSnapshot(mesh({ services: {}, clusters: { c1: [1], c2: [2] } }), 'envoy', 'v');
    const resources = [...snap.sets[CLUSTER_TYPE].resources.values()];
    const bytes = encodeDiscoveryResponse({
      version_info: 'abc',
      type_url: CLUSTER_TYPE,
      nonce: '7',
      resources,
      control_plane: encodeControlPlane('tether-test'),
    });
    const type = lookupEnvoyType('envoy.service.discovery.v3.DiscoveryResponse');
    const decoded = type.toObject(type.decode(bytes)) as Record<string, unknown>;
    expect(decoded).toMatchObject({ version_info: 'abc', type_url: CLUSTER_TYPE, nonce: '7', control_plane: { identifier: 'tether-test' } });
    const any = decodeDiscoveryResponse(bytes).resources;
    expect(any.map((a) => a.type_url)).toEqual([CLUSTER_TYPE, CLUSTER_TYPE]);
    // Each resource's Any is in the frame byte for byte.
    for (const r of resources) expect(bytes.includes(r.anyBytes)).toBe(true);
  });

  it('writes the bytes protobufjs writes for the same response, resources of every size and non-ASCII text included', () => {
    const type = lookupEnvoyType('envoy.service.discovery.v3.DiscoveryResponse');
    const any = (n: number) => ({ anyBytes: Buffer.from(lookupEnvoyType('google.protobuf.Any').encode({ type_url: CLUSTER_TYPE, value: Buffer.alloc(n, 7) }).finish()) });
    const controlPlane = encodeControlPlane('tether-é');
    for (const sizes of [[], [0], [1, 126, 127, 128], [16_383, 16_384], [2_097_152]]) {
      const resources = sizes.map(any);
      for (const [version, nonce] of [['', '1'], ['v-ü', 's12.3']] as const) {
        const ours = encodeDiscoveryResponse({ version_info: version, type_url: CLUSTER_TYPE, nonce, resources, control_plane: controlPlane });
        // Tether always writes version_info, even empty; protobufjs leaves an empty string out.
        const theirs = Buffer.concat([
          version === '' ? Buffer.from([0x0a, 0]) : Buffer.alloc(0),
          type.encode(type.fromObject({ version_info: version, resources: resources.map((r) => lookupEnvoyType('google.protobuf.Any').decode(r.anyBytes)), type_url: CLUSTER_TYPE, nonce, control_plane: { identifier: 'tether-é' } })).finish(),
        ]);
        expect(ours.equals(theirs), `sizes ${sizes.join(',')}, version '${version}'`).toBe(true);
      }
    }
  });

  it('encodes an empty response', () => {
    const bytes = encodeDiscoveryResponse({ version_info: 'v', type_url: CLUSTER_TYPE, nonce: '1', resources: [] });
    expect(decodeDiscoveryResponse(bytes)).toEqual({ version_info: 'v', type_url: CLUSTER_TYPE, nonce: '1', resources: [], control_plane: null });
  });

  it('decodes a request with proto3 defaults and only the node fields a stream keeps', () => {
    const bytes = encodeDiscoveryRequest({
      node: {
        id: 'n1',
        cluster: 'c',
        user_agent_name: 'envoy',
        user_agent_version: '1.36.0',
        locality: { zone: 'z' },
        metadata: { fields: { TETHER_NODE_KIND: { stringValue: 'grpc' } } },
      },
      type_url: CLUSTER_TYPE,
      resource_names: ['a', 'b'],
      error_detail: { code: 3, message: 'bad' },
    });
    expect(decodeDiscoveryRequest(bytes)).toEqual({
      version_info: '',
      node: {
        id: 'n1',
        cluster: 'c',
        user_agent_name: 'envoy',
        user_agent_version: '1.36.0',
        user_agent_build_version: null,
        metadata: { fields: { TETHER_NODE_KIND: { stringValue: 'grpc' } } },
      },
      resource_names: ['a', 'b'],
      type_url: CLUSTER_TYPE,
      response_nonce: '',
      error_detail: { code: 3, message: 'bad' },
    });
    expect(decodeDiscoveryRequest(encodeDiscoveryRequest({ type_url: CLUSTER_TYPE }))).toEqual({
      version_info: '',
      node: null,
      resource_names: [],
      type_url: CLUSTER_TYPE,
      response_nonce: '',
      error_detail: null,
    });
  });
});
