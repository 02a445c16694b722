/**
 * `/readyz` on a real Tether whose data dir turns read-only or fills up (a tmpfs of the test's
 * own, as the storage-failure tests use): not ready while an edit could not be made durable,
 * ready again once it can; `/healthz` says the process answers throughout. Also the check of
 * a served config, which a Tether answers only once every kind of node is served one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log';
import { readinessChecks } from '../../src/server/readiness';
import { startTether, type Tether } from '../../src/server/tether';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../store/tmpfs';
import { waitFor } from '../support/harness';

const mounts: Tmpfs[] = [];
const tethers: Tether[] = [];
afterEach(async () => {
  for (const t of tethers.splice(0)) await t.close().catch(() => undefined);
  for (const m of mounts.splice(0)) m.unmount();
});

async function get(t: Tether, p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${t.metricsPort}${p}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

describe.skipIf(!canMountTmpfs())('/readyz and the store', () => {
  it('a read-only data dir: not ready (EROFS named), healthy; writable again: ready', async () => {
    const fsys = mountTmpfs(1024)!;
    mounts.push(fsys);
    const dataDir = path.join(fsys.dir, 'data');
    const t = await startTether({ dataDir, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, metrics: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    tethers.push(t);
    expect((await get(t, '/readyz')).status).toBe(200);
    fsys.readOnly(true);
    const notReady = await get(t, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toBe(`[+]config ok\n[-]store failed: cannot write to ${dataDir}: EROFS\nreadyz check failed\n`);
    expect(await get(t, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    fsys.readOnly(false);
    expect((await get(t, '/readyz')).status).toBe(200);
  });

  it('a full disk: not ready (ENOSPC)', async () => {
    const fsys = mountTmpfs(512)!;
    mounts.push(fsys);
    const dataDir = path.join(fsys.dir, 'data');
    const t = await startTether({ dataDir, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, metrics: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    tethers.push(t);
    const fd = fs.openSync(path.join(fsys.dir, 'filler'), 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(4096));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    const res = await waitFor('not ready', async () => {
      const r = await get(t, '/readyz');
      return r.status === 503 ? r : undefined;
    }, 5000);
    expect(res.body).toContain(`[-]store failed: cannot write to ${dataDir}: ENOSPC`);
    fs.rmSync(path.join(fsys.dir, 'filler'));
    expect((await get(t, '/readyz')).status).toBe(200);
  });
});

describe('readiness checks', () => {
  it('no config served to a kind of node yet: not ready, naming the kind', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-readyz-'));
    try {
      const checks = await readinessChecks({ snapshot: (kind) => (kind === 'envoy' ? { configVersion: '3' } : undefined), dataDir })();
      expect(checks).toEqual([
        { name: 'config', ok: false, detail: 'nothing served yet to grpc nodes' },
        { name: 'store', ok: true },
      ]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
