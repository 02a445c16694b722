import { describe, expect, it } from 'vitest';
import { createStreamPacer } from '../../src/xds/stream-pacer';

describe('createStreamPacer', () => {
  it('lets a burst through, then spaces requests so that work stays within the rate', () => {
    let now = 0;
    const pacer = createStreamPacer(250, 100, () => now);
    expect(pacer.charge(200)).toBe(0);
    // 50 ms over the burst: half a second at 100 ms per second.
    expect(pacer.charge(100)).toBeCloseTo(500);
    now += 500;
    expect(pacer.charge(0)).toBeCloseTo(0);
    // Idle time refills the bucket up to the burst, no further.
    now += 60_000;
    expect(pacer.charge(250)).toBe(0);
    expect(pacer.charge(1)).toBeCloseTo(10);
  });
});
