/**
 * A whole config translated and encoded in slices (issue 13's stalls at 10,000 services): the
 * publisher lets the event loop in between services, backends and resources instead of holding
 * it for a whole kind, and the stepped translation and encoding give exactly what the
 * synchronous ones give.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildSnapshot, buildSnapshotSteps, EncodeCache } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { validateConfig } from '../../src/config';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import type { TetherConfig } from '../../src/model/types';
import { NODE_KINDS, staticEndpoints, translateSteps, translateWithWarnings } from '../../src/translate';
import { runSteps } from '../../src/util/steps';
import { configDocument } from '../../bench/xds/config-gen';

function generated(services: number): TetherConfig {
  const r = validateConfig(configDocument(services));
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

let publisher: Publisher | undefined;
afterEach(() => publisher?.close());

describe('translation and encoding in slices', () => {
  it('steps once per service and backend and per resource encoded, with the synchronous result', () => {
    const config = generated(50);
    const endpoints = staticEndpoints(config);
    for (const kind of NODE_KINDS) {
      let steps = 0;
      const stepped = translateSteps(config, endpoints, kind);
      let r = stepped.next();
      for (; !r.done; r = stepped.next()) steps++;
      const whole = translateWithWarnings(config, endpoints, kind);
      expect(r.value).toEqual(whole);
      // Per pass over the services or backends, a step every 16 of them.
      expect(steps).toBeGreaterThanOrEqual((4 * 50) / 16);

      let encodeSteps = 0;
      const encoding = buildSnapshotSteps(whole.resources, kind, '1', new EncodeCache());
      let e = encoding.next();
      for (; !e.done; e = encoding.next()) encodeSteps++;
      const count = Object.values(whole.resources).reduce((n, list) => n + (list as unknown[]).length, 0);
      expect(encodeSteps).toBeGreaterThanOrEqual(count);
      const once = buildSnapshot(whole.resources, kind, '1');
      expect(e.value).toEqual(once);
      expect(runSteps(buildSnapshotSteps(whole.resources, kind, '1'))).toEqual(once);
    }
  });

  it('a cold prepare of 2,000 services lets timers run many times, not only between kinds', async () => {
    const config = generated(2000);
    publisher = createPublisher({ cache: new SnapshotCache(), logger: silentLogger(), resolveIntervalMs: 3_600_000 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const prepared = await publisher.prepare(config, 1);
      prepared.publish();
    } finally {
      clearInterval(timer);
    }
    // Without slices the loop gets in once after each of the four steps (translate and encode
    // per kind); with them, every ~15 ms of the whole-config build (hundreds of ms).
    expect(ticks).toBeGreaterThan(12);
  });

  it('while the caller\'s I/O is pending (ioPending), the build lets the loop in far more often', async () => {
    const config = generated(300);
    /** Immediates that ran while a cold prepare of `config` was built. */
    const turnsDuring = async (ioPending: boolean) => {
      const p = createPublisher({ cache: new SnapshotCache(), logger: silentLogger(), resolveIntervalMs: 3_600_000 });
      let turns = 0;
      let on = true;
      const spin = () => {
        if (!on) return;
        turns++;
        setImmediate(spin);
      };
      try {
        const preparing = p.prepare(config, 1, { ioPending: () => ioPending });
        setImmediate(spin);
        await preparing;
        return turns;
      } finally {
        on = false;
        p.close();
      }
    };
    const without = await turnsDuring(false);
    const during = await turnsDuring(true);
    // Every 0.2 ms of the build against every 15 ms: far more than 5 times as many turns.
    expect(during).toBeGreaterThan(5 * (without + 2));
  });
});
