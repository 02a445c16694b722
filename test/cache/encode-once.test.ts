import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeMessage } from '../../src/envoy/encode';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/envoy/type-urls';
import { mesh } from '../xds/fixtures/resources';
import { startAds, type AdsHarness } from '../xds/harness';

vi.mock('../../src/envoy/encode', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/envoy/encode')>();
  return { ...mod, encodeMessage: vi.fn(mod.encodeMessage) };
});

let h: AdsHarness | undefined;
afterEach(async () => {
  await h?.close();
});

describe('encoding cost', () => {
  it('encodes each resource once per snapshot, however many streams receive it', async () => {
    h = await startAds();
    const resources = mesh({ services: { a: 'c1' }, clusters: { c1: [1], c2: [2], c3: [3] } });
    const spy = vi.mocked(encodeMessage);
    spy.mockClear();
    h.publish('envoy', resources, 'cfg-1');
    expect(spy).toHaveBeenCalledTimes(1 + 1 + 3 + 3);

    const snap = h.cache.get('envoy')!;
    const clients = [h.client(), h.client(), h.client()];
    for (const c of clients) {
      c.send(CLUSTER_TYPE, []);
      const cds = await c.nextOf(CLUSTER_TYPE);
      c.ack(cds);
      c.send(ENDPOINT_TYPE, ['c1', 'c3']);
      const eds = await c.nextOf(ENDPOINT_TYPE);
      // The frame carries the snapshot's Any bytes verbatim.
      for (const r of snap.sets[CLUSTER_TYPE].resources.values()) expect(cds.raw.includes(r.anyBytes)).toBe(true);
      expect(eds.raw.includes(snap.sets[ENDPOINT_TYPE].resources.get('c3')!.anyBytes)).toBe(true);
    }
    expect(spy).toHaveBeenCalledTimes(8);
  });
});
