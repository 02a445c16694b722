/**
 * Versions stored as patches against a checkpoint (store/version-patch.ts): an edit of one
 * entry of a big document writes that entry, every version reads back exactly, also after a
 * restart, and the crash rules hold (a version file of format 2 is committed by being there;
 * older data directories, format 1 with CURRENT as the commit, still open).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store';
import type { VersionRecord } from '../../src/store/types';
import { encodeCurrentPointer, encodeVersionFile } from '../../src/store/version-file';
import { capturingLogger, tempStoreDir, versionFiles } from './helpers';

const SERVICES = 1000;
const file = (dir: string, n: number) => path.join(dir, 'versions', `${String(n).padStart(10, '0')}.json`);

function service(i: number, weight = 1): Record<string, unknown> {
  return { name: `svc-${i}`, domains: [`svc-${i}.example.com`], routes: [{ name: 'r', backends: [{ name: `b-${i}`, weight }] }] };
}

/** Version `v` of a big document: services[v % SERVICES] edited (weight v), the rest as in version 1. */
function bigRecord(v: number, base: Array<Record<string, unknown>>): VersionRecord {
  const services = base.slice();
  if (v > 1) services[v % SERVICES] = service(v % SERVICES, v);
  return {
    version: v,
    document: { listeners: [{ name: 'http', port: 8080 }], services, backends: [{ name: 'b', endpoints: ['10.0.0.1:80'] }] },
    contentHash: `hash-${v}`,
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, v)).toISOString(),
    source: 'upsert-route',
    description: `version ${v}`,
  };
}

const size = (dir: string, n: number) => fs.statSync(file(dir, n)).size;

describe('file store: versions as patches of a checkpoint', () => {
  it('an edit of one entry writes that entry; every version reads back exactly, also after a restart', async () => {
    const dir = tempStoreDir();
    const base = Array.from({ length: SERVICES }, (_, i) => service(i));
    const store = await createFileStore({ dir, retain: 5 });
    for (let v = 1; v <= 8; v++) await store.commit(bigRecord(v, base));
    for (let v = 4; v <= 8; v++) expect(size(dir, v)).toBeLessThan(size(dir, 1) / 50);
    for (let v = 4; v <= 8; v++) expect(await store.get(v)).toEqual(bigRecord(v, base));
    // Version 1 is out of history but stays on disk: it is what the kept versions patch.
    expect(await store.get(1)).toBeUndefined();
    await store.close();
    expect(versionFiles(dir)[0]).toBe('0000000001.json');

    const { logger, lines } = capturingLogger();
    const again = await createFileStore({ dir, retain: 5, logger });
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(await again.current()).toEqual(bigRecord(8, base));
    for (let v = 4; v <= 8; v++) expect(await again.get(v)).toEqual(bigRecord(v, base));
    // A document read back from disk (no shared objects) is still stored as a patch.
    const next = structuredClone((await again.current())!);
    (next.document.services as unknown[])[3] = service(3, 99);
    await again.commit({ ...next, version: 9, description: 'version 9' });
    expect(size(dir, 9)).toBeLessThan(size(dir, 1) / 50);
    await again.close();
  });

  it('a document that changed much starts a new checkpoint; the old one goes once no kept version needs it', async () => {
    const dir = tempStoreDir();
    const base = Array.from({ length: SERVICES }, (_, i) => service(i));
    const store = await createFileStore({ dir, retain: 2 });
    await store.commit(bigRecord(1, base));
    await store.commit(bigRecord(2, base));
    expect(size(dir, 2)).toBeLessThan(size(dir, 1) / 50);
    const other = Array.from({ length: SERVICES }, (_, i) => service(i + SERVICES));
    await store.commit(bigRecord(3, other));
    await store.commit(bigRecord(4, other));
    expect(size(dir, 4)).toBeLessThan(size(dir, 3) / 50);
    expect(await store.get(4)).toEqual(bigRecord(4, other));
    await store.close();
    expect(versionFiles(dir)).toEqual(['0000000003.json', '0000000004.json']);
  });

  it('a format 2 version newer than CURRENT is committed (CURRENT is replaced after it, without waiting for the disk)', async () => {
    const dir = tempStoreDir();
    const base = Array.from({ length: 20 }, (_, i) => service(i));
    const store = await createFileStore({ dir });
    for (let v = 1; v <= 3; v++) await store.commit(bigRecord(v, base));
    await store.close();
    const hint = fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8');
    // CURRENT as a crash right after version 3's durable rename leaves it.
    const v2 = JSON.parse(fs.readFileSync(file(dir, 2), 'utf8')) as { sha256: string };
    fs.writeFileSync(path.join(dir, 'CURRENT'), encodeCurrentPointer({ version: 2, sha256: v2.sha256 }));
    const { logger, lines } = capturingLogger();
    const again = await createFileStore({ dir, logger });
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(await again.current()).toEqual(bigRecord(3, base));
    expect(again.highestVersion()).toBe(3);
    await again.commit(bigRecord(4, base));
    await again.close();
    expect(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8')).not.toBe(hint);
  });

  it('a corrupt checkpoint makes its patches corrupt: the store falls back to the newest version it can read whole', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const base = Array.from({ length: 20 }, (_, i) => service(i));
    await store.commit(bigRecord(1, base));
    await store.commit(bigRecord(2, base));
    const other = Array.from({ length: 20 }, (_, i) => service(i + 20));
    await store.commit(bigRecord(3, other)); // a new checkpoint
    await store.commit(bigRecord(4, other));
    await store.close();
    fs.truncateSync(file(dir, 3), 100);
    const { logger, lines } = capturingLogger();
    const again = await createFileStore({ dir, logger });
    const warnings = lines.filter((l) => (l.level as number) >= 40).map((l) => `${String(l.msg)} ${JSON.stringify(l)}`);
    expect(warnings.join('\n')).toMatch(/its base version 3 is missing or corrupt/);
    expect(warnings.join('\n')).toMatch(/falling back/);
    expect(await again.current()).toEqual(bigRecord(2, base));
    // Versions 3 and 4 were acknowledged: their numbers are not used again.
    expect(again.highestVersion()).toBe(4);
    await again.close();
  });

  it('opens a data directory of the earlier format (format 1 files, CURRENT the commit) and continues it', async () => {
    const dir = tempStoreDir();
    fs.mkdirSync(path.join(dir, 'versions'), { recursive: true });
    const base = Array.from({ length: 20 }, (_, i) => service(i));
    for (let v = 1; v <= 3; v++) fs.writeFileSync(file(dir, v), encodeVersionFile(bigRecord(v, base)).text);
    fs.writeFileSync(path.join(dir, 'CURRENT'), encodeCurrentPointer({ version: 2, sha256: encodeVersionFile(bigRecord(2, base)).sha256 }));
    const { logger, lines } = capturingLogger();
    const store = await createFileStore({ dir, logger });
    // Format 1 version 3 was never named by CURRENT: not committed.
    expect(lines.map((l) => String(l.msg)).join('\n')).toMatch(/newer than CURRENT/);
    expect(await store.current()).toEqual(bigRecord(2, base));
    expect(await store.get(1)).toEqual(bigRecord(1, base));
    await store.commit(bigRecord(3, base));
    await store.commit(bigRecord(4, base));
    await store.close();
    // The new versions are patches of the old format's version 2.
    expect(JSON.parse(fs.readFileSync(file(dir, 3), 'utf8')).patch.base.version).toBe(2);
    const again = await createFileStore({ dir });
    expect(await again.current()).toEqual(bigRecord(4, base));
    expect(await again.get(3)).toEqual(bigRecord(3, base));
    await again.close();
  });
});
