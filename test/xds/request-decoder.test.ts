/** Request decoding under XDS_LIMITS: what the real encoder writes comes back; past a cap, the field is named. */
import pino from 'pino';
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/envoy/resource-types';
import { DeltaStream } from '../../src/xds/delta-stream';
import {
  encodeDeltaDiscoveryRequest,
  encodeDiscoveryRequest,
  type DeltaDiscoveryRequestIn,
} from '../../src/xds/discovery-codec';
import { XDS_LIMITS } from '../../src/xds/limits';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest, RefusedRequest } from '../../src/xds/request-decoder';
import { mesh } from './fixtures/resources';

const L = XDS_LIMITS;
const refusal = (r: unknown): string => (r instanceof RefusedRequest ? r.details : `accepted: ${JSON.stringify(r).slice(0, 200)}`);
const sotw = (request: Parameters<typeof encodeDiscoveryRequest>[0]) => decodeDiscoveryRequest(encodeDiscoveryRequest(request));
const delta = (request: Parameters<typeof encodeDeltaDiscoveryRequest>[0]) => decodeDeltaDiscoveryRequest(encodeDeltaDiscoveryRequest(request));
const fieldId = (message: string, field: string) => lookupEnvoyType(`envoy.service.discovery.v3.${message}`).fields[field]!.id;

