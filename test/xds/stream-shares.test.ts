/**
 * Streams of one server share their encoded responses (stream-shares.ts): streams in the same
 * state send the very same bytes under the same nonce, and those bytes are the response the
 * fields describe. Drives SotwStream and DeltaStream directly with a real SnapshotCache.
 */
import pino from 'pino';
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, EncodeCache } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { anyPayload, encodeAny, fieldHeader, wireFields } from '../../src/envoy/wire';
import { DeltaStream } from '../../src/xds/delta-stream';
import {
  decodeDeltaDiscoveryResponse,
  decodeDiscoveryResponse,
  encodeControlPlane,
  type DeltaDiscoveryRequestIn,
  type DeltaDiscoveryResponseOut,
  type DiscoveryRequestIn,
  type DiscoveryResponseOut,
} from '../../src/xds/discovery-codec';
import { SotwStream } from '../../src/xds/sotw-stream';
import { StreamShares } from '../../src/xds/stream-shares';
import { mesh } from './fixtures/resources';

const silent = pino({ level: 'silent' });
const node = (id: string) => ({ id, cluster: '', user_agent_name: 'envoy', user_agent_version: '', user_agent_build_version: null, metadata: null });

function sotw(cache: SnapshotCache, shares: StreamShares, id: string) {
  const sent: DiscoveryResponseOut[] = [];
  const stream = new SotwStream({ streamId: id, cache, logger: silent, shares, controlPlane: shares.controlPlane, send: (r) => sent.push(r), fail: () => {} });
  const request = (typeUrl: string, names: string[], extra: Partial<DiscoveryRequestIn> = {}) =>
    stream.handleRequest({ version_info: '', node: node(id), resource_names: names, type_url: typeUrl, response_nonce: '', error_detail: null, ...extra });
  const ack = (r: DiscoveryResponseOut, names: string[] = []) => request(r.type_url, names, { version_info: r.version_info, response_nonce: r.nonce });
  return { sent, request, ack };
}

function delta(cache: SnapshotCache, shares: StreamShares, id: string) {
  const sent: DeltaDiscoveryResponseOut[] = [];
  const stream = new DeltaStream({ streamId: id, cache, logger: silent, shares, controlPlane: shares.controlPlane, send: (r) => sent.push(r), fail: () => {} });
  const request = (typeUrl: string, extra: Partial<DeltaDiscoveryRequestIn> = {}) =>
    stream.handleRequest({
      node: node(id),
      type_url: typeUrl,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
      ...extra,
    });
  return { sent, request, ack: (r: DeltaDiscoveryResponseOut) => request(r.type_url, { response_nonce: r.nonce }) };
}

const clusters = (v: number) => mesh({ services: { a: 'c1' }, clusters: { c1: [1000 + v], c2: [2000] } });

