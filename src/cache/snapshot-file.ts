/**
 * A snapshot as one file: its Any bytes as they are, so that a restart can serve a version's
 * snapshot without validating, translating and encoding the config again (seconds of CPU at
 * 10,000 services). The file names what it was built from (`key`: the caller's, compared by
 * the caller) and ends with a sha256 of everything before it: a torn or altered file decodes
 * to an error, never to a snapshot.
 *
 * Layout: MAGIC, u32 length of the header JSON, the header JSON (key, snapshot fields, per
 * set its resources' names, hashes, references and byte lengths), every resource's Any bytes
 * in set and list order, sha256 (32 bytes) of all the above.
 */
import { createHash } from 'node:crypto';
import { PUSH_ORDER, SECRET_TYPE, type ResourceTypeUrl } from '../envoy/resource-types';
import { NODE_TARGETS, targetKind, type NodeTarget } from '../model/node-targets';
import type { ResourceSet, Snapshot, SnapshotResource } from './snapshot';

const MAGIC = Buffer.from('tether-snapshot 1\n');
const DIGEST_BYTES = 32;

interface Header {
  key: unknown;
  target: NodeTarget;
  configVersion: string;
  contentVersion: string;
  sets: Array<{ typeUrl: ResourceTypeUrl; version: string; resources: Array<[name: string, hash: string, refs: readonly string[], bytes: number]> }>;
}

export function encodeSnapshotFile(snapshot: Snapshot, key: unknown): Buffer {
  const header: Header = { key, target: snapshot.target, configVersion: snapshot.configVersion, contentVersion: snapshot.contentVersion, sets: [] };
  const chunks: Buffer[] = [];
  for (const typeUrl of PUSH_ORDER) {
    const set = snapshot.sets[typeUrl];
    header.sets.push({ typeUrl, version: set.version, resources: set.list.map((r) => [r.name, r.hash, r.refs, r.anyBytes.length]) });
    for (const r of set.list) chunks.push(r.anyBytes);
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  const body = Buffer.concat([MAGIC, length, json, ...chunks]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export type DecodedSnapshotFile = { ok: true; key: unknown; snapshot: Snapshot } | { ok: false; reason: string };

/**
 * The snapshot a file holds. Its resources' bytes are views into `file` (one allocation for
 * the whole snapshot). Never throws: a file that is not exactly what encodeSnapshotFile wrote
 * is `{ ok: false }` with the reason.
 */
export function decodeSnapshotFile(file: Buffer): DecodedSnapshotFile {
  if (file.length < MAGIC.length + 4 + DIGEST_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, reason: 'not a snapshot file' };
  const body = file.subarray(0, file.length - DIGEST_BYTES);
  if (!createHash('sha256').update(body).digest().equals(file.subarray(file.length - DIGEST_BYTES))) return { ok: false, reason: 'sha256 mismatch (torn or altered file)' };
  try {
    const jsonLength = body.readUInt32BE(MAGIC.length);
    let at = MAGIC.length + 4;
    const header = JSON.parse(body.subarray(at, at + jsonLength).toString('utf8')) as Header;
    at += jsonLength;
    if (!(NODE_TARGETS as readonly string[]).includes(header.target)) return { ok: false, reason: `unknown node target ${JSON.stringify(header.target)}` };
    const sets = {} as Record<ResourceTypeUrl, ResourceSet>;
    for (const s of header.sets) {
      const byName = new Map<string, SnapshotResource>();
      for (const [name, hash, refs, bytes] of s.resources) {
        if (at + bytes > body.length) return { ok: false, reason: 'resource bytes past the end of the file' };
        byName.set(name, Object.freeze({ name, hash, anyBytes: body.subarray(at, at + bytes), refs: Object.freeze([...refs]) }));
        at += bytes;
      }
      sets[s.typeUrl] = Object.freeze({ typeUrl: s.typeUrl, version: s.version, resources: byName, list: Object.freeze([...byName.values()]) });
    }
    if (at !== body.length) return { ok: false, reason: 'bytes left after the last resource' };
    if (PUSH_ORDER.some((t) => !sets[t])) return { ok: false, reason: 'a resource type is missing' };
    const snapshot: Snapshot = Object.freeze({
      kind: targetKind(header.target),
      target: header.target,
      configVersion: header.configVersion,
      contentVersion: header.contentVersion,
      sets: Object.freeze(sets),
    });
    return { ok: true, key: header.key, snapshot };
  } catch (err) {
    return { ok: false, reason: `unreadable header: ${(err as Error).message}` };
  }
}

/**
 * Whether two snapshots serve the same bytes: the same resources, in the same order, with
 * equal Any bytes and references, and the same versions.
 */
export function sameSnapshotBytes(a: Snapshot, b: Snapshot): boolean {
  if (a.target !== b.target || a.configVersion !== b.configVersion || a.contentVersion !== b.contentVersion) return false;
  for (const typeUrl of PUSH_ORDER) {
    const x = a.sets[typeUrl];
    const y = b.sets[typeUrl];
    if (x.version !== y.version || x.list.length !== y.list.length) return false;
    for (let i = 0; i < x.list.length; i++) {
      const r = x.list[i]!;
      const s = y.list[i]!;
      if (r.name !== s.name || r.hash !== s.hash || !r.anyBytes.equals(s.anyBytes) || r.refs.length !== s.refs.length || r.refs.some((ref, j) => ref !== s.refs[j])) return false;
    }
  }
  return true;
}

/** Whether a snapshot carries SDS secrets (listeners' certificates and private keys). */
export function holdsSecrets(snapshot: Snapshot): boolean {
  return snapshot.sets[SECRET_TYPE].list.length > 0;
}
