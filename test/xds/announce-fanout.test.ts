/**
 * The snapshot cache tells its first watchers at once and the rest when those first pushes are
 * written (snapshot-cache.ts FIRST_WATCHERS, ads-server.ts beginPush). Through the real ADS
 * server and grpc-js clients: grpc-js calls every first push's write callback, and every stream
 * gets the new version.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_WATCHERS } from '../../src/cache/snapshot-cache';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { mesh, type MeshSpec } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const V1: MeshSpec = { services: { a: 'c1' }, clusters: { c1: [9001] } };
const V2: MeshSpec = { services: { a: 'c1' }, clusters: { c1: [9001], c2: [9002] } };

describe('an announce to many streams over gRPC', () => {
  it(`the first ${FIRST_WATCHERS} pushes are written (grpc-js calls back), then every stream gets the version`, { timeout: 30_000 }, async () => {
    const ads = (h = await startAds());
    ads.publish('envoy', mesh(V1), '1');
    const clients = Array.from({ length: FIRST_WATCHERS * 2 + 5 }, () => ads.client());
    for (const c of clients) c.send(CLUSTER_TYPE, []);
    const first = await Promise.all(clients.map((c) => c.nextOf(CLUSTER_TYPE)));
    clients.forEach((c, i) => c.ack(first[i]!));
    // Every ACK handled: no stream holds back the next push for a response in flight.
    const acked = () => ads.registry.list().filter((n) => n.types[CLUSTER_TYPE]?.ackedVersion === first[0]!.version_info).length;
    await eventually(() => acked() === clients.length, 10_000, 'every CDS ACKed');

    // Count the write callbacks handed out during the announce and the ones grpc-js called.
    const begin = ads.cache.beginPush.bind(ads.cache);
    let begun = 0;
    let written = 0;
    ads.cache.beginPush = () => {
      const done = begin();
      if (!done) return undefined;
      begun++;
      return () => {
        written++;
        done();
      };
    };
    const told: string[] = [];
    ads.cache.onAnnounced((_kind, s) => told.push(s.configVersion));
    ads.publish('envoy', mesh(V2), '2');

    const versions = await Promise.all(clients.map((c) => c.nextOf(CLUSTER_TYPE)));
    for (const r of versions) expect(r.resources).toHaveLength(2);
    expect(new Set(versions.map((r) => r.version_info)).size).toBe(1);
    expect(begun).toBe(FIRST_WATCHERS);
    expect(written).toBe(FIRST_WATCHERS);
    expect(told).toEqual(['2']);
  });
});
