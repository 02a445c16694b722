import { createHash } from 'node:crypto';
import { frozenJson } from '../util/frozen-json';
import type { VersionRecord } from './types';

/**
 * On-disk encoding of the file store. Every file carries a checksum so that a truncated or
 * bit-flipped file is detected and skipped, never loaded:
 *
 * - `versions/<10-digit version>.json`: `{"format": 1, "record": {...}, "sha256": "<hex>"}`,
 *   compact JSON (a 10,000-service config is half the bytes to write and fsync per version
 *   that pretty-printed JSON is); sha256 is over `JSON.stringify(record)`. The record's JSON
 *   is composed from the remembered JSON of the unchanged, frozen parts of the document
 *   (util/frozen-json.ts): a one-route edit of a big config costs little to store. Files
 *   written pretty-printed by earlier versions read the same. JSON.parse followed by
 *   JSON.stringify reproduces that string exactly, so it can be checked after parsing.
 * - `CURRENT`: `{"format": 1, "version": N, "sha256": "<hex>"}`, the sha256 of version N's
 *   record. Binding the pointer to the content means a flipped digit in CURRENT cannot
 *   silently select (or orphan) a different intact version.
 */
export const FORMAT = 1;
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

export function encodeVersionFile(record: VersionRecord): EncodedVersion {
  const recordJson = frozenJson(record);
  const sha256 = sha256Hex(recordJson);
  // A frozen document is kept as it is (it cannot change); anything else as it reads back.
  const stored: VersionRecord = Object.isFrozen(record.document)
    ? (Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as VersionRecord)
    : (JSON.parse(recordJson) as VersionRecord);
  return { text: `{"format":${FORMAT},"record":${recordJson},"sha256":${JSON.stringify(sha256)}}\n`, sha256, record: stored };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses and verifies a version file; `expectedVersion` is the version its name says. */
export function decodeVersionFile(text: string, expectedVersion: number): Decoded<{ record: VersionRecord; sha256: string }> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  if (!isObject(envelope)) return { ok: false, reason: 'not a JSON object' };
  if (envelope.format !== FORMAT) return { ok: false, reason: `unknown format ${JSON.stringify(envelope.format)}` };
  if (typeof envelope.sha256 !== 'string') return { ok: false, reason: 'no sha256' };
  const actual = sha256Hex(JSON.stringify(envelope.record) ?? '');
  if (actual !== envelope.sha256) return { ok: false, reason: 'sha256 mismatch (corrupt content)' };
  const problem = recordProblem(envelope.record);
  if (problem) return { ok: false, reason: problem };
  const record = envelope.record as unknown as VersionRecord;
  if (record.version !== expectedVersion) return { ok: false, reason: `holds version ${record.version}, not ${expectedVersion}` };
  return { ok: true, value: { record, sha256: actual } };
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
