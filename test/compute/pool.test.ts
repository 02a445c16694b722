/**
 * The compute worker thread: answers match the in-process computation, a failing input is
 * reported per cluster, and a closed (or dead) worker rejects what was pending and is
 * replaced on the next job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPicker, initHashing, pickerFrom, syntheticHashes, type AffinityEndpoint } from '../../src/affinity';
import { ComputePool } from '../../src/compute';
import type { BalancerSpec } from '../../src/model/types';

const endpoints: AffinityEndpoint[] = [
  { ip: '10.0.0.1', port: 80, weight: 1 },
  { ip: '10.0.0.2', port: 80, weight: 2 },
  { ip: '10.0.0.3', port: 80, weight: 3 },
];
const ring: BalancerSpec = { type: 'ring_hash', ring: 'fixed', minRingSize: 64, maxRingSize: 8_388_608 };

const pool = new ComputePool();
beforeAll(() => initHashing());
afterAll(() => pool.close());

describe('compute pool', () => {
  it('computes exact shares on the worker, and reports a bad input without failing the batch', async () => {
    const bad: BalancerSpec = { type: 'ring_hash', ring: 'fixed', minRingSize: 2048, maxRingSize: 1024 };
    const [good, failed] = await pool.shares([
      { endpoints, balancer: ring },
      { endpoints, balancer: bad },
    ]);
    expect(good).toEqual({ shares: createPicker(endpoints, ring, { flavour: 'envoy' })!.shares() });
    expect(failed).toEqual({ error: expect.stringContaining('minimum_ring_size (2048) > maximum_ring_size (1024)') });
  });

  it('builds rings and maglev tables that pick exactly as ones built here', async () => {
    const maglev: BalancerSpec = { type: 'maglev', tableSize: 251 };
    for (const balancer of [ring, maglev]) {
      const data = await pool.picker({ endpoints, balancer, flavour: 'envoy' });
      const there = pickerFrom(data!);
      const here = createPicker(endpoints, balancer, { flavour: 'envoy' })!;
      expect(there.kind).toBe(balancer.type);
      for (const h of syntheticHashes(500)) expect(there.pick(h)).toBe(here.pick(h));
    }
  });

  it('rejects the jobs pending when the worker goes away, then starts a new one', async () => {
    const pending = expect(pool.shares([{ endpoints, balancer: ring }])).rejects.toThrow(/compute worker: compute worker closed/);
    await pool.close();
    await pending;
    const [again] = await pool.shares([{ endpoints, balancer: ring }]);
    expect(again).toHaveProperty('shares');
  });
});
