import { createHash } from 'node:crypto';
import { frozenJson, frozenJsonPiecesSteps } from '../util/frozen-json';
import type { Steps } from '../util/steps';
import type { VersionRecord } from './types';
import { applyPatch, type PatchBody } from './version-patch';

/**
 * On-disk encoding of the file store. Every file carries a checksum so that a truncated or
 * bit-flipped file is detected and skipped, never loaded:
 *
 * - `versions/<10-digit version>.json`, format 2 (written since issue 14): the file is the
 *   commit. It is written durably (temp file, fsync, rename, directory fsync: one durable
 *   write per version; from the second version on, a small one is renamed first and then
 *   fsynced with the directory, so a power loss before that may tear it: its checksum fails
 *   and recovery falls back to the version before) and a version file of format 2 that exists
 *   is committed, whatever CURRENT says. Either `{"format": 2, "record": {...}, "sha256"}` (a checkpoint: the whole
 *   record) or `{"format": 2, "patch": {...the record without its document, "base": {"version",
 *   "sha256"}, "keys": [...]}, "sha256"}`, the document as a patch against a checkpoint
 *   (version-patch.ts); sha256 is over `JSON.stringify` of `record` or `patch`.
 * - Format 1 (written before, and by migrate.ts and the etcd store's keys): the same as a
 *   format 2 checkpoint, but committed only once CURRENT names it or a later version.
 *   `{"format": 1, "record": {...}, "sha256": "<hex>"}`,
 *   compact JSON (a 10,000-service config is half the bytes to write and fsync per version
 *   that pretty-printed JSON is); sha256 is over `JSON.stringify(record)`. The record's JSON
 *   is composed from the remembered JSON of the unchanged, frozen parts of the document
 *   (util/frozen-json.ts): a one-route edit of a big config costs little to store. Files
 *   written pretty-printed by earlier versions read the same. JSON.parse followed by
 *   JSON.stringify reproduces that string exactly, so it can be checked after parsing.
 * - `CURRENT`: `{"format": 1, "version": N, "sha256": "<hex>"}`, the sha256 of version N's
 *   record. Binding the pointer to the content means a flipped digit in CURRENT cannot
 *   silently select (or orphan) a different intact version. Since format 2 it is a hint,
 *   replaced after each commit without waiting for the disk: it says that version N existed
 *   (a deleted newest file is noticed, its number never reused) and that format 1 files
 *   above N were never committed.
 */
export const FORMAT = 1;
/** Self-committing version files (checkpoints and patches). */
export const FORMAT_SELF_COMMITTED = 2;
export const CURRENT_FILE = 'CURRENT';
export const VERSIONS_DIR = 'versions';

const VERSION_FILE_RE = /^(\d+)\.json$/;

export function versionFileName(version: number): string {
  return `${String(version).padStart(10, '0')}.json`;
}

