/**
 * A restart's head start on a real Envoy (src/server/served-snapshot.ts): the snapshot file a
 * Tether writes at shutdown is, decoded alone, a config Envoy applies and routes by (SotW and
 * delta); and a file whose bytes differ from the fresh build of its version (another
 * config's snapshot under this version's key) ends with Envoy on the fresh build, with Tether
 * saying so at error level.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSnapshotFile, encodeSnapshotFile } from '../../src/cache/snapshot-file';
import { servedSnapshotPath } from '../../src/server/served-snapshot';
import { startTether } from '../../src/server/tether';
import { silentLogger } from '../../src/log';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { capturingLogger } from '../store/helpers';
import { startAds } from '../xds/harness';

describe.skipIf(!envoyAvailable())('persisted snapshot on a real Envoy', () => {
  const h = new Harness();
  const envoys: EnvoyProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  let port = 0;
  let xdsPort = 0;
  const config = (v1: number) => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: [{ name: 'demo', routes: [{ name: 'default', backends: [{ name: 'demo-v1', weight: v1 }, { name: 'demo-v2', weight: 100 - v1 }] }] }],
    backends: [
      { name: 'demo-v1', endpoints: [`127.0.0.1:${h.replicas[0]!.httpPort}`] },
      { name: 'demo-v2', endpoints: [`127.0.0.1:${h.replicas[1]!.httpPort}`] },
    ],
  });
  const dataDir = () => path.join(h.dir, 'data');
  const replicaAt = async (): Promise<string> => {
    const reply = await request(port, { path: '/' });
    expect(reply.status).toBe(200);
    return reply.json!.replica as string;
  };

  beforeAll(async () => {
    await h.replica('r1');
    await h.replica('c1', 'v2');
    port = await freePort();
    xdsPort = await freePort();
    await h.start(config(100), { xdsPort });
    await h.tether.close();
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.close()));
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await h.close();
  });

  for (const delta of [false, true]) {
    it(`the file decoded, alone in an ADS server's cache: Envoy (${delta ? 'delta' : 'SotW'}) applies it and routes by it`, async () => {
      const decoded = decodeSnapshotFile(fs.readFileSync(servedSnapshotPath(dataDir())));
      if (!decoded.ok) throw new Error(decoded.reason);
      const ads = await startAds();
      closers.push(() => ads.close());
      ads.cache.set('envoy', decoded.snapshot);
      const envoy = await startEnvoy({ xdsPort: Number(ads.address.split(':')[1]), delta });
      envoys.push(envoy);
      await envoy.waitConnected();
      await envoy.waitListening(port);
      for (let i = 0; i < 3; i++) expect(await replicaAt()).toBe('r1');
      await envoy.expectNoRejections();
      await envoy.close();
      envoys.splice(envoys.indexOf(envoy), 1);
      await ads.close();
    });
  }

  it('a file whose bytes differ from the fresh build: Envoy ends on the fresh build, and Tether logs the difference', async () => {
    // Another config (all traffic to c1), its snapshot under this data dir's version key.
    const other = path.join(h.dir, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'config.yaml'), JSON.stringify(config(0)));
    const t = await startTether({ configPath: path.join(other, 'config.yaml'), dataDir: path.join(other, 'data'), xdsHost: '127.0.0.1', xdsPort: 0, admin: false, logger: silentLogger() });
    await t.close();
    const own = decodeSnapshotFile(fs.readFileSync(servedSnapshotPath(dataDir())));
    const foreign = decodeSnapshotFile(fs.readFileSync(servedSnapshotPath(path.join(other, 'data'))));
    if (!own.ok || !foreign.ok) throw new Error('no snapshot files');
    fs.writeFileSync(servedSnapshotPath(dataDir()), encodeSnapshotFile(foreign.snapshot, own.key));

    const envoy = await startEnvoy({ xdsPort });
    envoys.push(envoy);
    const { logger, lines } = capturingLogger();
    await h.start(config(100), { xdsPort, logger });
    expect(lines.some((l) => String(l.msg).includes('serving the persisted snapshot'))).toBe(true);
    expect(lines.some((l) => l.level === 50 && String(l.msg).includes('differs from a fresh build of version 1'))).toBe(true);
    await envoy.waitConnected(20_000);
    await envoy.waitListening(port);
    await envoy.until('Envoy to be at the fresh build (all traffic to r1)', async () => (await replicaAt()) === 'r1');
    for (let i = 0; i < 3; i++) expect(await replicaAt()).toBe('r1');
    await expect(h.tether.registry.waitForConfigVersion('1', { timeoutMs: 10_000 })).resolves.toBe(true);
    await envoy.expectNoRejections();
  });
});
