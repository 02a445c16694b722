/**
 * Storage that fails for real: a full disk and a data dir that turns read-only, on a tmpfs
 * of the test's own. The caller of an edit must see the cause and the directory, nothing may
 * change, and shutdown must not crash or strand the lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { toStatus } from '../../src/admin/errors';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { openConfigManager } from '../../src/control/config-manager';
import { TetherError } from '../../src/config/errors';
import { createPublisher } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import { createFileStore } from '../../src/store/file-store';
import { waitFor } from '../support/harness';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from './tmpfs';

const doc = (note: string) => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [{ name: 'shop', routes: [{ name: 'main', backends: [{ name: 'v1' }] }] }],
  backends: [{ name: 'v1', endpoints: ['10.0.0.1:8080'], connectTimeout: note }],
});

const mounts: Tmpfs[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) m.unmount();
});

async function managerOn(dir: string) {
  const store = await createFileStore({ dir });
  const publisher = createPublisher({ cache: new SnapshotCache(), logger: silentLogger() });
  const manager = await openConfigManager({ store, publisher, logger: silentLogger(), initial: { document: doc('1s'), source: 'file', description: 'seed' } });
  return { store, manager, close: async () => { await manager.close(); publisher.close(); await store.close(); } };
}

describe.skipIf(!canMountTmpfs())('storage failures', () => {
  it('a full disk: the edit fails with RESOURCE_EXHAUSTED naming the cause and the directory; nothing changes', async () => {
    const fsys = mountTmpfs(256)!;
    mounts.push(fsys);
    const dir = path.join(fsys.dir, 'data');
    const { manager, store, close } = await managerOn(dir);
    // Fill the rest of the disk.
    const filler = path.join(fsys.dir, 'filler');
    const fd = fs.openSync(filler, 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(16 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    const err = await manager.apply(doc('2s'), { source: 'apply' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetherError);
    const e = err as TetherError;
    expect(e.code).toBe('RESOURCE_EXHAUSTED');
    expect(e.message).toMatch(new RegExp(`could not save config version 2: no space left on device in ${fs.realpathSync(dir)}(/versions)?`));
    // What the admin API sends: the same code and message, not "internal error".
    const status = toStatus(e, silentLogger());
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('no space left on device');
    expect(manager.current().version).toBe(1);
    expect((await store.current())?.version).toBe(1);
    fs.rmSync(filler);
    expect((await manager.apply(doc('2s'), { source: 'apply' })).version).toBe(2);
    await close();
  });

  it('a data dir that turns read-only: edits fail with UNAVAILABLE, close() resolves, and the lock left behind is stale to the next start', async () => {
    const fsys = mountTmpfs(1024)!;
    mounts.push(fsys);
    const dir = path.join(fsys.dir, 'data');
    const { manager, close } = await managerOn(dir);
    // Version 1's CURRENT hint is written after its commit was answered: a file open for
    // writing keeps the remount from happening.
    await waitFor('CURRENT names version 1', () => (fs.existsSync(path.join(dir, 'CURRENT')) && JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8')).version === 1) || undefined);
    fsys.readOnly(true);
    const err = (await manager.apply(doc('2s'), { source: 'apply' }).catch((e: unknown) => e)) as TetherError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/read-only file system in /);
    await expect(close()).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true);
    fsys.readOnly(false);
    const again = await createFileStore({ dir });
    expect((await again.current())?.version).toBe(1);
    await again.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });
});
