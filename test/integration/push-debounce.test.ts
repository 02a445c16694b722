/**
 * Issue 7: `pushDebounceMs` reaches the snapshot cache of a real Tether: a burst of admin
 * edits is pushed as its first and its last version, and a connected node ends on the last.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edits } from '../../src/control/mutations';
import { Harness, hello } from '../support/harness';

const h = new Harness();
/** Wide: the four edits (each fsynced) must land inside one window even on a loaded machine. */
const WINDOW_MS = 1000;

beforeAll(async () => {
  const r1 = await h.replica('r1');
  const r2 = await h.replica('r2');
  await h.start(
    {
      services: [{ name: 'app', routes: [{ name: 'main', backends: [{ name: 'v1', weight: 100 }, { name: 'v2', weight: 0 }] }] }],
      backends: [
        { name: 'v1', endpoints: [r1.address] },
        { name: 'v2', endpoints: [r2.address] },
      ],
    },
    { pushDebounceMs: WINDOW_MS }
  );
});
afterAll(() => h.close());

describe('push debounce', () => {
  it('coalesces a burst of edits into the first and the last push', async () => {
    const client = h.client('app');
    await hello(client);
    // The window is counted from the last push (the start-up config): let it pass first.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 100));
    const pushed: string[] = [];
    h.tether.cache.watch('grpc', (s) => pushed.push(s.configVersion));
    const versions: string[] = [];
    for (const v2 of [10, 20, 30, 40]) {
      const r = await h.tether.manager.mutate('test', edits.setSplit('app', 'main', { v1: 100 - v2, v2 }), {});
      versions.push(String(r.version));
    }
    // The first edit of the burst went out at once; the rest wait for the window's end.
    expect(pushed).toEqual([versions[0]]);
    expect(h.tether.cache.get('grpc')!.configVersion).toBe(versions[3]);
    expect(await h.tether.registry.waitForConfigVersion(versions[3]!, { timeoutMs: 5000 })).toBe(true);
    expect(pushed).toEqual([versions[0], versions[3]]);
    await hello(client);
  });
});
