/**
 * The backends' passes (translate/index.ts: endpoints, assignment names, clusters, assignments)
 * are taken whole from the last translation when the backends and their resolved endpoints are
 * the same (UnitMemo.pass). The config edits of test/control/rendition-property.test.ts change
 * resolved endpoints only with the config; here DNS answers change under the same config, and
 * a service changes under the same backends: the memoized translation must equal a fresh one.
 */
import { describe, expect, it } from 'vitest';
import type { BalancerSpec, EndpointSpec, TetherConfig } from '../../src/model/types';
import type { ResolvedEndpoints } from '../../src/model/resolved';
import { NODE_KINDS, translateWithWarnings, UnitMemo } from '../../src/translate';
import { backend, backendRef, config, route, service } from './fixtures';

const STABLE: BalancerSpec = { type: 'ring_hash', minRingSize: 1024, maxRingSize: 8388608, ring: 'stable' };
const dns: EndpointSpec = { host: 'shop.internal', port: 8080, weight: 1, drain: false };

function shop(routeName: string): TetherConfig {
  return config(
    [service('shop', [route(routeName, [backendRef('shop-v1', 50), backendRef('shop-v2', 50)])])],
    [backend('shop-v1', { endpoints: [dns], balancer: STABLE }), backend('shop-v2', { endpoints: [{ ...dns, hashKey: 'k' }] })],
  );
}

function resolvedTo(...ips: string[]): ResolvedEndpoints {
  const list = ips.map((ip) => ({ ip, port: 8080, weight: 1, drain: false, hostname: 'shop.internal' }));
  return new Map([
    ['shop-v1', list],
    ['shop-v2', list],
  ]);
}

describe('translation passes over unchanged backends', () => {
  for (const kind of NODE_KINDS) {
    it(`${kind}: equal a fresh translation when DNS answers or services change`, () => {
      const memo = new UnitMemo();
      const cfg = shop('all');
      const steps: Array<[TetherConfig, ResolvedEndpoints]> = [
        [cfg, resolvedTo('10.0.0.1')],
        [cfg, resolvedTo('10.0.0.1', '10.0.0.2')], // same config, new addresses (ring size, hash-key warning)
        [cfg, resolvedTo('10.0.0.3', '10.0.0.2')],
        [{ ...cfg, services: shop('edited').services }, resolvedTo('10.0.0.3', '10.0.0.2')],
        [cfg, resolvedTo('10.0.0.1')],
      ];
      let last = '';
      for (const [c, endpoints] of steps) {
        const memoized = translateWithWarnings(c, endpoints, kind, undefined, memo);
        const fresh = translateWithWarnings(c, endpoints, kind);
        expect(memoized).toEqual(fresh);
        const text = JSON.stringify(fresh);
        expect(text).not.toBe(last); // every step changes the output, so a stale pass shows
        last = text;
      }
    });
  }
});