describe('shared responses', () => {
  it('SotW: streams in the same state get one Buffer, whose bytes are the response its fields describe', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(clusters(1), 'envoy', 'v1'));
    const shares = new StreamShares(encodeControlPlane('tether-test'));
    const [a, b] = [sotw(cache, shares, 'a'), sotw(cache, shares, 'b')];
    a.request(CLUSTER_TYPE, []);
    b.request(CLUSTER_TYPE, []);
    const [ra, rb] = [a.sent[0]!, b.sent[0]!];
    expect(ra.wire).toBeDefined();
    expect(rb.wire).toBe(ra.wire);
    expect(rb.nonce).toBe(ra.nonce);
    const decoded = decodeDiscoveryResponse(ra.wire!);
    expect(decoded).toMatchObject({ version_info: ra.version_info, type_url: CLUSTER_TYPE, nonce: ra.nonce, control_plane: { identifier: 'tether-test' } });
    expect(decoded.resources.map((r) => r.type_url)).toEqual([CLUSTER_TYPE, CLUSTER_TYPE]);
  });

  it('SotW: resending the very same response (EDS after a changed cluster) uses a nonce of its own', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(clusters(1), 'envoy', 'v1'));
    const shares = new StreamShares();
    const a = sotw(cache, shares, 'a');
    a.request(CLUSTER_TYPE, []);
    a.ack(a.sent[0]!);
    a.request(ENDPOINT_TYPE, ['c1', 'c2']);
    const eds1 = a.sent[1]!;
    a.ack(eds1, ['c1', 'c2']);
    // c1's cluster changes (not its endpoints): Envoy re-warms it and needs EDS again, same version.
    const changed = clusters(1);
    changed.clusters[0] = { ...changed.clusters[0]!, connect_timeout: { seconds: 7 } };
    cache.set('envoy', buildSnapshot(changed, 'envoy', 'v2'));
    const cds2 = a.sent[2]!;
    expect(cds2.type_url).toBe(CLUSTER_TYPE);
    const eds2 = a.sent[3]!;
    expect(eds2.type_url).toBe(ENDPOINT_TYPE);
    expect(eds2.version_info).toBe(eds1.version_info);
    expect(eds2.nonce).not.toBe(eds1.nonce);
    expect(decodeDiscoveryResponse(eds2.wire!).nonce).toBe(eds2.nonce);
  });

  it('delta: in-sync streams get one Buffer for an edit, holding exactly the changed resource', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(clusters(1), 'envoy', 'v1'));
    const shares = new StreamShares();
    const streams = [delta(cache, shares, 'a'), delta(cache, shares, 'b'), delta(cache, shares, 'c')];
    for (const s of streams) {
      s.request(CLUSTER_TYPE);
      s.ack(s.sent[0]!);
      s.request(ENDPOINT_TYPE, { resource_names_subscribe: ['c1', 'c2'] });
      s.ack(s.sent[1]!);
    }
    cache.set('envoy', buildSnapshot(clusters(2), 'envoy', 'v2'));
    const pushed = streams.map((s) => s.sent[2]!);
    for (const r of pushed) {
      expect(r.type_url).toBe(ENDPOINT_TYPE);
      expect(r.wire).toBe(pushed[0]!.wire);
    }
    const decoded = decodeDeltaDiscoveryResponse(pushed[0]!.wire!);
    expect(decoded.nonce).toBe(pushed[0]!.nonce);
    expect(decoded.resources.map((r) => r.name)).toEqual(['c1']);
    // ACKing the shared response moves each stream on by itself: nothing more to send.
    for (const s of streams) s.ack(s.sent[2]!);
    expect(streams.map((s) => s.sent.length)).toEqual([3, 3, 3]);
  });
});

describe('delta streams across rebuilt sets', () => {
  it('a type rebuilt with the same version sends nothing, and a later change to it is diffed against what the client holds', () => {
    const cache = new SnapshotCache();
    const spec = (eds: number, timeout?: number) => {
      const r = mesh({ services: { a: 'c1' }, clusters: { c1: [1000 + eds], c2: [2000] } });
      if (timeout) r.clusters[1] = { ...r.clusters[1]!, connect_timeout: { seconds: timeout } };
      return r;
    };
    cache.set('envoy', buildSnapshot(spec(1), 'envoy', 'v1'));
    const s = delta(cache, new StreamShares(), 'a');
    s.request(CLUSTER_TYPE, { resource_names_subscribe: ['*'] });
    s.ack(s.sent[0]!);
    s.request(ENDPOINT_TYPE, { resource_names_subscribe: ['c1', 'c2'] });
    s.ack(s.sent[1]!);
    // Endpoints change, clusters are rebuilt with the same content: only EDS goes out.
    cache.set('envoy', buildSnapshot(spec(2), 'envoy', 'v2'));
    expect(s.sent.slice(2).map((r) => [r.type_url, r.resources.length])).toEqual([[ENDPOINT_TYPE, 1]]);
    s.ack(s.sent[2]!);
    cache.set('envoy', buildSnapshot(spec(3), 'envoy', 'v3'));
    expect(s.sent.slice(3).map((r) => r.type_url)).toEqual([ENDPOINT_TYPE]);
    s.ack(s.sent[3]!);
    // Now one cluster changes: exactly that one is sent (then its endpoints, which Envoy re-warms).
    cache.set('envoy', buildSnapshot(spec(3, 9), 'envoy', 'v4'));
    const cds = s.sent[4]!;
    expect(cds.type_url).toBe(CLUSTER_TYPE);
    expect(decodeDeltaDiscoveryResponse(cds.wire!).resources.map((r) => r.name)).toEqual(['c2']);
    expect(decodeDeltaDiscoveryResponse(cds.wire!).removed_resources).toEqual([]);
  });
});

