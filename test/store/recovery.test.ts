/**
 * Torn writes and corruption, built by hand on disk: each case is a state a crash (or a bad
 * disk) can leave, and the store must open on the last intact version, never a corrupt one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore, StoreHistoryLostError, type FileStore } from '../../src/store';
import { encodeCurrentPointer, encodeVersionFile } from '../../src/store/version-file';
import { capturingLogger, meta, record, tempStoreDir, versionFiles } from './helpers';

const v = (n: number) => `versions/${String(n).padStart(10, '0')}.json`;

/** A closed store at version `upTo`. */
async function storeAt(upTo: number): Promise<string> {
  const dir = tempStoreDir();
  const store = await createFileStore({ dir });
  for (let n = 1; n <= upTo; n++) await store.commit(record(n));
  await store.close();
  return dir;
}

async function reopen(dir: string): Promise<{ store: FileStore; warnings: string[] }> {
  const { logger, lines } = capturingLogger();
  const store = await createFileStore({ dir, logger });
  const warnings = lines.filter((l) => (l.level as number) >= 40).map((l) => `${l.msg} ${JSON.stringify(l)}`);
  return { store, warnings };
}

/**
 * The store is usable from `version`: state exact, and the next commit is `next` (version+1,
 * unless a number above it was acknowledged before the damage: numbers are never reused).
 */
async function expectAt(store: FileStore, version: number, history: number[], next = version + 1): Promise<void> {
  expect(await store.current()).toEqual(version ? record(version) : undefined);
  expect(await store.list()).toEqual(history.map((n) => meta(record(n))));
  for (const n of history) expect(await store.get(n)).toEqual(record(n));
  expect(store.highestVersion()).toBe(next - 1);
  if (next !== version + 1) await expect(store.commit(record(version + 1))).rejects.toThrow(/store conflict/);
  await store.commit(record(next));
  expect((await store.current())!.version).toBe(next);
}

function write(dir: string, file: string, data: string | Buffer): void {
  fs.writeFileSync(path.join(dir, file), data);
}

function truncate(dir: string, file: string): void {
  const full = path.join(dir, file);
  fs.truncateSync(full, Math.floor(fs.statSync(full).size / 2));
}

