/**
 * The file store's one-round-trip commit (atomic-file.ts `syncAfterRename`): from the second
 * version on, a small version file is renamed into place once `ready` says so and only then
 * fsynced, together with the directory; the first version, and large files, take the long way
 * (temp file fsynced before the rename). Which way a commit took shows in what `ready` sees:
 * on the long way the temp file is already synced and closed, on the short one it is still open.
 * (A torn newest version, what a power loss before those fsyncs could leave, falls back to the
 * previous one: recovery.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNC_WRITE_BYTES, writeFileDurably } from '../../src/store/atomic-file';
import { createFileStore } from '../../src/store';
import { record, tempStoreDir, versionFiles } from './helpers';

/** Paths of this process's open files under `dir`. */
function openUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${real}/`)) out.push(path.basename(target));
    } catch {
      // closed meanwhile (readdir's own handle)
    }
  }
  return out;
}

function freshDir(): string {
  const dir = tempStoreDir();
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe.skipIf(!fs.existsSync('/proc/self/fd'))('rename, then fsync file and directory together', () => {
  it('asks ready while the temp file is written but not yet synced, and leaves the new content in place', async () => {
    const dir = freshDir();
    let atReady: string[] = [];
    const ok = await writeFileDurably(dir, 'v.json', '{"a":1}', { syncAfterRename: true, ready: async () => ((atReady = openUnder(dir)), true) });
    expect(ok).toBe(true);
    expect(atReady).toEqual([expect.stringMatching(/^\.v\.json\..*\.tmp$/)]);
    expect(fs.readdirSync(dir)).toEqual(['v.json']);
    expect(fs.readFileSync(path.join(dir, 'v.json'), 'utf8')).toBe('{"a":1}');
    expect(openUnder(dir)).toEqual([]);
  });

  it('without it, or above SYNC_WRITE_BYTES, the temp file is synced and closed before ready is asked', async () => {
    const dir = freshDir();
    const seen: string[][] = [];
    const ready = async () => (seen.push(openUnder(dir)), true);
    await writeFileDurably(dir, 'a.json', 'small', { ready });
    const big = 'x'.repeat(SYNC_WRITE_BYTES + 1);
    await writeFileDurably(dir, 'b.json', big, { ready, syncAfterRename: true });
    expect(seen).toEqual([[], []]);
    expect(fs.readFileSync(path.join(dir, 'b.json'), 'utf8')).toBe(big);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
  });

  it('ready saying no leaves the old content and no temp file', async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'v.json'), 'old');
    expect(await writeFileDurably(dir, 'v.json', 'new', { syncAfterRename: true, ready: async () => false })).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['v.json']);
    expect(fs.readFileSync(path.join(dir, 'v.json'), 'utf8')).toBe('old');
    expect(openUnder(dir)).toEqual([]);
  });

  it('a write that fails names the temp file and leaves nothing behind', async () => {
    const dir = freshDir();
    const missing = path.join(dir, 'gone');
    const err = await writeFileDurably(missing, 'v.json', 'x', { syncAfterRename: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', path: expect.stringContaining(`${missing}/.v.json.`) });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('the file store commits its first version the long way and later ones the short way; all survive a reopen', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const versions = path.join(dir, 'versions');
    const seen: string[][] = [];
    for (let v = 1; v <= 3; v++) expect(await store.commitWhen!(record(v), async () => (seen.push(openUnder(versions)), true))).toBe(true);
    expect(seen[0]).toEqual([]);
    expect(seen[1]).toEqual([expect.stringMatching(/^\.0000000002\.json\..*\.tmp$/)]);
    expect(seen[2]).toEqual([expect.stringMatching(/^\.0000000003\.json\..*\.tmp$/)]);
    // Withdrawn on the short way too: nothing stored, the number still free.
    expect(await store.commitWhen!(record(4), async () => false)).toBe(false);
    expect(store.highestVersion()).toBe(3);
    await store.close();
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000002.json', '0000000003.json']);
    const reopened = await createFileStore({ dir });
    expect(await reopened.current()).toEqual(record(3));
    expect(await reopened.get(2)).toEqual(record(2));
    await reopened.close();
  });

  it('updates CURRENT only after an immediate the caller queues once the commit resolved (the rest of its publish)', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    await store.commit(record(1));
    await store.commit(record(2));
    const current = () => (JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8')) as { version: number }).version;
    expect(current()).toBe(1);
    await store.commit(record(3));
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(current())));
    expect(seen).toBe(2);
    await store.close();
    expect(current()).toBe(3);
  });
});
