/**
 * The ACK shortcuts of grpc15: a stream skips the reference-closure check of a type while the
 * content it holds and the subscriptions the check reads are those of its last passed check
 * (SotW and delta), and a delta ACK of a response that carried the whole difference from the
 * stream's base makes that set the base directly. Each test would pass a wrong "applied" or a
 * lost update if a shortcut took a changed subscription, a NACK or a stale nonce for a plain ACK.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import type { DiscoveryRequestIn, DiscoveryResponseOut } from '../../src/xds/discovery-codec';
import { NodeRegistry } from '../../src/xds/node-status';
import { SotwStream } from '../../src/xds/sotw-stream';
import { names } from '../support/delta-client';
import { mesh } from './fixtures/resources';
import { startAds, type AdsHarness } from './harness';

const silent = pino({ level: 'silent' });

function sotwClient(cache: SnapshotCache, registry: NodeRegistry) {
  const sent: DiscoveryResponseOut[] = [];
  const stream = new SotwStream({ streamId: 's', cache, logger: silent, status: registry, send: (r) => sent.push(r), fail: () => {} });
  const node = { id: 's', cluster: '', user_agent_name: 'gRPC Node Pure JS', user_agent_version: '', user_agent_build_version: null, metadata: null };
  let first = true;
  const request = (typeUrl: string, resourceNames: string[], extra: Partial<DiscoveryRequestIn> = {}) => {
    stream.handleRequest({ version_info: '', node: first ? node : null, resource_names: resourceNames, type_url: typeUrl, response_nonce: '', error_detail: null, ...extra });
    first = false;
  };
  const last = (typeUrl: string) => [...sent].reverse().find((r) => r.type_url === typeUrl)!;
  return {
    sent,
    request,
    /** ACKs the latest response of the type, with the names given (a changed list changes the subscription). */
    ack: (typeUrl: string, resourceNames: string[]) => request(typeUrl, resourceNames, { version_info: last(typeUrl).version_info, response_nonce: last(typeUrl).nonce }),
    applied: () => registry.get('s')?.appliedConfigVersion,
  };
}

describe('reference-closure memo (SotW)', () => {
  it('re-checks a type when its content or the referenced subscription changed, not only when its names did', () => {
    const cache = new SnapshotCache();
    const registry = new NodeRegistry();
    const clusters = { c1: [1], c2: [2] };
    cache.set('grpc', buildSnapshot(mesh({ services: { a: 'c1' }, clusters }), 'grpc', 'v1'));
    const c = sotwClient(cache, registry);
    const subscribe = (typeUrl: string, n: string[]) => {
      c.request(typeUrl, n);
      c.ack(typeUrl, n);
    };
    subscribe(LISTENER_TYPE, ['a']);
    subscribe(ROUTE_TYPE, ['a']);
    subscribe(CLUSTER_TYPE, ['c1']);
    subscribe(ENDPOINT_TYPE, ['c1', 'c2']);
    expect(c.applied()).toBe('v1');

    // The route now names c2, which the client does not subscribe to: same route names, new content.
    cache.set('grpc', buildSnapshot(mesh({ services: { a: 'c2' }, clusters }), 'grpc', 'v2'));
    expect(c.sent.at(-1)!.type_url).toBe(ROUTE_TYPE);
    c.ack(ROUTE_TYPE, ['a']);
    expect(c.applied()).toBe('v1');
    // It asks for c2 instead of c1 (in the same request as its ACK): now closed.
    c.ack(CLUSTER_TYPE, ['c2']);
    expect(c.sent.at(-1)!.type_url).toBe(CLUSTER_TYPE);
    c.ack(CLUSTER_TYPE, ['c2']);
    expect(c.applied()).toBe('v2');

    // Back to c1 while the route still names c2; then an edit the client follows (c2's endpoints).
    c.ack(CLUSTER_TYPE, ['c1']);
    c.ack(CLUSTER_TYPE, ['c1']);
    cache.set('grpc', buildSnapshot(mesh({ services: { a: 'c2' }, clusters: { c1: [1], c2: [2, 3] } }), 'grpc', 'v3'));
    expect(c.sent.at(-1)!.type_url).toBe(ENDPOINT_TYPE);
    c.ack(ENDPOINT_TYPE, ['c1', 'c2']);
    // Routes and their names are as at v2's check, the cluster subscription is not: not applied.
    expect(c.applied()).toBe('v2');
    c.ack(CLUSTER_TYPE, ['c1', 'c2']);
    c.ack(CLUSTER_TYPE, ['c1', 'c2']);
    expect(c.applied()).toBe('v3');
  });

  it('a NACK or a stale nonce does not count as the ACK that completes a version', () => {
    const cache = new SnapshotCache();
    const registry = new NodeRegistry();
    cache.set('grpc', buildSnapshot(mesh({ services: { a: 'c1' }, clusters: { c1: [1] } }), 'grpc', 'v1'));
    const c = sotwClient(cache, registry);
    for (const [t, n] of [[LISTENER_TYPE, ['a']], [ROUTE_TYPE, ['a']], [CLUSTER_TYPE, ['c1']], [ENDPOINT_TYPE, ['c1']]] as const) {
      c.request(t, [...n]);
      c.ack(t, [...n]);
    }
    expect(c.applied()).toBe('v1');
    cache.set('grpc', buildSnapshot(mesh({ services: { a: 'c1' }, clusters: { c1: [1, 2] } }), 'grpc', 'v2'));
    const eds = c.sent.at(-1)!;
    expect(eds.type_url).toBe(ENDPOINT_TYPE);
    c.request(ENDPOINT_TYPE, ['c1'], { version_info: eds.version_info, response_nonce: 'not-the-nonce' });
    expect(c.applied()).toBe('v1');
    c.request(ENDPOINT_TYPE, ['c1'], { version_info: eds.version_info, response_nonce: eds.nonce, error_detail: { code: 3, message: 'no' } });
    expect(c.applied()).toBe('v1');
    expect(registry.get('s')!.types[ENDPOINT_TYPE]!.lastNack?.message).toBe('no');
  });
});

