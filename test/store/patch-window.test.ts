/**
 * A checkpoint maps each new document against the last one it mapped, in the window where
 * their lists differ (store/version-patch.ts, util/list-window.ts). Random edit sequences of
 * frozen documents that share their unchanged entries, as the config manager's do: every
 * patch equals the one a fresh checkpoint computes over the whole document, and applies back
 * to the document; the size budget gives the same verdict.
 */
import { describe, expect, it } from 'vitest';
import { applyPatch, Checkpoint } from '../../src/store/version-patch';
import { runSteps } from '../../src/util/steps';
import { seededRandom } from '../support/seeded-random';

type Doc = Record<string, unknown>;

const entry = (i: number, v = 0) => Object.freeze({ name: `e${i}`, v });

function freezeDoc(doc: Doc): Doc {
  for (const value of Object.values(doc)) Object.freeze(value);
  return Object.freeze(doc);
}

/** One edit of a list: replace, insert, remove, move, append, an equal copy, the same entry twice. */
function edit(list: readonly unknown[], random: () => number, n: number): unknown[] {
  const out = [...list];
  const i = Math.floor(random() * Math.max(1, out.length));
  const r = random();
  if (r < 0.3 && out.length > 0) out[i] = entry(i, n);
  else if (r < 0.45) out.splice(i, 0, entry(1000 + n, n));
  else if (r < 0.6 && out.length > 1) out.splice(i, 1);
  else if (r < 0.7 && out.length > 1) out.splice(Math.floor(random() * out.length), 0, ...out.splice(i, 1));
  else if (r < 0.8) out.push(entry(2000 + n, n));
  else if (r < 0.9 && out.length > 0) out[i] = Object.freeze({ ...(out[i] as Doc) }); // same JSON, another object
  else if (out.length > 0) out.push(out[i]);
  return out;
}

describe('checkpoint patches in the window that changed', () => {
  it.each([1, 2, 3, 4])('random edit sequences (seed %i) give the patch of a fresh checkpoint', (seed) => {
    const random = seededRandom(seed);
    const base = freezeDoc({ listeners: [{ name: 'http' }], services: Array.from({ length: 300 }, (_, i) => entry(i)), backends: Array.from({ length: 40 }, (_, i) => entry(i)) });
    const checkpoint = new Checkpoint(1, 'sha', base, 100_000);
    let doc = base;
    for (let n = 0; n < 120; n++) {
      const key = random() < 0.7 ? 'services' : 'backends';
      doc = freezeDoc({ ...doc, [key]: edit(doc[key] as unknown[], random, n) });
      // A budget the edits cross now and then: both must agree on the verdict too.
      const budget = random() < 0.2 ? 200 : Infinity;
      // Half the time prepared in steps first (FileStore.prepareCommit), as the config manager does.
      const prepared = n % 2 === 1 ? runSteps(checkpoint.diffSteps(doc, budget)) : undefined;
      const mine = checkpoint.diff(doc, budget);
      if (n % 2 === 1) expect(mine, `edit ${n} (prepared)`).toBe(prepared);
      const fresh = new Checkpoint(1, 'sha', base, 100_000).diff(doc, budget);
      expect(mine, `edit ${n}`).toEqual(fresh);
      if (mine) expect(applyPatch(base, mine.keys), `edit ${n}`).toEqual(doc);
    }
  });
});
