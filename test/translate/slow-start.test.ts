/**
 * Slow start reaches Envoy only where Envoy applies it: round_robin and least_request
 * (health-kinds.test.ts measures the ramp through a real Envoy). A sticky backend's ring hash
 * or maglev has none, so an explicit balancer is refused (config tests) and a derived one
 * leaves it out with a warning naming the field, instead of sending a field Envoy ignores.
 */
import { describe, expect, it } from 'vitest';
import { staticEndpoints, toReadable, translateWithWarnings } from '../../src/translate';
import { configOf, errorsOf, sticky, type Loose } from '../config/helpers';

const SLOW = { window: '4s' };
const translated = (patch: (b: Loose, s: Loose) => void) => {
  const cfg = configOf(
    sticky((c) => {
      patch(c.backends[0]!, c.services[0]!);
    }),
  );
  const { resources, warnings } = translateWithWarnings(cfg, staticEndpoints(cfg), 'envoy');
  return { cluster: JSON.stringify(toReadable(resources).clusters[0]), warnings };
};

describe('slowStart by balancer (Envoy)', () => {
  it('round_robin and least_request carry slow_start_config; no warning', () => {
    for (const type of ['round_robin', 'least_request']) {
      const { cluster, warnings } = translated((b, s) => {
        delete s.affinity;
        Object.assign(b, { balancer: { type }, slowStart: SLOW });
      });
      expect(cluster).toContain(`"${type}_lb_config":{`);
      expect(cluster).toContain('"slow_start_window":{"seconds":"4"}');
      expect(warnings.filter((w) => w.path.endsWith('slowStart'))).toEqual([]);
    }
  });

  it('a sticky backend (ring hash derived) leaves it out, with a warning naming the field', () => {
    const { cluster, warnings } = translated((b) => Object.assign(b, { slowStart: SLOW }));
    expect(cluster).toContain('"lb_policy":"RING_HASH"');
    expect(cluster).not.toContain('slow_start');
    expect(warnings.find((w) => w.path.endsWith('.slowStart'))?.message).toBe('Envoy has slow start only for round_robin and least_request, not ring_hash: left out');
  });

  it('an explicit ring_hash, maglev or random balancer with slowStart is refused', () => {
    for (const type of ['ring_hash', 'maglev', 'random']) {
      const errors = errorsOf(sticky((c) => Object.assign(c.backends[0]!, { balancer: { type }, slowStart: SLOW })));
      expect(errors.map((e) => `${e.path}: ${e.message}`)).toContain(`backends[0].slowStart: only applies to balancer round_robin or least_request (Envoy has no slow start for ${type})`);
    }
  });
});
