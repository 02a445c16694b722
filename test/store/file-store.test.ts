import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore, StoreConflictError } from '../../src/store';
import { meta, record, tempStoreDir, versionFiles } from './helpers';

describe('file store: commit, read, history', () => {
  it('starts empty in a directory it creates with mode 0700', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(await store.current()).toBeUndefined();
    expect(await store.get(1)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    await store.close();
  });

  it('commits versions; current/get/list return them exactly, newest first, without documents in list', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    for (let v = 1; v <= 3; v++) await store.commit(record(v, v === 2 ? { fileHash: 'f00d' } : {}));
    expect(await store.current()).toEqual(record(3));
    expect(await store.get(2)).toEqual(record(2, { fileHash: 'f00d' }));
    expect(await store.get(1)).toEqual(record(1));
    expect(await store.get(4)).toBeUndefined();
    expect(await store.list()).toEqual([meta(record(3)), meta(record(2, { fileHash: 'f00d' })), meta(record(1))]);
    await store.close();
  });

  it('returns copies: mutating a returned record does not change the store', async () => {
    const store = await createFileStore({ dir: tempStoreDir() });
    await store.commit(record(1));
    const got = (await store.current())!;
    (got.document as { note: string }).note = 'changed';
    got.description = 'changed';
    expect(await store.current()).toEqual(record(1));
    expect((await store.list())[0]!.description).toBe('version 1');
    await store.close();
  });

  it('writes one enveloped, checksummed file per version (a checkpoint, then a patch against it) and a CURRENT pointer', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    await store.commit(record(1));
    await store.commit(record(2));
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000002.json']);
    const first = JSON.parse(fs.readFileSync(path.join(dir, 'versions/0000000001.json'), 'utf8'));
    expect(first.format).toBe(2);
    expect(first.record).toEqual(record(1));
    const sha1 = createHash('sha256').update(JSON.stringify(record(1))).digest('hex');
    expect(first.sha256).toBe(sha1);
    const second = JSON.parse(fs.readFileSync(path.join(dir, 'versions/0000000002.json'), 'utf8'));
    expect(second.format).toBe(2);
    expect(second.record).toBeUndefined();
    // The unchanged `note` is kept from the checkpoint, the services list is new.
    expect(second.patch).toMatchObject({ version: 2, base: { version: 1, sha256: sha1 }, keys: [['services', { list: [{ v: (record(2).document.services as unknown[])[0] }] }], ['note', { same: 1 }]] });
    const sha2 = createHash('sha256').update(JSON.stringify(second.patch)).digest('hex');
    expect(second.sha256).toBe(sha2);
    // CURRENT is replaced after the commit is answered, at the latest by close().
    await store.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['CURRENT', 'versions']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8'))).toEqual({ format: 1, version: 2, sha256: sha2 });
  });

  it('commitWhen: writes the version aside, then commits it only when ready says so', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    await store.commit(record(1));
    const files = fs.readdirSync(path.join(dir, 'versions'));
    const aside: string[][] = [];
    const seen = () => aside.push(fs.readdirSync(path.join(dir, 'versions')).filter((f) => !files.includes(f)));
    // Not ready: nothing changes, on disk or in memory, and the same number is free.
    expect(await store.commitWhen!(record(2), async () => (seen(), false))).toBe(false);
    expect(aside[0]).toEqual([expect.stringMatching(/^\.0000000002\.json\..*\.tmp$/)]);
    expect(fs.readdirSync(path.join(dir, 'versions'))).toEqual(files);
    expect(store.highestVersion()).toBe(1);
    expect(await store.current()).toEqual(record(1));
    // Ready: committed as commit() does, the version file in place only after the answer.
    expect(await store.commitWhen!(record(2), async () => (seen(), true))).toBe(true);
    expect(aside[1]).toEqual([expect.stringMatching(/\.tmp$/)]);
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000002.json']);
    expect(await store.current()).toEqual(record(2));
    await store.close();
    const reopened = await createFileStore({ dir });
    expect(await reopened.current()).toEqual(record(2));
    expect(await reopened.list()).toEqual([meta(record(2)), meta(record(1))]);
    await reopened.close();
  });

  it.skipIf(!fs.existsSync('/proc/self/fd'))('keeps one handle on its versions directory for the commits\' fsyncs, and closes it on close()', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const versions = fs.realpathSync(path.join(dir, 'versions'));
    const handles = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === versions;
        } catch {
          return false; // closed meanwhile (readdir's own handle)
        }
      }).length;
    for (let v = 1; v <= 3; v++) await store.commit(record(v));
    expect(handles()).toBe(1);
    await store.close();
    expect(handles()).toBe(0);
  });

  it('rejects a commit that is not current+1 with StoreConflictError and changes nothing', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    await expect(store.commit(record(2))).rejects.toMatchObject({ name: 'StoreConflictError', expected: 2, actual: 0 });
    await store.commit(record(1));
    const conflict = await store.commit(record(1, { description: 'lost race' })).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(StoreConflictError);
    expect(conflict).toMatchObject({ expected: 1, actual: 1 });
    await expect(store.commit(record(3))).rejects.toBeInstanceOf(StoreConflictError);
    expect(await store.current()).toEqual(record(1));
    expect(await store.list()).toEqual([meta(record(1))]);
    expect(versionFiles(dir)).toEqual(['0000000001.json']);
    await store.commit(record(2));
    expect((await store.current())!.version).toBe(2);
    await store.close();
  });

  it('serialises concurrent commits in call order: of two writers of the same version one wins', async () => {
    const store = await createFileStore({ dir: tempStoreDir() });
    const results = await Promise.allSettled([
      store.commit(record(1)),
      store.commit(record(2)),
      store.commit(record(2, { description: 'second writer' })),
      store.commit(record(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(StoreConflictError);
    expect((await store.list()).map((m) => m.description)).toEqual(['version 3', 'version 2', 'version 1']);
    await store.close();
  });

  it('rejects an invalid record before writing anything', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const bad = { ...record(1), document: [] as unknown as Record<string, unknown> };
    await expect(store.commit(bad)).rejects.toThrow(/record.document must be an object/);
    expect(versionFiles(dir)).toEqual([]);
    await store.commit(record(1));
    await expect(store.commit({ ...record(2), restores: 2 })).rejects.toThrow(/record.restores must be an earlier version/);
    await store.commit({ ...record(2), restores: 1 });
    expect((await store.list())[0]!.restores).toBe(1);
    await store.close();
  });

  it('keeps only the newest `retain` versions, on disk and in list(), and the checkpoint they are patches of', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir, retain: 3 });
    for (let v = 1; v <= 6; v++) await store.commit(record(v));
    expect((await store.list()).map((m) => m.version)).toEqual([6, 5, 4]);
    expect(await store.get(3)).toBeUndefined();
    expect(await store.get(1)).toBeUndefined();
    expect(await store.get(4)).toEqual(record(4));
    // Old files are deleted after the commit is answered, at the latest by close().
    await store.close();
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000004.json', '0000000005.json', '0000000006.json']);
  });

  it('refuses retain < 2', async () => {
    await expect(createFileStore({ dir: tempStoreDir(), retain: 1 })).rejects.toThrow(/retain must be an integer >= 2/);
  });

  it('after a restart, restores the exact current record and history, and continues numbering', async () => {
    const dir = tempStoreDir();
    const first = await createFileStore({ dir, retain: 3 });
    for (let v = 1; v <= 4; v++) await first.commit(record(v, { source: v % 2 ? 'file' : 'rollback', fileHash: v % 2 ? `fh${v}` : undefined }));
    const before = { current: await first.current(), list: await first.list(), got: await Promise.all([2, 3, 4].map((v) => first.get(v))) };
    await first.close();

    const second = await createFileStore({ dir, retain: 3 });
    expect(await second.current()).toEqual(before.current);
    expect(await second.list()).toEqual(before.list);
    expect(await Promise.all([2, 3, 4].map((v) => second.get(v)))).toEqual(before.got);
    expect(await second.get(1)).toBeUndefined();
    await expect(second.commit(record(4))).rejects.toBeInstanceOf(StoreConflictError);
    await second.commit(record(5));
    await second.close();
  });

  it('applies a smaller retention on reopen', async () => {
    const dir = tempStoreDir();
    const first = await createFileStore({ dir, retain: 10 });
    for (let v = 1; v <= 5; v++) await first.commit(record(v));
    await first.close();
    const second = await createFileStore({ dir, retain: 2 });
    expect((await second.list()).map((m) => m.version)).toEqual([5, 4]);
    // Version 1 stays as the checkpoint of 4 and 5.
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000004.json', '0000000005.json']);
    expect(await second.get(4)).toEqual(record(4));
    await second.close();
  });

  it('close(): waits for queued commits, then refuses use and releases the lock', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const pending = store.commit(record(1));
    await store.close();
    await pending;
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    await expect(store.commit(record(2))).rejects.toThrow(/closed/);
    await expect(store.current()).rejects.toThrow(/closed/);
    await store.close();
    const again = await createFileStore({ dir });
    expect((await again.current())!.version).toBe(1);
    await again.close();
  });
});
