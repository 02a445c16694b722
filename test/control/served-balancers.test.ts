/**
 * The ENVOY_BALANCERS rendition view (control/served-balancers.ts), which the session-share
 * metrics read: built once per rendition, it names the hashing clusters routes send to, and
 * decodes each one's balancer from the served bytes only when asked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../src/affinity';
import { ENVOY_BALANCERS } from '../../src/control/served-balancers';
import { validConfig } from '../explain/explain-helpers';
import { servedResources } from '../metrics/served-resources';

beforeAll(() => initHashing());

function doc(shopEndpoints: string[]): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      { name: 'shop', domains: ['shop'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] },
      { name: 'shop2', domains: ['shop2'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }] },
      { name: 'cart', domains: ['cart'], affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'cart-v1' }] }] },
      { name: 'web', domains: ['web'], routes: [{ name: 'main', backends: [{ name: 'web-v1' }] }] },
    ],
    backends: [
      { name: 'shop-v1', endpoints: shopEndpoints, balancer: { type: 'ring_hash', ring: 'fixed', minRingSize: 64 } },
      { name: 'cart-v1', endpoints: ['10.0.1.1:80', '10.0.1.2:80'], balancer: { type: 'maglev', tableSize: 251 } },
      { name: 'web-v1', endpoints: ['10.0.2.1:80'] },
      { name: 'unused', endpoints: ['10.0.3.1:80'], balancer: { type: 'maglev', tableSize: 251 } },
    ],
  };
}

describe('ENVOY_BALANCERS (a rendition view)', () => {
  it('is built once per rendition: the hashing clusters routes send to, with their services and balancers as served', () => {
    const rendition = servedResources(validConfig(doc(['10.0.0.1:8080', '10.0.0.2:8080'])));
    const view = rendition.view(ENVOY_BALANCERS);
    expect(rendition.view(ENVOY_BALANCERS)).toBe(view);
    // Round robin (web-v1) does not hash; no route sends to `unused`.
    expect([...view.clusters.keys()].sort()).toEqual(['cart-v1', 'shop-v1']);
    expect([...view.services.get('shop-v1')!].sort()).toEqual(['shop', 'shop2']);
    const shop = view.clusters.get('shop-v1')!.plan()!;
    expect(shop.balancer).toMatchObject({ type: 'ring_hash', minRingSize: 64 });
    expect(shop.endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(view.clusters.get('cart-v1')!.plan()!.balancer).toMatchObject({ type: 'maglev', tableSize: 251 });
  });

  it("a cluster's signature follows its served content: same endpoints, same signature; another endpoint, another", () => {
    const a = servedResources(validConfig(doc(['10.0.0.1:8080', '10.0.0.2:8080']))).view(ENVOY_BALANCERS);
    const same = servedResources(validConfig(doc(['10.0.0.1:8080', '10.0.0.2:8080']))).view(ENVOY_BALANCERS);
    const more = servedResources(validConfig(doc(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']))).view(ENVOY_BALANCERS);
    expect(same.clusters.get('shop-v1')!.signature).toBe(a.clusters.get('shop-v1')!.signature);
    expect(more.clusters.get('shop-v1')!.signature).not.toBe(a.clusters.get('shop-v1')!.signature);
    expect(more.clusters.get('cart-v1')!.signature).toBe(a.clusters.get('cart-v1')!.signature);
    expect(more.clusters.get('shop-v1')!.plan()!.endpoints).toHaveLength(3);
  });
});
