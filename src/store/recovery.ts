import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../log';
import { fsyncDir, isErrno, removeTempFiles, writeFileDurably } from './atomic-file';
import type { VersionMeta, VersionRecord } from './types';
import {
  CURRENT_FILE,
  decodeCurrentPointer,
  decodeStoredVersion,
  encodeCurrentPointer,
  resolvePatch,
  versionFileName,
  versionOfFileName,
  VERSIONS_DIR,
  type CurrentPointer,
  type Decoded,
  type StoredVersion,
} from './version-file';

export interface IndexEntry {
  meta: VersionMeta;
  /** Of the record JSON; get() checks the file still holds what was indexed. */
  sha256: string;
  /** Set when the version is stored as a patch: the checkpoint it applies to. */
  base?: number;
}

/** A version stored whole, that later versions are stored as patches against. */
export interface StoredCheckpoint {
  version: number;
  sha256: string;
  document: Record<string, unknown>;
  /** Length of its record's JSON. */
  bytes: number;
}

export interface Recovered {
  /** Oldest first, at most `retain`, the last one current. */
  entries: IndexEntry[];
  current: VersionRecord | undefined;
  /**
   * The highest version number this directory shows any trace of (intact or corrupt version
   * files, CURRENT): the next commit must be above it, so no number is ever reused.
   */
  highestSeen: number;
  /** Set when the directory had a history and none of it is intact: why, for the operator. */
  lost?: string;
  /** The checkpoint of the current version (itself when stored whole). */
  checkpoint?: StoredCheckpoint;
  /** Versions older than the kept history whose files stay as the checkpoints of kept ones. */
  baseOnly: number[];
}

interface Intact {
  record: VersionRecord;
  sha256: string;
  /** Whether the file commits itself (format 2) or needs CURRENT to name it (format 1). */
  selfCommitted: boolean;
  base?: number;
  bytes?: number;
}

/**
 * Brings a store directory back to a consistent state after any crash, before it is used:
 *
 * 1. temp files are torn writes: deleted;
 * 2. every version file is verified; a corrupt one is renamed to `<name>.corrupt` (kept for
 *    inspection, never read again);
 * 3. CURRENT wins when it names an intact version with the same checksum; otherwise (missing,
 *    garbage, names a missing or corrupt version) the newest intact version is current, with a
 *    warning, and CURRENT is rewritten. Nothing intact in a directory that had a history
 *    (CURRENT or corrupt version files are there) is `lost`: CURRENT is left as it is, so
 *    every later start sees the loss too, and the caller decides (file-store.ts refuses);
 * 4. version files newer than current are commits that never resolved: deleted;
 * 5. history beyond `retain` is deleted (a crash can interrupt the pruning of a commit),
 *    except the checkpoints that kept versions are patches against.
 *
 * A format 2 file is committed by being there (version-file.ts): CURRENT may lag behind it
 * (it is replaced without waiting for the disk), so the newest intact format 2 version above
 * the one CURRENT names is current. A patch whose checkpoint is missing or corrupt is corrupt.
 */