describe('subscribed lists across snapshots', () => {
  it("a type whose set kept its version keeps each name set's list (same names, same bytes); a changed type gets new lists", () => {
    const shares = new StreamShares();
    const spec = (v: number) => mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [1000 + v], c2: [2000], c3: [3000] } });
    const s1 = shares.of(buildSnapshot(spec(1), 'grpc', 'v1'));
    const s2 = shares.of(buildSnapshot(spec(2), 'grpc', 'v2'));
    const names = shares.internNames(['c2', 'c3']);
    const both = shares.internNames(['c1', 'c2']);
    // Clusters are the same in both snapshots (only c1's endpoints changed): the lists carry over.
    expect(s2.snapshot.sets[CLUSTER_TYPE].version).toBe(s1.snapshot.sets[CLUSTER_TYPE].version);
    expect(s2.subscribed(CLUSTER_TYPE, names)).toBe(s1.subscribed(CLUSTER_TYPE, names));
    expect(s2.subscribed(ROUTE_TYPE, shares.internNames(['a']))).toBe(s1.subscribed(ROUTE_TYPE, shares.internNames(['a'])));
    // Endpoints changed: c2 and c3 alone are as before in content, c1 is not; each list is the set's own.
    const e1 = s1.subscribed(ENDPOINT_TYPE, both);
    const e2 = s2.subscribed(ENDPOINT_TYPE, both);
    expect(e2).not.toBe(e1);
    expect(e2.version).not.toBe(e1.version);
    expect(e2.resources).toEqual(['c1', 'c2'].map((n) => s2.snapshot.sets[ENDPOINT_TYPE].resources.get(n)));
    // What a carried list says is what a fresh computation says.
    const fresh = new StreamShares().of(s2.snapshot);
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE] as const) {
      for (const n of [names, both]) {
        const [ours, theirs] = [s2.subscribed(t, n), fresh.subscribed(t, new StreamShares().internNames(n))];
        expect(ours.version).toBe(theirs.version);
        expect(ours.resources.map((r) => [r.name, r.hash, r.anyBytes])).toEqual(theirs.resources.map((r) => [r.name, r.hash, r.anyBytes]));
      }
    }
  });
});

describe('subscribed lists of a patched set (a one-route edit)', () => {
  it('are derived from the earlier lists: an untouched name set keeps its entry, a touched one equals a fresh lookup', () => {
    const shares = new StreamShares();
    const cache = new EncodeCache();
    const services = (a: string) => ({ a, b: 'c2', c: 'c3', d: 'c1' });
    const spec = (a: string) => mesh({ services: services(a), clusters: { c1: [1000], c2: [2000], c3: [3000] } });
    const s1 = shares.of(buildSnapshot(spec('c1'), 'grpc', 'v1', cache));
    cache.endBuild();
    const s2 = shares.of(buildSnapshot(spec('c2'), 'grpc', 'v2', cache));
    expect(s2.snapshot.sets[ROUTE_TYPE].patchOf?.names).toEqual(['a']);
    const [ab, bc, ax] = [shares.internNames(['b', 'a']), shares.internNames(['b', 'c']), shares.internNames(['x', 'a'])];
    for (const n of [ab, bc, ax]) s1.subscribed(ROUTE_TYPE, n);
    // Not touched by the edit: the very entry (and its encoded response) of the earlier set.
    expect(s2.subscribed(ROUTE_TYPE, bc)).toBe(s1.subscribed(ROUTE_TYPE, bc));
    const fresh = new StreamShares();
    const freshShare = fresh.of(s2.snapshot);
    for (const n of [ab, bc, ax]) {
      const [ours, theirs] = [s2.subscribed(ROUTE_TYPE, n), freshShare.subscribed(ROUTE_TYPE, fresh.internNames(n))];
      expect(ours.version).toBe(theirs.version);
      expect(ours.resources.map((r) => [r.name, r.hash, r.refs])).toEqual(theirs.resources.map((r) => [r.name, r.hash, r.refs]));
    }
    expect(s2.subscribed(ROUTE_TYPE, ab).resources.map((r) => r.refs)).toEqual([['c2'], ['c2']]);
    expect(s2.subscribed(ROUTE_TYPE, ab).version).not.toBe(s1.subscribed(ROUTE_TYPE, ab).version);
  });
});

describe('wire helpers', () => {
  it('encodeAny matches the protos, and fields read back by position', () => {
    const any = lookupEnvoyType('google.protobuf.Any');
    const payload = Buffer.from([8, 150, 1]);
    const ours = encodeAny(CLUSTER_TYPE, payload);
    expect(ours).toEqual(Buffer.from(any.encode(any.fromObject({ type_url: CLUSTER_TYPE, value: payload })).finish()));
    expect(anyPayload(ours)).toEqual(payload);
    const header = fieldHeader(7, 300);
    expect(Buffer.from(protobuf.Writer.create().uint32((7 << 3) | 2).uint32(300).finish())).toEqual(header);
    const fields = wireFields(Buffer.concat([Buffer.from([8, 1]), ours]));
    expect(fields.map((f) => [f.field, f.wireType])).toEqual([
      [1, 0],
      [1, 2],
      [2, 2],
    ]);
  });
});