/** The version a file name holds, or undefined for anything that is not a version file. */
export function versionOfFileName(name: string): number | undefined {
  const m = VERSION_FILE_RE.exec(name);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface EncodedVersion {
  text: string;
  sha256: string;
  /** The record as it will read back from disk (undefined fields dropped, fresh objects). */
  record: VersionRecord;
}

export function encodeVersionFile(record: VersionRecord, format: 1 | 2 = FORMAT): EncodedVersion {
  const recordJson = frozenJson(record);
  const sha256 = sha256Hex(recordJson);
  return { text: `{"format":${format},"record":${recordJson},"sha256":${JSON.stringify(sha256)}}\n`, sha256, record: asStored(record, recordJson) };
}

/** A version file as the bytes to write (encodeVersionFileSteps): `length` is its text's. */
export interface EncodedVersionBytes {
  bytes: Buffer;
  length: number;
  sha256: string;
  record: VersionRecord;
}

/**
 * encodeVersionFile of a record whose document is frozen, as steps: the record's JSON written,
 * encoded to UTF-8 and hashed a piece at a time. The same bytes as encodeVersionFile's text.
 */
export function* encodeVersionFileSteps(record: VersionRecord, format: 1 | 2 = FORMAT): Steps<EncodedVersionBytes> {
  if (!Object.isFrozen(record.document)) throw new TypeError('encodeVersionFileSteps: the document must be frozen');
  const hash = createHash('sha256');
  const head = `{"format":${format},"record":`;
  const buffers = [Buffer.from(head, 'utf8')];
  let length = head.length;
  yield* frozenJsonPiecesSteps(record, (piece) => {
    hash.update(piece, 'utf8');
    buffers.push(Buffer.from(piece, 'utf8'));
    length += piece.length;
  });
  const sha256 = hash.digest('hex');
  const tail = `,"sha256":${JSON.stringify(sha256)}}\n`;
  buffers.push(Buffer.from(tail, 'utf8'));
  yield;
  return { bytes: Buffer.concat(buffers), length: length + tail.length, sha256, record: asStored(record, undefined) };
}

/** A format 2 file holding `record` as `patch` against a checkpoint. */
export function encodePatchFile(record: VersionRecord, patch: PatchBody): EncodedVersion {
  const { document: _document, ...meta } = record;
  const patchJson = JSON.stringify({ ...meta, base: patch.base, keys: patch.keys });
  const sha256 = sha256Hex(patchJson);
  return {
    text: `{"format":${FORMAT_SELF_COMMITTED},"patch":${patchJson},"sha256":${JSON.stringify(sha256)}}\n`,
    sha256,
    record: asStored(record, undefined),
  };
}

/** A frozen document is kept as it is (it cannot change); anything else as it reads back. */
function asStored(record: VersionRecord, json: string | undefined): VersionRecord {
  if (Object.isFrozen(record.document)) return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as VersionRecord;
  return JSON.parse(json ?? JSON.stringify(record)) as VersionRecord;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses and verifies a version file holding a whole record; `expectedVersion` is the version its name says. */
export function decodeVersionFile(text: string, expectedVersion: number): Decoded<{ record: VersionRecord; sha256: string }> {
  const decoded = decodeStoredVersion(text, expectedVersion);
  if (!decoded.ok) return decoded;
  if (decoded.value.kind === 'patch') return { ok: false, reason: 'holds a patch, not a whole record' };
  return { ok: true, value: { record: decoded.value.record, sha256: decoded.value.sha256 } };
}

/** A version file as stored: a whole record (format 1 or 2), or a patch still to be applied to its base. */
export type StoredVersion =
  | { kind: 'full'; format: 1 | 2; record: VersionRecord; sha256: string }
  | { kind: 'patch'; meta: Omit<VersionRecord, 'document'>; base: PatchBody['base']; keys: unknown; sha256: string };

export function decodeStoredVersion(text: string, expectedVersion: number): Decoded<StoredVersion> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  if (!isObject(envelope)) return { ok: false, reason: 'not a JSON object' };
  const format = envelope.format;
  if (format !== FORMAT && format !== FORMAT_SELF_COMMITTED) return { ok: false, reason: `unknown format ${JSON.stringify(format)}` };
  if (typeof envelope.sha256 !== 'string') return { ok: false, reason: 'no sha256' };
  const patch = format === FORMAT_SELF_COMMITTED && 'patch' in envelope;
  const body = patch ? envelope.patch : envelope.record;
  const actual = sha256Hex(JSON.stringify(body) ?? '');
  if (actual !== envelope.sha256) return { ok: false, reason: 'sha256 mismatch (corrupt content)' };
  if (!patch) {
    const problem = recordProblem(body);
    if (problem) return { ok: false, reason: problem };
    const record = body as unknown as VersionRecord;
    if (record.version !== expectedVersion) return { ok: false, reason: `holds version ${record.version}, not ${expectedVersion}` };
    return { ok: true, value: { kind: 'full', format, record, sha256: actual } };
  }
  if (!isObject(body)) return { ok: false, reason: 'patch is not an object' };
  const { base, keys, ...meta } = body;
  const problem = recordProblem({ ...meta, document: {} });
  if (problem) return { ok: false, reason: problem };
  if (meta.version !== expectedVersion) return { ok: false, reason: `holds version ${String(meta.version)}, not ${expectedVersion}` };
  if (!isObject(base) || !Number.isSafeInteger(base.version) || (base.version as number) >= expectedVersion || typeof base.sha256 !== 'string') {
    return { ok: false, reason: 'patch.base must name an earlier version and its sha256' };
  }
  return {
    ok: true,
    value: { kind: 'patch', meta: meta as unknown as Omit<VersionRecord, 'document'>, base: { version: base.version as number, sha256: base.sha256 }, keys, sha256: actual },
  };
}

/** The record a patch describes over its base's document, or why not. */
export function resolvePatch(stored: Extract<StoredVersion, { kind: 'patch' }>, base: { document: Record<string, unknown>; sha256: string } | undefined): Decoded<VersionRecord> {
  if (!base || base.sha256 !== stored.base.sha256) return { ok: false, reason: `its base version ${stored.base.version} is missing or corrupt` };
  const document = applyPatch(base.document, stored.keys);
  if (!document) return { ok: false, reason: 'malformed patch' };
  const { version, ...rest } = stored.meta;
  return { ok: true, value: { version, document, ...rest } as VersionRecord };
}

/** Why `value` is not a storable VersionRecord, or undefined when it is. */
export function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'record is not an object';
  if (!Number.isSafeInteger(value.version) || (value.version as number) < 1) return 'record.version must be an integer >= 1';
  if (!isObject(value.document)) return 'record.document must be an object';
  for (const key of ['contentHash', 'createdAt', 'source', 'description'] as const) {
    if (typeof value[key] !== 'string') return `record.${key} must be a string`;
  }
  if (value.fileHash !== undefined && typeof value.fileHash !== 'string') return 'record.fileHash must be a string';
  if (value.author !== undefined && typeof value.author !== 'string') return 'record.author must be a string';
  if (value.restores !== undefined && (!Number.isSafeInteger(value.restores) || (value.restores as number) < 1 || (value.restores as number) >= (value.version as number))) {
    return 'record.restores must be an earlier version';
  }
  return undefined;
}

export interface CurrentPointer {
  version: number;
  sha256: string;
}

export function encodeCurrentPointer(pointer: CurrentPointer): string {
  return `${JSON.stringify({ format: FORMAT, version: pointer.version, sha256: pointer.sha256 })}\n`;
}

export function decodeCurrentPointer(text: string): Decoded<CurrentPointer> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(value) || value.format !== FORMAT) return { ok: false, reason: 'not a format 1 pointer' };
  if (!Number.isSafeInteger(value.version) || (value.version as number) < 1 || typeof value.sha256 !== 'string') {
    return { ok: false, reason: 'no valid version and sha256' };
  }
  return { ok: true, value: { version: value.version as number, sha256: value.sha256 } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