describe('request decoding under XDS_LIMITS', () => {
  it('decodes what the real encoder writes, at every cap exactly', () => {
    const names = ['n'.repeat(L.maxResourceNameBytes), 'é'];
    expect(
      sotw({
        version_info: 'v'.repeat(L.maxVersionBytes),
        node: { id: 'i'.repeat(L.maxNodeIdChars), cluster: 'c', user_agent_name: 'envoy', metadata: { fields: { TETHER_NODE_KIND: { stringValue: 'grpc' } } } },
        resource_names: names,
        resource_locators: [{ name: 'xdstp://ignored' }],
        type_url: 't'.repeat(L.maxTypeUrlBytes),
        response_nonce: '7',
        error_detail: { code: 3, message: 'bad' },
      }),
    ).toEqual({
      version_info: 'v'.repeat(L.maxVersionBytes),
      node: { id: 'i'.repeat(L.maxNodeIdChars), cluster: 'c', user_agent_name: 'envoy', user_agent_version: '', user_agent_build_version: null, metadata: { fields: { TETHER_NODE_KIND: { stringValue: 'grpc' } } } },
      resource_names: names,
      type_url: 't'.repeat(L.maxTypeUrlBytes),
      response_nonce: '7',
      error_detail: { code: 3, message: 'bad' },
    });
    expect(
      delta({
        type_url: ENDPOINT_TYPE,
        resource_names_subscribe: ['a', '*'],
        resource_names_unsubscribe: ['b'],
        initial_resource_versions: { a: '1', [`${'k'.repeat(L.maxResourceNameBytes)}`]: 'v'.repeat(L.maxVersionBytes) },
        response_nonce: '3',
      }),
    ).toEqual({
      node: null,
      type_url: ENDPOINT_TYPE,
      resource_names_subscribe: ['a', '*'],
      resource_names_unsubscribe: ['b'],
      initial_resource_versions: { a: '1', [`${'k'.repeat(L.maxResourceNameBytes)}`]: 'v'.repeat(L.maxVersionBytes) },
      response_nonce: '3',
      error_detail: null,
    });
  });

  it('refuses a request one past each cap, naming the field', () => {
    const many = (n: number, name = (i: number) => `n${i}`) => Array.from({ length: n }, (_, i) => name(i));
    expect(refusal(sotw({ type_url: 't'.repeat(L.maxTypeUrlBytes + 1) }))).toBe(`type_url: ${L.maxTypeUrlBytes + 1} bytes, more than the ${L.maxTypeUrlBytes} allowed`);
    expect(refusal(sotw({ version_info: 'v'.repeat(L.maxVersionBytes + 1) }))).toMatch(/^version_info: 257 bytes, more than the 256 allowed$/);
    expect(refusal(sotw({ response_nonce: 'n'.repeat(L.maxVersionBytes + 1) }))).toMatch(/^response_nonce: 257 bytes/);
    expect(refusal(sotw({ resource_names: ['a', 'n'.repeat(L.maxResourceNameBytes + 1)] }))).toBe(`resource_names[1]: 1025 bytes, more than the 1024 allowed`);
    expect(refusal(sotw({ resource_names: many(L.maxResourceNames + 1) }))).toBe(`resource_names: more than ${L.maxResourceNames} names`);
    expect(refusal(sotw({ resource_names: many(5000, (i) => `${i}`.padEnd(1000, 'x')) }))).toBe(`resource_names: more than ${L.maxResourceNamesTotalBytes} bytes of names`);
    expect(refusal(sotw({ node: { id: 'i'.repeat(L.maxNodeIdChars + 1) } }))).toBe(`node.id: ${L.maxNodeIdChars + 1} characters, more than the ${L.maxNodeIdChars} allowed`);
    expect(refusal(sotw({ node: { id: 'n', metadata: { fields: { big: { stringValue: 'x'.repeat(L.maxNodeBytes) } } } } }))).toMatch(/^node: \d+ bytes, more than the 1048576 allowed$/);
    expect(refusal(sotw({ resource_locators: many(L.maxSkippedFields + 1).map((name) => ({ name })) }))).toBe(`more than ${L.maxSkippedFields} fields Tether does not read`);
    expect(refusal(delta({ resource_names_subscribe: many(L.maxResourceNames + 1) }))).toBe(`resource_names_subscribe: more than ${L.maxResourceNames} names`);
    expect(refusal(delta({ resource_names_unsubscribe: many(L.maxResourceNames + 1) }))).toBe(`resource_names_unsubscribe: more than ${L.maxResourceNames} names`);
    expect(refusal(delta({ initial_resource_versions: { a: 'v'.repeat(L.maxVersionBytes + 1) } }))).toBe('initial_resource_versions[0].value: 257 bytes, more than the 256 allowed');
    expect(refusal(delta({ initial_resource_versions: Object.fromEntries(many(L.maxResourceNames + 1).map((n) => [n, '1'])) }))).toBe(
      `initial_resource_versions: more than ${L.maxResourceNames} names`,
    );
  });

  it('counts every field: a singular field repeated 200,000 times is refused without reading them all', () => {
    const w = protobuf.Writer.create();
    for (let i = 0; i < 200_000; i++) w.uint32((fieldId('DiscoveryRequest', 'type_url') << 3) | 2).string('t');
    const started = performance.now();
    expect(refusal(decodeDiscoveryRequest(Buffer.from(w.finish())))).toMatch(/^more than \d+ fields$/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('malformed bytes, invalid UTF-8 and wrong wire types are refused as malformed, not thrown', () => {
    const ok = encodeDiscoveryRequest({ type_url: CLUSTER_TYPE, resource_names: ['abc'] });
    expect(refusal(decodeDiscoveryRequest(ok.subarray(0, ok.length - 1)))).toMatch(/^malformed DiscoveryRequest: /);
    const badUtf8 = Buffer.from(ok);
    badUtf8[badUtf8.indexOf('abc')] = 0xff;
    expect(refusal(decodeDiscoveryRequest(badUtf8))).toBe('malformed DiscoveryRequest: resource_names[0] is not valid UTF-8');
    const varintName = Buffer.from([(fieldId('DiscoveryRequest', 'resource_names') << 3) | 0, 1]);
    expect(refusal(decodeDiscoveryRequest(varintName))).toBe('malformed DiscoveryRequest: resource_names[0] has wire type 0');
    expect(refusal(decodeDeltaDiscoveryRequest(Buffer.from([0x0a, 0x05, 0x01])))).toMatch(/^malformed DeltaDiscoveryRequest: /);
  });

  it('ASCII strings (read without TextDecoder) and any other UTF-8 come back as protobufjs decodes them; invalid bytes anywhere are refused', () => {
    const names = ['svc-0', '\u0000\u007f~', 'café', 'ü-\u20ac', '\u{1f680}x', 'a'.repeat(300) + 'é', ''];
    const bytes = encodeDiscoveryRequest({ type_url: CLUSTER_TYPE, version_info: 'v1', response_nonce: 's7.2', resource_names: names });
    const type = lookupEnvoyType('envoy.service.discovery.v3.DiscoveryRequest');
    const reference = type.toObject(type.decode(bytes)) as { resource_names: string[] };
    expect(decodeDiscoveryRequest(bytes)).toMatchObject({ type_url: CLUSTER_TYPE, version_info: 'v1', response_nonce: 's7.2', resource_names: reference.resource_names });
    expect(reference.resource_names).toEqual(names);
    // A byte ≥ 0x80 that is not UTF-8, at the end of an otherwise ASCII name (the second one).
    const bad = encodeDiscoveryRequest({ type_url: CLUSTER_TYPE, resource_names: ['ok', 'abcdef'] });
    bad[bad.indexOf('abcdef') + 5] = 0xc3;
    expect(refusal(decodeDiscoveryRequest(bad))).toBe('malformed DiscoveryRequest: resource_names[1] is not valid UTF-8');
  });

  it('keeps only the start of a long error_detail, and says how long it was', () => {
    const message = `rejected: ${'é'.repeat(800_000)}`;
    const decoded = sotw({ type_url: CLUSTER_TYPE, response_nonce: '1', error_detail: { code: 3, message } });
    if (decoded instanceof RefusedRequest) throw new Error(decoded.details);
    expect(decoded.error_detail?.messageBytes).toBe(Buffer.byteLength(message));
    expect(message.startsWith(decoded.error_detail!.message)).toBe(true);
    expect(decoded.error_detail!.message.length).toBeGreaterThanOrEqual(L.maxErrorDetailChars);
    expect(decoded.error_detail!.message.length).toBeLessThanOrEqual(4 * L.maxErrorDetailChars);
  });
});

describe('delta subscription caps', () => {
  it('a subscription that grows past maxResourceNames over several requests ends the stream with INVALID_ARGUMENT', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(mesh({ services: {}, clusters: { c1: [1] } }), 'envoy', '1'));
    const failures: string[] = [];
    const stream = new DeltaStream({ streamId: 's', cache, logger: pino({ level: 'silent' }), send: () => {}, fail: (code, details) => failures.push(`${code} ${details}`) });
    const request = (names: string[], node = false): DeltaDiscoveryRequestIn => ({
      node: node ? { id: 'n', cluster: '', user_agent_name: 'envoy', user_agent_version: '', user_agent_build_version: null, metadata: null } : null,
      type_url: ENDPOINT_TYPE,
      resource_names_subscribe: names,
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
    });
    const half = (p: string) => Array.from({ length: L.maxResourceNames / 2 }, (_, i) => `${p}${i}`);
    stream.handleRequest(request(half('a'), true));
    // The same names again change nothing.
    stream.handleRequest(request(half('a')));
    expect(failures).toEqual([]);
    stream.handleRequest(request([...half('b').slice(1), 'x']));
    expect(failures).toEqual([]);
    stream.handleRequest(request(['y']));
    expect(failures).toEqual([
      `3 resource_names_subscribe: the subscription to EDS would hold ${L.maxResourceNames + 1} names, more than the ${L.maxResourceNames} names or ${L.maxResourceNamesTotalBytes} bytes allowed`,
    ]);
  });
});