export async function recoverStore(dir: string, retain: number, log: Logger): Promise<Recovered> {
  const versionsDir = path.join(dir, VERSIONS_DIR);
  const torn = [...(await removeTempFiles(dir)), ...(await removeTempFiles(versionsDir)).map((n) => `${VERSIONS_DIR}/${n}`)];
  if (torn.length > 0) log.warn({ files: torn }, 'config store: deleted temp files left by an interrupted write');

  const intact = new Map<number, Intact>();
  let highestCorrupt = 0;
  let corrupt = 0;
  const markCorrupt = async (name: string, version: number, reason: string) => {
    log.warn({ file: `${VERSIONS_DIR}/${name}`, reason }, 'config store: skipping a corrupt version file (renamed to .corrupt)');
    await fs.rename(path.join(versionsDir, name), path.join(versionsDir, `${name}${CORRUPT_SUFFIX}`));
    corrupt++;
    highestCorrupt = Math.max(highestCorrupt, version);
  };
  const patches: Array<{ name: string; version: number; stored: Extract<StoredVersion, { kind: 'patch' }> }> = [];
  for (const name of await fs.readdir(versionsDir)) {
    const earlier = name.endsWith(CORRUPT_SUFFIX) ? versionOfFileName(name.slice(0, -CORRUPT_SUFFIX.length)) : undefined;
    if (earlier !== undefined) {
      corrupt++;
      highestCorrupt = Math.max(highestCorrupt, earlier);
    }
    const version = versionOfFileName(name);
    if (version === undefined) continue;
    const text = await fs.readFile(path.join(versionsDir, name), 'utf8');
    const decoded = decodeStoredVersion(text, version);
    if (!decoded.ok) await markCorrupt(name, version, decoded.reason);
    else if (decoded.value.kind === 'patch') patches.push({ name, version, stored: decoded.value });
    else {
      const { record, sha256, format } = decoded.value;
      intact.set(version, { record, sha256, selfCommitted: format === 2, bytes: text.length });
    }
  }
  for (const { name, version, stored } of patches) {
    const base = intact.get(stored.base.version);
    const resolved = resolvePatch(stored, base && base.base === undefined ? { document: base.record.document, sha256: base.sha256 } : undefined);
    if (resolved.ok) intact.set(version, { record: resolved.value, sha256: stored.sha256, selfCommitted: true, base: stored.base.version });
    else await markCorrupt(name, version, resolved.reason);
  }

  const pointer = await readCurrentPointer(dir);
  const newest = Math.max(0, ...intact.keys());
  let current: number;
  let lost: string | undefined;
  if (pointer.ok && intact.get(pointer.value.version)?.sha256 === pointer.value.sha256) {
    // CURRENT is replaced after the version file: self-committed versions may be newer.
    current = Math.max(pointer.value.version, ...[...intact].filter(([, i]) => i.selfCommitted).map(([v]) => v));
  } else {
    current = newest;
    const hadHistory = !(!pointer.ok && pointer.reason === 'missing') || corrupt > 0;
    const why = pointer.ok ? `names version ${pointer.value.version}, which is missing or corrupt` : pointer.reason;
    if (current > 0) {
      log.warn({ reason: `CURRENT ${why}`, fallback: current }, 'config store: falling back to the newest intact version');
      await writeFileDurably(dir, CURRENT_FILE, encodeCurrentPointer({ version: current, sha256: intact.get(current)!.sha256 }));
    } else if (hadHistory) {
      lost = `CURRENT ${why}; no intact version file is left in ${versionsDir}` + (corrupt > 0 ? ` (${corrupt} corrupt, renamed *${CORRUPT_SUFFIX})` : '');
      log.error({ reason: lost }, 'config store: the history is lost');
    }
  }

  // Every version CURRENT ever named was acknowledged to someone: its number is never used
  // again, even if its file is gone. A corrupt file may have been a self-committed version.
  const highestSeen = Math.max(current, pointer.ok ? pointer.value.version : 0, highestCorrupt);

  const doomed: number[] = [];
  for (const version of intact.keys()) {
    if (version > current) {
      log.warn({ version }, 'config store: discarding a version newer than CURRENT (its commit never completed)');
      doomed.push(version);
    }
  }
  const kept = [...intact.keys()].filter((v) => v <= current).sort((a, b) => a - b);
  const old = kept.splice(0, Math.max(0, kept.length - retain));
  const bases = new Set(kept.map((v) => intact.get(v)!.base).filter((b): b is number => b !== undefined));
  doomed.push(...old.filter((v) => !bases.has(v)));
  // Newest first: a patch goes before its checkpoint.
  for (const version of doomed.sort((a, b) => b - a)) await fs.rm(path.join(versionsDir, versionFileName(version)), { force: true });
  if (doomed.length > 0) await fsyncDir(versionsDir);

  const head = current > 0 ? intact.get(current)! : undefined;
  const checkpointVersion = head?.base ?? current;
  const checkpoint = head ? intact.get(checkpointVersion)! : undefined;
  return {
    entries: kept.map((v) => {
      const { record, sha256, base } = intact.get(v)!;
      return { meta: metaOf(record), sha256, ...(base !== undefined ? { base } : {}) };
    }),
    current: head?.record,
    highestSeen,
    ...(lost ? { lost } : {}),
    ...(checkpoint
      ? { checkpoint: { version: checkpointVersion, sha256: checkpoint.sha256, document: checkpoint.record.document, bytes: checkpoint.bytes ?? 0 } }
      : {}),
    baseOnly: old.filter((v) => bases.has(v)),
  };
}

/** A version file that failed verification is renamed with this suffix and never read again. */
export const CORRUPT_SUFFIX = '.corrupt';

export function metaOf(record: VersionRecord): VersionMeta {
  const meta: Partial<VersionRecord> = { ...record };
  delete meta.document;
  return meta as VersionMeta;
}

async function readCurrentPointer(dir: string): Promise<Decoded<CurrentPointer>> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, CURRENT_FILE), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { ok: false, reason: 'missing' };
    return { ok: false, reason: `unreadable (${(err as Error).message})` };
  }
  const decoded = decodeCurrentPointer(text);
  return decoded.ok ? decoded : { ok: false, reason: `is invalid (${decoded.reason})` };
}