describe('file store recovery', () => {
  it('deletes truncated temp files left by an interrupted commit and keeps the old state', async () => {
    const dir = await storeAt(3);
    const next = encodeVersionFile(record(4)).text;
    write(dir, 'versions/.0000000004.json.999.abcd1234.tmp', next.slice(0, next.length / 2));
    write(dir, '.CURRENT.999.abcd1234.tmp', '{"format":1,"vers');
    const { store, warnings } = await reopen(dir);
    expect(warnings.join('\n')).toMatch(/temp files/);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(versionFiles(dir)).toEqual(['0000000001.json', '0000000002.json', '0000000003.json']);
    await expectAt(store, 3, [3, 2, 1]);
    await store.close();
  });

  it('a version file written but not yet named by CURRENT (crash between the renames) is discarded', async () => {
    const dir = await storeAt(3);
    write(dir, v(4), encodeVersionFile(record(4, { description: 'never acknowledged' })).text);
    const { store, warnings } = await reopen(dir);
    expect(warnings.join('\n')).toMatch(/newer than CURRENT/);
    expect(await store.get(4)).toBeUndefined();
    await expectAt(store, 3, [3, 2, 1]);
    expect(await store.get(4)).toEqual(record(4));
    await store.close();
  });

  for (const [name, damage] of [
    ['truncated', (dir: string) => truncate(dir, v(3))],
    ['garbage', (dir: string) => write(dir, v(3), Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7b]))],
    ['empty', (dir: string) => write(dir, v(3), '')],
    // Still valid JSON with the right shape: only the checksum can tell.
    ['bit-flipped', (dir: string) => write(dir, v(3), fs.readFileSync(path.join(dir, v(3)), 'utf8').replace(/"weight": ?3/, '"weight":7'))],
    ['holding another version', (dir: string) => write(dir, v(3), encodeVersionFile(record(2)).text)],
  ] as const) {
    it(`a ${name} current version file: falls back to the newest intact version, warns, never returns it`, async () => {
      const dir = await storeAt(3);
      damage(dir);
      const { store, warnings } = await reopen(dir);
      expect(warnings.join('\n')).toMatch(/corrupt version file/);
      expect(warnings.join('\n')).toMatch(/falling back/);
      expect(await store.get(3)).toBeUndefined();
      expect(versionFiles(dir)).toContain('0000000003.json.corrupt');
      // Version 3 was acknowledged before the disk damaged it: 3 is never used again.
      await expectAt(store, 2, [2, 1], 4);
      await store.close();
    });
  }

  it('a corrupt older version is left out of history; current is untouched', async () => {
    const dir = await storeAt(3);
    truncate(dir, v(2));
    const { store, warnings } = await reopen(dir);
    expect(warnings.join('\n')).toMatch(/corrupt version file/);
    expect(warnings.join('\n')).not.toMatch(/falling back/);
    expect(await store.get(2)).toBeUndefined();
    await expectAt(store, 3, [3, 1]);
    await store.close();
  });

  for (const [name, damage] of [
    ['missing', (dir: string) => fs.rmSync(path.join(dir, 'CURRENT'))],
    ['garbage', (dir: string) => write(dir, 'CURRENT', 'v3\0\0')],
    ['truncated', (dir: string) => truncate(dir, 'CURRENT')],
    ['naming a missing version', (dir: string) => write(dir, 'CURRENT', encodeCurrentPointer({ version: 9, sha256: 'ab' }))],
    // A flipped digit that names another intact version: the checksum does not match it.
    ['naming an intact version with the wrong checksum', (dir: string) => write(dir, 'CURRENT', encodeCurrentPointer({ version: 2, sha256: encodeVersionFile(record(3)).sha256 }))],
  ] as const) {
    it(`CURRENT ${name}: the newest intact version is current, and CURRENT is repaired`, async () => {
      const dir = await storeAt(3);
      damage(dir);
      const { store, warnings } = await reopen(dir);
      expect(warnings.join('\n')).toMatch(/falling back/);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8')).version).toBe(3);
      await expectAt(store, 3, [3, 2, 1], name === 'naming a missing version' ? 10 : 4);
      await store.close();
    });
  }

  it('CURRENT naming a deleted current version: falls back to the previous one', async () => {
    const dir = await storeAt(3);
    fs.rmSync(path.join(dir, v(3)));
    const { store, warnings } = await reopen(dir);
    expect(warnings.join('\n')).toMatch(/CURRENT names version 3, which is missing or corrupt/);
    await expectAt(store, 2, [2, 1], 4);
    await store.close();
  });

  for (const [name, damage] of [
    ['every version file corrupt', (dir: string) => (write(dir, v(1), '{"format":1,'), write(dir, v(2), 'garbage'))],
    ['versions/ deleted', (dir: string) => (fs.rmSync(path.join(dir, 'versions'), { recursive: true }), fs.mkdirSync(path.join(dir, 'versions')))],
    ['every version file corrupt and CURRENT garbage', (dir: string) => (write(dir, v(1), 'x'), write(dir, v(2), 'y'), write(dir, 'CURRENT', 'zz'))],
  ] as const) {
    it(`${name}: the store refuses to open, naming the directory and how to recover, and keeps refusing`, async () => {
      const dir = await storeAt(2);
      damage(dir);
      for (let attempt = 0; attempt < 2; attempt++) {
        const err = (await createFileStore({ dir }).catch((e: unknown) => e)) as Error;
        expect(err).toBeInstanceOf(StoreHistoryLostError);
        expect(err.message).toContain(`config store ${fs.realpathSync(dir)}: the config history is lost`);
        expect(err.message).toMatch(/restore .* from a backup, or start a new history from a config file with --config FILE --start-new-history \(versions continue from 3\)/);
      }
      // The lock is not left behind by the refusal.
      expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    });
  }

  it('a lost history, with startNewHistory: opens empty and numbers the new history after the last version seen', async () => {
    const dir = await storeAt(2);
    write(dir, v(1), '{"format":1,');
    write(dir, v(2), 'garbage');
    const { logger, lines } = capturingLogger();
    const store = await createFileStore({ dir, logger, startNewHistory: true });
    expect(lines.map((l) => l.msg)).toContain('config store: starting a new history, as asked');
    await expectAt(store, 0, [], 3);
    await store.close();
  });

  it('a fresh directory opens silently', async () => {
    const { store, warnings } = await reopen(tempStoreDir());
    expect(warnings).toEqual([]);
    await store.close();
  });

  it('a version corrupted on disk after open is refused by get(), not returned', async () => {
    const dir = await storeAt(3);
    const { store } = await reopen(dir);
    write(dir, v(2), fs.readFileSync(path.join(dir, v(2)), 'utf8').replace(/"weight": ?2/, '"weight":5'));
    await expect(store.get(2)).rejects.toThrow(/version 2 is corrupt on disk/);
    write(dir, v(1), encodeVersionFile(record(1, { description: 'swapped' })).text);
    await expect(store.get(1)).rejects.toThrow(/changed on disk/);
    expect(await store.current()).toEqual(record(3));
    await store.close();
  });
});
