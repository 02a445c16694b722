/**
 * A whole version written in steps (issue 13: a new checkpoint of 10,000 services held the
 * loop ~20–35 ms as one 5 MB JSON string, its UTF-8 and its hash): the pieces, the bytes and the
 * hash are those of the synchronous encoding, and a store that commits a prepared record reads
 * it back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store';
import { encodeVersionFile, encodeVersionFileSteps, versionFileName } from '../../src/store/version-file';
import { frozenJson, frozenJsonPiecesSteps } from '../../src/util/frozen-json';
import { runSteps } from '../../src/util/steps';
import { record, tempStoreDir } from './helpers';
import type { VersionRecord } from '../../src/store/types';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A record of `n` services with unusual text (non-ASCII, U+2028, an undefined field, an empty list). */
function bigRecord(version: number, n: number): VersionRecord {
  const document = deepFreeze({
    listeners: [{ name: 'http', port: 10000 }],
    services: Array.from({ length: n }, (_, i) => ({ name: `svc-${i}`, domains: [`é${i}.☃`], note: i % 7 === 0 ? '\u2028' : undefined, routes: [{ backends: [{ name: `b${i}` }] }] })),
    backends: Array.from({ length: n }, (_, i) => ({ name: `b${i}`, endpoints: [`10.0.${i >> 8}.${i & 255}:80`] })),
    extProc: {},
    empty: [],
  });
  return { ...record(version), document };
}

describe('a whole version file in steps', () => {
  it('pieces join to frozenJson, whatever their size', () => {
    for (const size of [1, 50, 4096, 1 << 20]) {
      // A fresh document each time: the JSON of a frozen document is remembered once written whole.
      const r = bigRecord(3, 200);
      const pieces: string[] = [];
      runSteps(frozenJsonPiecesSteps(r, (p) => pieces.push(p), size));
      expect(pieces.join(''), `pieces of ${size}`).toBe(frozenJson(r));
      if (size === 50) expect(pieces.length).toBeGreaterThan(100);
    }
  });

  it('the bytes, length and hash of encodeVersionFile, in many steps', () => {
    const r = bigRecord(4, 2000);
    const steps = encodeVersionFileSteps(r, 2);
    let n = 0;
    let out = steps.next();
    for (; !out.done; out = steps.next()) n++;
    const whole = encodeVersionFile(r, 2);
    expect(out.value.bytes.equals(Buffer.from(whole.text, 'utf8'))).toBe(true);
    expect(out.value.length).toBe(whole.text.length);
    expect(out.value.sha256).toBe(whole.sha256);
    expect(out.value.record).toEqual(whole.record);
    // A step every 16 list entries, not one for the whole file.
    expect(n).toBeGreaterThanOrEqual(4000 / 16);
  });

  it('a store commits the prepared file and reads it back after a restart', async () => {
    const dir = tempStoreDir();
    const store = await createFileStore({ dir });
    const r = bigRecord(1, 300);
    runSteps(store.prepareCommit!(r.document, 1, r));
    await store.commit(r);
    await store.close();
    expect(fs.readFileSync(path.join(dir, 'versions', versionFileName(1)), 'utf8')).toBe(encodeVersionFile(r, 2).text);
    const reopened = await createFileStore({ dir });
    expect(await reopened.current()).toEqual(JSON.parse(JSON.stringify(r)));
    await reopened.close();
  });
});
