/**
 * What the version history says each change did: targeted edits describe themselves from
 * their request, a whole-config apply by the entries it adds, changes and removes, and a
 * step back (rollback without a version) walks through history like undo.
 */
import { describe, expect, it } from 'vitest';
import { describeDocumentChange, joinDescription } from '../../src/control/change-description';
import { edits } from '../../src/control/mutations';
import { undoStep } from '../../src/control/undo';
import type { VersionMeta } from '../../src/store/types';

const doc = {
  listeners: [{ name: 'http', port: 10000 }],
  services: [{ name: 'shop', routes: [{ name: 'main', backends: [{ name: 'v1' }] }] }],
  backends: [
    { name: 'v1', endpoints: ['10.0.0.1:80'] },
    { name: 'v2', endpoints: ['10.0.0.2:80'] },
  ],
};

describe('descriptions', () => {
  it('every targeted edit', () => {
    const d = (e: ReturnType<(typeof edits)[keyof typeof edits]>) => e.describe!(doc);
    expect(d(edits.setSplit('shop', '', { v1: 90, v2: 10 }))).toBe('split shop/main: v1=90 v2=10');
    expect(d(edits.setSplit('shop', 'main', { v2: 100 }))).toBe('split shop/main: v2=100');
    expect(d(edits.promote('shop', 'v2'))).toBe('promote v2 on shop');
    expect(d(edits.promote('shop', 'v2', 'main'))).toBe('promote v2 on shop/main');
    expect(d(edits.addEndpoint('v1', '10.0.0.9:80'))).toBe('add endpoint 10.0.0.9:80 to v1');
    expect(d(edits.addEndpoint('v1', '10.0.0.9:80', 4))).toBe('add endpoint 10.0.0.9:80 to v1 (weight 4)');
    expect(d(edits.removeEndpoint('v1', '10.0.0.1:80'))).toBe('remove endpoint 10.0.0.1:80 from v1');
    expect(d(edits.drainEndpoint('v1', '10.0.0.1:80'))).toBe('drain endpoint 10.0.0.1:80 of v1');
    expect(d(edits.upsertService({ name: 'shop' }))).toBe('replace service shop');
    expect(d(edits.upsertService({ name: 'cart' }))).toBe('add service cart');
    expect(d(edits.deleteService('shop'))).toBe('delete service shop');
    expect(d(edits.upsertRoute('shop', { name: 'main' }))).toBe('replace route shop/main');
    expect(d(edits.upsertRoute('shop', { name: 'beta' }))).toBe('add route shop/beta');
    expect(d(edits.deleteRoute('shop', 'main'))).toBe('delete route shop/main');
    expect(d(edits.upsertBackend({ name: 'v3' }))).toBe('add backend v3');
    expect(d(edits.upsertBackend({ name: 'v2' }))).toBe('replace backend v2');
    expect(d(edits.deleteBackend('v2'))).toBe('delete backend v2');
  });

  it('a whole config: entries added (+), changed (~) and removed (-), other settings by name', () => {
    const next = structuredClone(doc) as typeof doc & { extProc?: unknown };
    next.services.push({ name: 'cart', routes: [] });
    next.backends[0]!.endpoints.push('10.0.0.3:80');
    next.backends.splice(1, 1);
    expect(describeDocumentChange(doc, next)).toBe('services +cart; backends ~v1 -v2');
    next.extProc = { cluster: 'x' };
    expect(describeDocumentChange(doc, next)).toBe('services +cart; backends ~v1 -v2; extProc changed');
    const many = { ...doc, backends: Array.from({ length: 7 }, (_, i) => ({ name: `b${i}`, endpoints: [] })) };
    expect(describeDocumentChange(doc, many)).toBe('backends +b0 +b1 +b2 +b3 (+5 more)');
    expect(describeDocumentChange(doc, { ...doc, backends: [...doc.backends].reverse() })).toBe('backends reordered');
    expect(describeDocumentChange(doc, structuredClone(doc))).toBe('no entry changed');
  });

  it("the caller's text follows Tether's summary", () => {
    expect(joinDescription('split shop/main: v1=1', 'ramp')).toBe('split shop/main: v1=1 — ramp');
    expect(joinDescription('', 'ramp')).toBe('ramp');
    expect(joinDescription('x', undefined)).toBe('x');
  });
});

describe('rollback without a version (undoStep)', () => {
  const meta = (version: number, restores?: number): VersionMeta => ({
    version,
    contentHash: '',
    createdAt: '',
    source: restores ? 'rollback' : 'apply',
    description: '',
    ...(restores ? { restores } : {}),
  });
  const history = (...m: VersionMeta[]) => [...m].reverse();

  it('steps back from an edit to the version before it', () => {
    expect(undoStep(history(meta(1), meta(2), meta(3)), 3)).toEqual({ base: 3, target: 2 });
  });

  it('a rollback stands for the version it restored, so repeated steps go further back', () => {
    expect(undoStep(history(meta(1), meta(2), meta(3), meta(4, 2)), 4)).toEqual({ base: 2, target: 1 });
    // A rollback of a rollback: v5 restores v4, which restored v2.
    expect(undoStep(history(meta(1), meta(2), meta(3), meta(4, 2), meta(5, 4)), 5)).toEqual({ base: 2, target: 1 });
  });

  it('nothing before the first kept version; a restored version cut by retention is the base', () => {
    expect(undoStep(history(meta(1)), 1)).toEqual({ base: 1 });
    expect(undoStep(history(meta(1), meta(2, 1)), 2)).toEqual({ base: 1 });
    expect(undoStep(history(meta(5), meta(6), meta(7, 3)), 7)).toEqual({ base: 3 });
  });
});
