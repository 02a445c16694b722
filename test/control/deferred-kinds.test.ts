/**
 * A cold start serves its first version to Envoy before it is built for gRPC (publisher
 * deferKinds, as `tether serve` runs it): the gRPC part comes after, in event-loop turns, and
 * must serve exactly what a whole build serves; a gRPC node that connects in between waits and
 * then gets that; a version applied meanwhile waits for it and is built whole.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configDocument as benchConfig } from '../../bench/xds/config-gen';
import { buildSnapshot, EncodeCache, type Snapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigDocument, validateConfig } from '../../src/config';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { LISTENER_TYPE } from '../../src/envoy/resource-types';
import { anyPayload } from '../../src/envoy/wire';
import { silentLogger } from '../../src/log';
import type { TetherConfig } from '../../src/model/types';
import { createEndpointResolver } from '../../src/resolve/resolver';
import { NODE_KINDS, translateWithWarnings } from '../../src/translate';
import { eventually, startAds, type AdsHarness } from '../xds/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@grpc/grpc-js-xds').register();

const lookup = async (): Promise<string[]> => ['10.9.0.1'];
const ECHO_PATH = '/tether.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

/** A unary echo server (raw bytes in, "echo:" + bytes out) on 127.0.0.1. */
async function startEcho(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const method = { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  server.addService({ Echo: method }, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function config(document: unknown): TetherConfig {
  const v = validateConfig(document);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.config;
}

function golden(name: string): TetherConfig {
  const parsed = parseConfigDocument(fs.readFileSync(path.join(__dirname, '..', 'golden', name, 'input.yaml'), 'utf8'), name);
  if (!parsed.ok) throw new Error(name);
  return config(parsed.document);
}

/** Every kind's snapshot from scratch: the reference. */
async function wholeBuild(c: TetherConfig, version: number): Promise<Map<string, Snapshot>> {
  const resolver = createEndpointResolver({ lookup, onChange: () => undefined });
  try {
    const endpoints = await resolver.resolveOnce(c);
    return new Map(NODE_KINDS.map((kind) => [kind, buildSnapshot(translateWithWarnings(c, endpoints, kind).resources, kind, String(version), new EncodeCache())]));
  } finally {
    resolver.close();
  }
}

function expectSameSnapshot(got: Snapshot | undefined, want: Snapshot, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.contentVersion, what).toBe(want.contentVersion);
  expect(got!.configVersion, what).toBe(want.configVersion);
  for (const [typeUrl, set] of Object.entries(want.sets)) {
    const mine = got!.sets[typeUrl as keyof Snapshot['sets']];
    expect(mine.list.map((r) => r.name), `${what} ${typeUrl}`).toEqual(set.list.map((r) => r.name));
    set.list.forEach((r, i) => expect(mine.list[i]!.anyBytes.equals(r.anyBytes), `${what} ${r.name}`).toBe(true));
  }
}

function deferringPublisher(ads: AdsHarness): Publisher {
  const publisher = createPublisher({ cache: ads.cache, logger: silentLogger(), lookup, resolveIntervalMs: 3_600_000, deferKinds: ['grpc'] });
  closers.push(() => publisher.close());
  return publisher;
}

describe('first version, gRPC deferred', () => {
  it('serves Envoy first; a gRPC node connected before gets, once built, what a whole build serves', async () => {
    const ads = await startAds();
    closers.push(() => ads.close());
    const publisher = deferringPublisher(ads);
    const c = golden('grpc-port');
    const want = await wholeBuild(c, 1);
    // Connected before anything is served: it waits (no response) until gRPC's part is built.
    const grpcNode = ads.client({ user_agent_name: 'gRPC Node Pure JS' });
    const listeners = want.get('grpc')!.sets[LISTENER_TYPE].list.map((r) => r.name);
    grpcNode.send(LISTENER_TYPE, listeners);
    await grpcNode.expectNothing(100);

    const prepared = await publisher.prepare(c, 1);
    // What the manager diffs and records: the Envoy part only.
    expect([...prepared.snapshots.keys()]).toEqual(['envoy']);
    prepared.publish();
    expectSameSnapshot(ads.cache.get('envoy'), want.get('envoy')!, 'envoy, at publish');
    expect(ads.cache.get('grpc')).toBeUndefined();
    expect(publisher.served()).toBeUndefined();

    const response = await grpcNode.nextOf(LISTENER_TYPE, 10_000);
    expect(response.resources.map((r) => r.value)).toEqual(want.get('grpc')!.sets[LISTENER_TYPE].list.map((r) => anyPayload(r.anyBytes)));
    await publisher.settled();
    const served = publisher.served()!;
    expect([...served.snapshots.keys()]).toEqual([...NODE_KINDS]);
    for (const kind of NODE_KINDS) {
      expectSameSnapshot(served.snapshots.get(kind), want.get(kind)!, `${kind}, served`);
      expectSameSnapshot(ads.cache.get(kind), want.get(kind)!, `${kind}, in the cache`);
    }
    // The whole rendition, as the non-deferred build makes it (warnings in kind order too).
    const whole = createPublisher({ cache: new SnapshotCache(), logger: silentLogger(), lookup, resolveIntervalMs: 3_600_000 });
    closers.push(() => whole.close());
    const reference = await whole.prepare(c, 1);
    expect(served.warnings).toEqual(reference.warnings);
    expect([...served.resources]).toEqual([...reference.resources]);
  });

  it('a version prepared while gRPC is being built waits for it, then is built whole', async () => {
    const ads = await startAds();
    closers.push(() => ads.close());
    const publisher = deferringPublisher(ads);
    const first = config(benchConfig(300));
    const secondDoc = benchConfig(300) as { services: Array<{ name: string }> };
    secondDoc.services = secondDoc.services.slice(1);
    const second = config(secondDoc);
    const p1 = await publisher.prepare(first, 1);
    p1.publish();
    expect(ads.cache.get('grpc')).toBeUndefined();
    // Started at once: it must wait for gRPC's part of version 1, and serve version 2 whole.
    const p2 = await publisher.prepare(second, 2);
    expect(ads.cache.get('grpc')?.configVersion).toBe('1');
    expect(publisher.served()?.version).toBe(1);
    expect([...p2.snapshots.keys()]).toEqual([...NODE_KINDS]);
    p2.publish();
    const want = await wholeBuild(second, 2);
    for (const kind of NODE_KINDS) expectSameSnapshot(ads.cache.get(kind), want.get(kind)!, `${kind}, version 2`);
  });

  it('close() stops the gRPC part: nothing more is built or served', async () => {
    const ads = await startAds();
    closers.push(() => ads.close());
    const publisher = deferringPublisher(ads);
    const p = await publisher.prepare(config(benchConfig(1000)), 1);
    p.publish();
    publisher.close();
    await publisher.settled();
    expect(ads.cache.get('envoy')).toBeDefined();
    expect(ads.cache.get('grpc')).toBeUndefined();
    expect(publisher.served()).toBeUndefined();
  });

  it('a real grpc-js-xds client that resolves before anything is served gets its call through once gRPC is built', async () => {
    const ads = await startAds();
    closers.push(() => ads.close());
    const echo = await startEcho();
    closers.push(() => echo.server.forceShutdown());
    const publisher = deferringPublisher(ads);
    const bootstrap = { xds_servers: [{ server_uri: ads.address, channel_creds: [{ type: 'insecure' }] }], node: { id: 'early-grpc', locality: {} } };
    const client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    });
    closers.push(() => client.close());
    // The call starts first: the client subscribes and waits (nothing is served yet).
    const reply = new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.from('hi'), { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res!.toString()))),
    );
    await eventually(() => ads.registry.list().some((n) => n.nodeId === 'early-grpc'), 10_000, 'the gRPC client connected');
    const c = config({
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'echo', routes: [{ backends: [{ name: 'echo-v1' }] }] }],
      backends: [{ name: 'echo-v1', endpoints: [`127.0.0.1:${echo.port}`] }],
    });
    const prepared = await publisher.prepare(c, 1);
    prepared.publish();
    expect(ads.cache.get('grpc')).toBeUndefined();
    expect(await reply).toBe('echo:hi');
    await publisher.settled();
    expectSameSnapshot(ads.cache.get('grpc'), (await wholeBuild(c, 1)).get('grpc')!, 'grpc');
  });
});
