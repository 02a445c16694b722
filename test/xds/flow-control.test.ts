import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { mesh } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness;
afterEach(async () => {
  await h?.close();
});

/** ~300 clusters with long names: each CDS response is tens of KiB. */
function big(version: number) {
  const clusters = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`cluster-${'x'.repeat(100)}-${i}`, [10000 + ((i + version) % 50)]]));
  clusters[`changing-${version}`] = [9000];
  return mesh({ services: { a: Object.keys(clusters)[0]! }, clusters });
}

describe('per-stream flow control', () => {
  it('a client that stops reading gets one response per type in flight and does not slow the others', async () => {
    h = await startAds();
    h.publish('envoy', big(0), 'v0');
    const stuck = h.client({ id: 'stuck' });
    stuck.send(CLUSTER_TYPE, []);
    const first = await stuck.nextOf(CLUSTER_TYPE); // got the first response, will never ACK or read again
    stuck.pause();

    const healthy = h.client({ id: 'healthy' });
    healthy.send(CLUSTER_TYPE, []);
    healthy.ack(await healthy.nextOf(CLUSTER_TYPE));

    for (let v = 1; v <= 30; v++) {
      h.publish('envoy', big(v), `v${v}`);
      const started = Date.now();
      const r = await healthy.nextOf(CLUSTER_TYPE, 2000);
      healthy.ack(r);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    await eventually(() => h.registry.list().find((n) => n.nodeId === 'healthy')?.types[CLUSTER_TYPE]?.ackedVersion === h.cache.get('envoy')!.sets[CLUSTER_TYPE].version, 2000, 'healthy ACKed the latest');
    // The stuck stream was sent exactly one response: nothing queued up for it.
    const stuckStatus = h.registry.list().find((n) => n.nodeId === 'stuck')!;
    expect(stuckStatus.types[CLUSTER_TYPE]?.sentNonce).toBe(first.nonce);
    expect(stuckStatus.types[CLUSTER_TYPE]?.ackedVersion).toBeUndefined();
  });
});
