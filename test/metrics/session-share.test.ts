import { beforeAll, describe, expect, it } from 'vitest';
import {
  balancerHosts,
  buildMaglev,
  buildRing,
  initHashing,
  maglevShares,
  nominalShares,
  ringShares,
  type AffinityEndpoint,
} from '../../src/affinity';
import { createTetherMetrics } from '../../src/metrics';
import type { TetherConfig } from '../../src/model/types';
import { staticEndpoints } from '../../src/translate';
import { validConfig } from '../explain/explain-helpers';
import { samples } from './exposition';
import { servedResources } from './served-resources';

beforeAll(() => initHashing());

/** Three services: `shop` (ring hash, weighted), `cart` (maglev, small table), `web` (round robin). */
function doc(overrides: { shopEndpoints?: unknown[]; extraService?: boolean } = {}): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      { name: 'shop', domains: ['shop'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] },
      { name: 'cart', domains: ['cart'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'cart-v1' }] }] },
      { name: 'web', domains: ['web'], routes: [{ name: 'main', backends: [{ name: 'web-v1' }] }] },
      ...(overrides.extraService
        ? [{ name: 'shop2', domains: ['shop2'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] }]
        : []),
    ],
    backends: [
      {
        name: 'shop-v1',
        endpoints: overrides.shopEndpoints ?? [
          { address: '10.0.0.1:8080', weight: 1 },
          { address: '10.0.0.2:8080', weight: 2 },
          { address: '10.0.0.3:8080', weight: 3 },
        ],
        balancer: { type: 'ring_hash', ring: 'fixed', minRingSize: 64 },
      },
      { name: 'cart-v1', endpoints: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80', '10.0.1.4:80'], balancer: { type: 'maglev', tableSize: 251 } },
      { name: 'web-v1', endpoints: ['10.0.2.1:80', '10.0.2.2:80'] },
    ],
  };
}

const served = servedResources;

/** The config's endpoints of `backend` as src/affinity takes them. */
function endpointsOf(config: TetherConfig, backend: string): AffinityEndpoint[] {
  return [...staticEndpoints(config).get(backend)!];
}

async function shareSeries(metrics: ReturnType<typeof createTetherMetrics>): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of samples(await metrics.registry.metrics(), 'tether_replica_session_share')) {
    const key = `${s.labels.service}/${s.labels.cluster}`;
    if (!out.has(key)) out.set(key, new Map());
    out.get(key)!.set(s.labels.replica!, s.value);
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('replica session share', () => {
  it('equals src/affinity\'s ring and maglev shares for each sticky service, sums to 1, and skips non-hashing clusters', async () => {
    const config = validConfig(doc());
    const metrics = createTetherMetrics({ processMetrics: false });
    metrics.servedConfigChanged(served(config));
    await metrics.sessionSharesSettled();
    const series = await shareSeries(metrics);
    expect([...series.keys()].sort()).toEqual(['cart/cart-v1', 'shop/shop-v1']);

    const shopHosts = balancerHosts(endpointsOf(config, 'shop-v1'), 'envoy');
    const ring = ringShares(buildRing(shopHosts, { flavour: 'envoy', minRingSize: 64, maxRingSize: 8_388_608 }));
    const shop = series.get('shop/shop-v1')!;
    expect([...shop.keys()].sort()).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    for (const [address, share] of ring) expect(shop.get(address)).toBeCloseTo(share, 12);
    expect(sum(shop)).toBeCloseTo(1, 12);
    // A 64-point ring is far from the weights: the exact arcs are reported, not the weights.
    const nominal = nominalShares(shopHosts);
    expect(Math.max(...[...shop].map(([a, s]) => Math.abs(s - nominal.get(a)!)))).toBeGreaterThan(0.005);

    const cartHosts = balancerHosts(endpointsOf(config, 'cart-v1'), 'envoy');
    const table = maglevShares(buildMaglev(cartHosts, 251));
    const cart = series.get('cart/cart-v1')!;
    expect(cart.size).toBe(4);
    for (const [address, share] of table) expect(cart.get(address)).toBeCloseTo(share, 12);
    expect(sum(cart)).toBeCloseTo(1, 12);
    // Slots of a 251 table: multiples of 1/251.
    for (const share of cart.values()) expect(Math.abs(share * 251 - Math.round(share * 251))).toBeLessThan(1e-9);
  });

  it('follows config changes: gone replicas are dropped, a second service on the cluster gets its series, undefined clears all', async () => {
    const metrics = createTetherMetrics({ processMetrics: false });
    metrics.servedConfigChanged(served(validConfig(doc())));
    const smaller = validConfig(doc({ shopEndpoints: ['10.0.0.1:8080', '10.0.0.9:8080'], extraService: true }));
    metrics.servedConfigChanged(served(smaller));
    await metrics.sessionSharesSettled();
    const series = await shareSeries(metrics);
    expect([...series.keys()].sort()).toEqual(['cart/cart-v1', 'shop/shop-v1', 'shop2/shop-v1']);
    const expected = ringShares(buildRing(balancerHosts(endpointsOf(smaller, 'shop-v1'), 'envoy'), { flavour: 'envoy', minRingSize: 64 }));
    for (const key of ['shop/shop-v1', 'shop2/shop-v1']) {
      const shop = series.get(key)!;
      expect([...shop.keys()].sort()).toEqual(['10.0.0.1:8080', '10.0.0.9:8080']);
      for (const [address, share] of expected) expect(shop.get(address)).toBeCloseTo(share, 12);
    }
    metrics.servedConfigChanged(undefined);
    expect((await shareSeries(metrics)).size).toBe(0);
  });

  it('past the budget shows nominal shares first, then refines them exactly in later turns', async () => {
    const config = validConfig(doc());
    // A slice of 0 ms computes one cluster per turn: cart-v1 (first by name) at once, shop-v1 later.
    const metrics = createTetherMetrics({ processMetrics: false, shareSliceMs: 0 });
    // A fresh turn of the loop: the first slice shares the turn's budget with whatever sliced
    // work ran in it before (util/yield-loop.ts turnSlice), here the setup above.
    await new Promise((resolve) => setTimeout(resolve, 2));
    metrics.servedConfigChanged(served(config));
    const shopHosts = balancerHosts(endpointsOf(config, 'shop-v1'), 'envoy');
    const cartHosts = balancerHosts(endpointsOf(config, 'cart-v1'), 'envoy');
    const table = maglevShares(buildMaglev(cartHosts, 251));
    const ring = ringShares(buildRing(shopHosts, { flavour: 'envoy', minRingSize: 64 }));
    let series = await shareSeries(metrics);
    for (const [address, share] of table) expect(series.get('cart/cart-v1')!.get(address)).toBeCloseTo(share, 12);
    for (const [address, share] of nominalShares(shopHosts)) expect(series.get('shop/shop-v1')!.get(address)).toBe(share);
    await metrics.sessionSharesSettled();
    series = await shareSeries(metrics);
    for (const [address, share] of ring) expect(series.get('shop/shop-v1')!.get(address)).toBeCloseTo(share, 12);
    expect([...ring].some(([a, s]) => Math.abs(s - nominalShares(shopHosts).get(a)!) > 0.005)).toBe(true);
  });
});
