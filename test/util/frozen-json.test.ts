import { describe, expect, it } from 'vitest';
import { frozenJson, frozenJsonSteps } from '../../src/util/frozen-json';
import { runSteps } from '../../src/util/steps';

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const samples: unknown[] = [
  {},
  [],
  { a: 1, b: 'x\ny', c: [1, { d: null, e: [] }], f: undefined, g: {} },
  { document: { services: [{ name: 's', routes: [{ backends: [{ name: 'b' }] }] }, { name: 't' }], backends: [] }, version: 3, x: -0 },
  [[[[[1, [2, { z: 'q' }]]]]]],
];

describe('frozenJson', () => {
  it('equals JSON.stringify, compact and pretty, frozen or not, at every depth', () => {
    for (const sample of samples) {
      for (const depth of [0, 1, 2, 3, 6]) {
        expect(frozenJson(sample, { depth })).toBe(JSON.stringify(sample));
        expect(frozenJson(sample, { depth, pretty: true })).toBe(JSON.stringify(sample, null, 2));
      }
      const frozen = deepFreeze(structuredClone(sample));
      for (let round = 0; round < 2; round++) {
        expect(frozenJson(frozen)).toBe(JSON.stringify(frozen));
        expect(frozenJson(frozen, { pretty: true, depth: 4 })).toBe(JSON.stringify(frozen, null, 2));
        // A shared frozen part inside a new, unfrozen parent (an edit's structural sharing).
        const parent = { format: 1, record: frozen, list: [frozen, 2] };
        expect(frozenJson(parent, { pretty: true, depth: 4 })).toBe(JSON.stringify(parent, null, 2));
        expect(frozenJson(parent)).toBe(JSON.stringify(parent));
      }
    }
  });
});

describe('frozenJsonSteps', () => {
  it('remembers each entry so that the whole document still equals JSON.stringify', () => {
    const doc = deepFreeze({ services: [{ name: 's', routes: [{ backends: [{ name: 'b', weight: 1 }] }] }, { name: 't' }], backends: [{ name: 'b' }], other: { x: 1 } });
    runSteps(frozenJsonSteps(doc));
    expect(frozenJson(doc)).toBe(JSON.stringify(doc));
    expect(frozenJson({ record: doc, version: 2 }, { depth: 4 })).toBe(JSON.stringify({ record: doc, version: 2 }));
  });
});