let h: AdsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('delta ACK of a whole difference', () => {
  it('an ACK that also changes the subscription is not taken as "in sync with the new set"', async () => {
    h = await startAds();
    h.publish('grpc', mesh({ services: {}, clusters: { c1: [1001], c2: [1002] } }), '1');
    const c = h.deltaClient({ user_agent_name: 'gRPC Node Pure JS' });
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await c.expectNothing();

    // c2 changes and c3 appears; the client ACKs the c2 update in a request that subscribes to
    // c3. It never got c3: taking the new set as what it holds would never send it.
    h.publish('grpc', mesh({ services: {}, clusters: { c1: [1001], c2: [1002, 1004], c3: [1003] } }), '2');
    const update = await c.nextOf(ENDPOINT_TYPE);
    expect(names(update)).toEqual(['c2']);
    c.ack(update, { subscribe: ['c3'] });
    const added = await c.nextOf(ENDPOINT_TYPE);
    expect(names(added)).toEqual(['c3']);
    c.ack(added);
    await c.expectNothing();

    // Dropped with an ACK and asked for again: sent again.
    h.publish('grpc', mesh({ services: {}, clusters: { c1: [1001], c2: [1002, 1005], c3: [1003] } }), '3');
    const next = await c.nextOf(ENDPOINT_TYPE);
    expect(names(next)).toEqual(['c2']);
    c.ack(next, { unsubscribe: ['c2'] });
    await c.expectNothing();
    c.send(ENDPOINT_TYPE, { subscribe: ['c2'] });
    const again = await c.nextOf(ENDPOINT_TYPE);
    expect(names(again)).toEqual(['c2']);
    c.ack(again);
    await c.expectNothing();
  });

  it('after a plain ACK the next edit sends only what changed; a NACKed version is not taken as held', async () => {
    h = await startAds();
    const clusters = (c1: number[], c2: number[]) => ({ c1, c2 });
    const publish = (v: string, c1: number[], c2: number[]) => h!.publish('grpc', mesh({ services: {}, clusters: clusters(c1, c2) }), v);
    publish('1', [1001], [1002]);
    const c = h.deltaClient({ user_agent_name: 'gRPC Node Pure JS' });
    c.send(ENDPOINT_TYPE, { subscribe: ['c1', 'c2'] });
    c.ack(await c.nextOf(ENDPOINT_TYPE));
    await c.expectNothing();

    publish('2', [1001, 1005], [1002]);
    const first = await c.nextOf(ENDPOINT_TYPE);
    expect(names(first)).toEqual(['c1']);
    c.ack(first);
    await c.expectNothing();
    // Only c2: the client holds c1 as of version 2 (a base left at version 1 would resend c1).
    publish('3', [1001, 1005], [1002, 1006]);
    const second = await c.nextOf(ENDPOINT_TYPE);
    expect(names(second)).toEqual(['c2']);
    c.ack(second);
    await c.expectNothing();

    publish('4', [1001, 1007], [1002, 1006]);
    const rejected = await c.nextOf(ENDPOINT_TYPE);
    expect(names(rejected)).toEqual(['c1']);
    c.nack(rejected, 'bad endpoints');
    await c.expectNothing();
    // Back to what the client kept (version 3's c1): nothing to send. Had the NACK been taken
    // for an ACK of the whole difference, the client would be thought to hold version 4's c1.
    publish('5', [1001, 1005], [1002, 1006]);
    await c.expectNothing();
    // A stale nonce is no ACK either: version 6's c1 goes out, its ACK under an old nonce is ignored.
    publish('6', [1001, 1008], [1002, 1006]);
    const sixth = await c.nextOf(ENDPOINT_TYPE);
    expect(names(sixth)).toEqual(['c1']);
    c.ack({ ...sixth, nonce: first.nonce });
    publish('7', [1001, 1008], [1002, 1009]);
    await c.expectNothing();
    c.ack(sixth);
    expect(names(await c.nextOf(ENDPOINT_TYPE))).toEqual(['c2']);
  });
});
