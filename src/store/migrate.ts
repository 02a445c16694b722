/**
 * Copies a config history between stores: a file store (data dir) into etcd, or etcd back into
 * a data dir (`tether store migrate`). Every kept version is copied with its number, source,
 * description and times; the target must be empty and Tether must not be running on the
 * source's data dir (the file store's lock says so).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log';
import { isErrno, writeFileDurably } from './atomic-file';
import type { EtcdConnectionOptions } from './etcd-connection';
import { createEtcdStore } from './etcd-store';
import { createFileStore } from './file-store';
import type { ConfigStore, VersionRecord } from './types';
import { CURRENT_FILE, encodeCurrentPointer, encodeVersionFile, versionFileName, VERSIONS_DIR } from './version-file';

/** A data dir, or an etcd store. */
export type StoreLocation = { dir: string } | { etcd: EtcdConnectionOptions };

/** Enough to read any history whole. */
const READ_ALL = 1_000_000;

export interface MigrationResult {
  versions: number;
  first: number;
  head: number;
}

export async function migrateHistory(from: StoreLocation, to: StoreLocation, logger: Logger = silentLogger()): Promise<MigrationResult> {
  const records = await readHistory(from, logger);
  if (records.length === 0) throw new Error('the source holds no config history: nothing to migrate');
  if ('dir' in to) await writeFileHistory(to.dir, records, logger);
  else {
    const store = await createEtcdStore({ connection: to.etcd, retain: Math.max(50, records.length), logger });
    try {
      await store.importHistory(records);
    } finally {
      await store.close();
    }
  }
  return { versions: records.length, first: records[0]!.version, head: records[records.length - 1]!.version };
}

/** Every kept version, oldest first, the current one last. */
export async function readHistory(from: StoreLocation, logger: Logger): Promise<VersionRecord[]> {
  let store: ConfigStore;
  if ('dir' in from) {
    await fs.access(from.dir).catch(() => {
      throw new Error(`${from.dir}: no such data dir`);
    });
    store = await createFileStore({ dir: from.dir, retain: READ_ALL, logger });
  } else {
    store = await createEtcdStore({ connection: from.etcd, retain: READ_ALL, logger });
  }
  try {
    const current = await store.current();
    const records: VersionRecord[] = [];
    for (const meta of [...(await store.list())].reverse()) {
      // Versions after the current one (a file store that fell back after damage) are not history.
      if (current && meta.version > current.version) continue;
      const record = await store.get(meta.version);
      if (record) records.push(record);
    }
    return records;
  } finally {
    await store.close();
  }
}

/** Writes a history into a new or empty data dir, in the file store's format, then opens it to check. */
async function writeFileHistory(dir: string, records: readonly VersionRecord[], logger: Logger): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await fs.readdir(dir);
  if (existing.some((name) => name === CURRENT_FILE || name === VERSIONS_DIR)) throw new Error(`${dir} already holds a config history; migrate only into an empty data dir`);
  // Taking the lock (and releasing it) makes sure no Tether runs there meanwhile.
  const lockHolder = await createFileStore({ dir, logger });
  await lockHolder.close();
  const versionsDir = path.join(dir, VERSIONS_DIR);
  await fs.mkdir(versionsDir, { mode: 0o700 }).catch((err: unknown) => {
    if (!isErrno(err, 'EEXIST')) throw err;
  });
  let last: { version: number; sha256: string } | undefined;
  for (const record of records) {
    const encoded = encodeVersionFile(record);
    await writeFileDurably(versionsDir, versionFileName(record.version), encoded.text);
    last = { version: record.version, sha256: encoded.sha256 };
  }
  await writeFileDurably(dir, CURRENT_FILE, encodeCurrentPointer(last!));
  const check = await createFileStore({ dir, retain: Math.max(50, records.length), logger });
  try {
    if ((await check.current())?.version !== last!.version) throw new Error(`${dir}: the migrated history does not read back`);
  } finally {
    await check.close();
  }
}
