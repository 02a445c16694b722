import { describe, expect, it } from 'vitest';
import { withoutNulls } from '../../src/config/plain-data';
import { deepFreeze } from '../../src/control/config-hash';

const valueOf = (r: ReturnType<typeof withoutNulls>) => {
  if ('cycle' in r) throw new Error(`cycle at ${r.cycle}`);
  return r.value;
};

describe('withoutNulls', () => {
  const sample = () => ({ a: 1, b: { c: [1, null, { d: null, e: 'x' }], f: { g: true } }, h: null, i: [] as unknown[], j: { k: [{ l: 2 }] } });
  const expected = { a: 1, b: { c: [1, null, { e: 'x' }], f: { g: true } }, i: [], j: { k: [{ l: 2 }] } };

  it('drops object nulls (list items stay), unfrozen input copied everywhere', () => {
    const input = sample();
    const out = valueOf(withoutNulls(input)) as typeof input;
    expect(out).toEqual(expected);
    expect(out.j).not.toBe(input.j);
    expect(out.b.f).not.toBe(input.b.f);
    expect(input.h).toBeNull(); // the input is untouched
  });

  it('shares frozen parts without nulls, copies only the way down to a null', () => {
    const input = deepFreeze(sample());
    const out = valueOf(withoutNulls(input)) as typeof input;
    expect(out).toEqual(expected);
    expect(out).not.toBe(input);
    expect(out.b).not.toBe(input.b);
    expect(out.b.f).toBe(input.b.f);
    expect(out.j).toBe(input.j);
    expect(out.i).toBe(input.i);
    const clean = deepFreeze({ x: [1, { y: 'z' }], w: {} });
    expect(valueOf(withoutNulls(clean))).toBe(clean);
    // Same key order as the input, whether copied or shared.
    expect(Object.keys(out)).toEqual(Object.keys(expected));
    expect(Object.keys(out.b.c[2] as object)).toEqual(['e']);
  });

  it('reports a cycle by its path', () => {
    const a: Record<string, unknown> = { b: [{}] };
    (a.b as Array<Record<string, unknown>>)[0]!.c = a;
    expect(withoutNulls(a)).toEqual({ cycle: 'b[0].c' });
  });
});
