/**
 * The publisher's side of a restart's head start (servePersisted, server/served-snapshot.ts):
 * the persisted snapshot is served at once; the version's first prepare compares its fresh
 * build with it byte for byte; publish() then leaves the fresh build in the cache (equal: no
 * push, the file's bytes no longer held; different: pushed, and logged at error).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, type Snapshot } from '../../src/cache/snapshot';
import { decodeSnapshotFile, encodeSnapshotFile, sameSnapshotBytes } from '../../src/cache/snapshot-file';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigDocument, validateConfig } from '../../src/config';
import { createPublisher } from '../../src/control/publisher';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import type { TetherConfig } from '../../src/model/types';
import { translateWithWarnings } from '../../src/translate';
import { capturingLogger } from '../store/helpers';

function golden(name: string): TetherConfig {
  const parsed = parseConfigDocument(fs.readFileSync(path.join(__dirname, '..', 'golden', name, 'input.yaml'), 'utf8'), name);
  if (!parsed.ok) throw new Error(name);
  const v = validateConfig(parsed.document);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.config;
}

/** The Envoy snapshot a Tether built for `config`, as a restart reads it back from its file. */
async function persisted(config: TetherConfig, version: number): Promise<Snapshot> {
  const publisher = createPublisher({ cache: new SnapshotCache(), logger: capturingLogger().logger });
  const built = (await publisher.prepare(config, version)).snapshots.get('envoy')!;
  publisher.close();
  const decoded = decodeSnapshotFile(encodeSnapshotFile(built, { any: 'key' }));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.snapshot;
}

async function restartWith(early: Snapshot, config: TetherConfig, version: number) {
  const cache = new SnapshotCache();
  const told: Snapshot[] = [];
  cache.watch('envoy', (s) => told.push(s));
  const { logger, lines } = capturingLogger();
  const publisher = createPublisher({ cache, logger, deferKinds: ['grpc'] });
  publisher.servePersisted!(early);
  expect(cache.get('envoy')).toBe(early);
  const prepared = await publisher.prepare(config, version);
  prepared.publish();
  await publisher.settled();
  publisher.close();
  return { cache, told, lines, fresh: prepared.snapshots.get('envoy')! };
}

describe('publisher: a persisted snapshot served ahead of its version', () => {
  it('equal bytes: nothing is pushed again, and the cache holds the fresh build instead of the file', async () => {
    const config = golden('weighted-canary');
    const early = await persisted(config, 4);
    const { cache, told, lines, fresh } = await restartWith(early, config, 4);
    expect(sameSnapshotBytes(early, fresh)).toBe(true);
    expect(told).toEqual([early]);
    expect(cache.get('envoy')).toBe(fresh);
    expect(cache.get('grpc')).toBeDefined();
    expect(lines.some((l) => String(l.msg).includes('equals a fresh build'))).toBe(true);
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('different bytes: the fresh build is pushed and the difference logged at error', async () => {
    const config = golden('weighted-canary');
    const early = await persisted(golden('cookie-affinity'), 4);
    const { cache, told, lines, fresh } = await restartWith(early, config, 4);
    expect(told).toEqual([early, fresh]);
    expect(cache.get('envoy')).toBe(fresh);
    expect(lines.some((l) => l.level === 50 && String(l.msg).includes('differs from a fresh build of version 4'))).toBe(true);
  });

  it('sameSnapshotBytes tells one changed byte', async () => {
    const config = golden('weighted-canary');
    const a = await persisted(config, 1);
    const file = encodeSnapshotFile(a, {});
    const b = decodeSnapshotFile(Buffer.from(file));
    expect(b.ok && sameSnapshotBytes(a, b.snapshot)).toBe(true);
    // Flip a byte of a cluster's Any bytes in place (same hashes and versions: only the bytes tell).
    const flipped = decodeSnapshotFile(Buffer.from(file));
    if (!flipped.ok) throw new Error(flipped.reason);
    const cluster = flipped.snapshot.sets[CLUSTER_TYPE].list[0]!;
    cluster.anyBytes[cluster.anyBytes.length - 1]! ^= 1;
    expect(sameSnapshotBytes(a, flipped.snapshot)).toBe(false);
  });
});

describe('snapshot file', () => {
  it('round-trips a snapshot, and refuses a torn, altered or foreign file', () => {
    const config = golden('weighted-canary');
    const { resources } = translateWithWarnings(config, new Map(), 'envoy');
    const snapshot = buildSnapshot(resources, 'envoy', '7');
    const file = encodeSnapshotFile(snapshot, { version: 7 });
    const decoded = decodeSnapshotFile(file);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.key).toEqual({ version: 7 });
    expect(sameSnapshotBytes(snapshot, decoded.snapshot)).toBe(true);
    expect(decoded.snapshot.kind).toBe('envoy');
    for (const [t, set] of Object.entries(snapshot.sets)) {
      const back = decoded.snapshot.sets[t as keyof typeof snapshot.sets];
      expect([...back.resources.keys()]).toEqual([...set.resources.keys()]);
      expect(back.list.map((r) => [r.name, r.hash, [...r.refs]])).toEqual(set.list.map((r) => [r.name, r.hash, [...r.refs]]));
    }
    expect(decodeSnapshotFile(file.subarray(0, file.length - 1))).toMatchObject({ ok: false, reason: expect.stringMatching(/sha256/) });
    const altered = Buffer.from(file);
    altered[40]! ^= 1;
    expect(decodeSnapshotFile(altered)).toMatchObject({ ok: false, reason: expect.stringMatching(/sha256/) });
    expect(decodeSnapshotFile(Buffer.from('{"format":1}'))).toMatchObject({ ok: false, reason: 'not a snapshot file' });
  });
});
