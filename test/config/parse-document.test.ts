import { describe, expect, it } from 'vitest';
import { configDocument, parseConfigDocument } from '../../src/config';

describe('parseConfigDocument', () => {
  it('returns the document as written: no defaults, nulls kept, aliases expanded into copies', () => {
    const result = parseConfigDocument(`
base: &ep { address: "10.0.0.1:80" }
backends:
  - name: a
    connectTimeout:
    endpoints: [*ep, *ep]
`);
    expect(result).toEqual({
      ok: true,
      document: {
        base: { address: '10.0.0.1:80' },
        backends: [{ name: 'a', connectTimeout: null, endpoints: [{ address: '10.0.0.1:80' }, { address: '10.0.0.1:80' }] }],
      },
    });
    if (!result.ok) return;
    const eps = (result.document.backends as Array<{ endpoints: object[] }>)[0]!.endpoints;
    expect(eps[0]).not.toBe(eps[1]);
  });

  it('an empty file is {}', () => {
    expect(parseConfigDocument('# nothing\n')).toEqual({ ok: true, document: {} });
  });

  it('syntax errors carry the source name and position', () => {
    const result = parseConfigDocument('services: [\n', 'my.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.message).toMatch(/^my\.yaml:\d+:\d+: /);
  });

  it('a top level that is not an object is an error', () => {
    expect(parseConfigDocument('- a\n- b\n')).toEqual({
      ok: false,
      errors: [{ path: '', message: 'the config must be an object with listeners, services and backends' }],
    });
  });
});

describe('configDocument', () => {
  it('copies plain data and refuses cycles and functions with their paths', () => {
    const input = { services: [{ name: 'a' }] };
    const result = configDocument(input);
    expect(result).toEqual({ ok: true, document: input });
    if (result.ok) expect(result.document.services).not.toBe(input.services);

    const cyclic: Record<string, unknown> = { backends: [] };
    (cyclic.backends as unknown[]).push({ name: 'b', self: cyclic });
    expect(configDocument(cyclic)).toEqual({ ok: false, errors: [{ path: 'backends[0].self', message: 'refers to itself (recursive alias)' }] });
    expect(configDocument({ x: () => 1 })).toEqual({ ok: false, errors: [{ path: 'x', message: 'must be plain data, not a function' }] });
  });
});

describe('configDocument and shared, already-checked parts', () => {
  const deepFreeze = <T>(v: T): T => {
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const x of Object.values(v)) deepFreeze(x);
    }
    return v;
  };

  it('reuses a frozen subtree it produced before, and copies what is new', () => {
    const first = configDocument({ services: [{ name: 'a' }, { name: 'b' }] });
    if (!first.ok) throw new Error('expected ok');
    const kept = deepFreeze(first.document);
    const services = kept.services as object[];
    const edited = { ...kept, services: [services[0], { name: 'b2' }] };
    const second = configDocument(edited);
    if (!second.ok) throw new Error('expected ok');
    const out = second.document.services as object[];
    expect(out[0]).toBe(services[0]);
    expect(out[1]).toEqual({ name: 'b2' });
    expect(out[1]).not.toBe(edited.services[1]);
  });

  it('still checks frozen objects it did not produce', () => {
    const foreign = Object.freeze({ name: 'a', hook: () => 1 });
    const result = configDocument({ services: [foreign] });
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual(['services[0].hook']);
  });
});
