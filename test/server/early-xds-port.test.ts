/**
 * A cold start binds the xDS port while the first version is still being resolved and built
 * (src/server/tether.ts): an Envoy that connects meanwhile waits on the cache and gets the
 * version the moment it is published. A start that fails releases the port again.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTether, type Tether } from '../../src/server/tether';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { AdsClient, resourceNames } from '../support/ads-client';
import { freePort } from '../support/envoy';
import { silentLogger } from '../../src/log';

const CONFIG = `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    routes: [{ name: main, backends: [{ name: v1 }] }]
backends:
  - { name: v1, endpoints: ["shop.internal:8080"] }
`;

const dirs: string[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configFile(text: string): { configPath: string; dataDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-early-xds-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'config.yaml'), text);
  return { configPath: path.join(dir, 'config.yaml'), dataDir: path.join(dir, 'data') };
}

/** Whether a TCP connection to the port is accepted now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Tether serving xDS only, on `port`. */
const xdsOnly = (port: number) => ({ xdsHost: '127.0.0.1', xdsPort: port, admin: false, extProc: false, watch: false, logger: silentLogger() }) as const;

describe('the xDS port on a cold start', () => {
  it('is bound while the first version is built; a waiting Envoy gets it once published', { timeout: 20_000 }, async () => {
    const port = await freePort();
    let release!: () => void;
    const resolving = new Promise<void>((resolve) => (release = resolve));
    let lookups = 0;
    const starting = startTether({
      ...configFile(CONFIG),
      ...xdsOnly(port),
      // The first version's DNS name resolves only when the test says so: its build waits.
      lookup: async () => {
        lookups++;
        await resolving;
        return ['10.0.0.7'];
      },
    });
    let tether: Tether | undefined;
    cleanups.push(async () => {
      release();
      await (tether ?? (await starting.catch(() => undefined)))?.close();
    });
    void starting.then((t) => (tether = t));
    await expect.poll(() => accepts(port), { timeout: 10_000, interval: 20 }).toBe(true);
    await expect.poll(() => lookups, { timeout: 10_000 }).toBeGreaterThan(0);
    const envoy = new AdsClient(`127.0.0.1:${port}`, { node: { id: 'early', cluster: 'c', user_agent_name: 'envoy' } as never, timeoutMs: 10_000 });
    cleanups.push(() => envoy.close());
    envoy.send(CLUSTER_TYPE, []);
    // Nothing is served before the first version is built (and durable).
    await envoy.expectNothing(200);
    expect(tether).toBeUndefined();
    release();
    const cds = await envoy.nextOf(CLUSTER_TYPE);
    expect(resourceNames(cds)).toEqual(['v1']);
    expect(cds.version_info).not.toBe('');
    tether = await starting;
  });

  it('is released when the first version is rejected', { timeout: 20_000 }, async () => {
    const port = await freePort();
    const start = startTether({
      ...configFile('services: [{ name: shop, routes: [{ backends: [{ name: missing }] }] }]\n'),
      ...xdsOnly(port),
    });
    await expect(start).rejects.toThrow(/missing/);
    expect(await accepts(port)).toBe(false);
  });
});
