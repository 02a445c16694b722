/** Drives SotwStream directly with a real SnapshotCache and a fake `send`: no gRPC. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/envoy/resource-types';
import type { DiscoveryRequestIn, DiscoveryResponseOut } from '../../src/xds/discovery-codec';
import { NodeRegistry } from '../../src/xds/node-status';
import { SotwStream } from '../../src/xds/sotw-stream';
import { mesh } from './fixtures/resources';

const silent = pino({ level: 'silent' });

function request(typeUrl: string, names: string[], extra: Partial<DiscoveryRequestIn> = {}): DiscoveryRequestIn {
  return { version_info: '', node: null, resource_names: names, type_url: typeUrl, response_nonce: '', error_detail: null, ...extra };
}

function open(cache: SnapshotCache, id: string, registry?: NodeRegistry) {
  const sent: DiscoveryResponseOut[] = [];
  const failures: string[] = [];
  const stream = new SotwStream({
    streamId: id,
    cache,
    logger: silent,
    status: registry,
    send: (r) => sent.push(r),
    fail: (_code, details) => failures.push(details),
  });
  const node = { id, cluster: '', user_agent_name: 'envoy', user_agent_version: '', user_agent_build_version: null, metadata: null };
  return {
    stream,
    sent,
    failures,
    first: (typeUrl: string, names: string[]) => stream.handleRequest(request(typeUrl, names, { node })),
    ack: (r: DiscoveryResponseOut, names: string[] = []) =>
      stream.handleRequest(request(r.type_url, names, { version_info: r.version_info, response_nonce: r.nonce })),
  };
}

describe('SotwStream', () => {
  it('hands every stream the same resource objects and bytes from the shared snapshot', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(mesh({ services: {}, clusters: { c1: [1], c2: [2] } }), 'envoy', 'v1'));
    const a = open(cache, 'a');
    const b = open(cache, 'b');
    a.first(CLUSTER_TYPE, []);
    b.first(CLUSTER_TYPE, []);
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(1);
    const shared = [...cache.get('envoy')!.sets[CLUSTER_TYPE].resources.values()];
    a.sent[0]!.resources.forEach((r, i) => {
      expect(r).toBe(shared[i]);
      expect(r.anyBytes).toBe(b.sent[0]!.resources[i]!.anyBytes);
    });
  });

  it('records ACKs and the fully applied config version in the registry, and forgets the stream on close', () => {
    const cache = new SnapshotCache();
    const registry = new NodeRegistry();
    const changes: string[] = [];
    registry.onChange((id) => changes.push(id));
    cache.set('envoy', buildSnapshot(mesh({ services: {}, clusters: { c1: [1] } }), 'envoy', 'v1'));
    const s = open(cache, 's1', registry);
    s.first(CLUSTER_TYPE, []);
    s.ack(s.sent[0]!);
    s.stream.handleRequest(request(ENDPOINT_TYPE, ['c1']));
    expect(registry.get('s1')?.appliedConfigVersion).toBeUndefined();
    s.ack(s.sent[1]!, ['c1']);
    const status = registry.get('s1')!;
    expect(status).toMatchObject({ nodeId: 's1', kind: 'envoy', userAgent: 'envoy', appliedConfigVersion: 'v1' });
    expect(status.types[ENDPOINT_TYPE]).toMatchObject({ sentVersion: s.sent[1]!.version_info, ackedVersion: s.sent[1]!.version_info });
    expect(changes.length).toBeGreaterThan(0);
    s.stream.close();
    expect(registry.get('s1')).toBeUndefined();
    expect(cache.watcherCount('envoy')).toBe(0);
  });

  it('fails a stream whose first request has no node', () => {
    const cache = new SnapshotCache();
    const s = open(cache, 'x');
    s.stream.handleRequest(request(CLUSTER_TYPE, []));
    expect(s.failures).toEqual(['the first request on a stream must carry node']);
    expect(cache.watcherCount('envoy')).toBe(0);
  });

  it('ignores resource types it does not serve', () => {
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(mesh({ services: {}, clusters: {} }), 'envoy', 'v1'));
    const s = open(cache, 'x');
    s.first('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', []);
    expect(s.sent).toEqual([]);
    expect(s.failures).toEqual([]);
  });
});

describe('NodeRegistry', () => {
  it('waits until every connected stream applies a config version', async () => {
    const registry = new NodeRegistry();
    const identity = { cluster: '', kind: 'grpc' as const, userAgent: '', connectedAt: new Date() };
    registry.streamOpened({ ...identity, streamId: 'a', nodeId: 'a' });
    registry.streamOpened({ ...identity, streamId: 'b', nodeId: 'b' });
    expect(await registry.waitForConfigVersion('v2', { timeoutMs: 20 })).toBe(false);
    const waiting = registry.waitForConfigVersion('v2', { timeoutMs: 2000 });
    registry.configApplied('a', 'v2');
    expect(registry.lagging('v2').map((s) => s.nodeId)).toEqual(['b']);
    registry.streamClosed('b');
    expect(await waiting).toBe(true);
    expect(await registry.waitForConfigVersion('v2', { kind: 'envoy', timeoutMs: 10 })).toBe(true);
  });

  it('returns copies that callers cannot use to change its state', () => {
    const registry = new NodeRegistry();
    registry.streamOpened({ streamId: 'a', nodeId: 'a', cluster: '', kind: 'envoy', userAgent: '', connectedAt: new Date() });
    registry.nacked('a', CLUSTER_TYPE, 'v1', '1', 'bad');
    const copy = registry.get('a')!;
    copy.types[CLUSTER_TYPE]!.lastNack!.message = 'changed';
    expect(registry.get('a')!.types[CLUSTER_TYPE]!.lastNack!.message).toBe('bad');
  });
});
