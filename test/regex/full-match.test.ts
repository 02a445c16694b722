/**
 * explain's regex matching runs on RE2 (re2-wasm): linear time, Envoy's Latin-1 semantics, and
 * grpc-js-xds's own call for gRPC clients.
 */
import { describe, expect, it } from 'vitest';
import { fullMatch } from '../../src/regex';
import { parseLatin1 } from '../../src/regex/re2-parse';
import { toUtf8Pattern } from '../../src/regex/re2-pattern';

describe('fullMatch', () => {
  it('(a+)+ against 40 a and a ! answers at once (JS backtracking doubles per a: minutes)', () => {
    const started = performance.now();
    expect(fullMatch('(a+)+', `${'a'.repeat(40)}!`)).toBe(false);
    expect(fullMatch('(a+)+', 'a'.repeat(40))).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('matches the whole value, as RE2::FullMatch does', () => {
    expect(fullMatch('/v[0-9]+/items', '/v2/items')).toBe(true);
    expect(fullMatch('/v[0-9]+/items', '/v2/items/x')).toBe(false);
    expect(fullMatch('a|b', 'ab')).toBe(false);
    expect(fullMatch('(?i)/API/.*', '/api/x')).toBe(true);
    expect(fullMatch('(?P<v>\\d+)\\..*', '12.3')).toBe(true);
    expect(fullMatch('(?<v>\\d+)\\..*', '12.3')).toBe(true);
    expect(fullMatch('^/a$', '/a')).toBe(true);
  });

  it("Envoy's Latin-1: a byte is a character, and only ASCII letters fold", () => {
    // "é" is two bytes in UTF-8, so . alone does not match it but .. does.
    expect(fullMatch('.', 'é')).toBe(false);
    expect(fullMatch('..', 'é')).toBe(true);
    expect(fullMatch('é', 'é')).toBe(true);
    expect(fullMatch('(?i)é', 'É')).toBe(false);
    expect(fullMatch('(?i)e', 'E')).toBe(true);
    expect(fullMatch('\\xc3\\xa9', 'é')).toBe(true);
    expect(fullMatch('[^a]+', 'héllo')).toBe(true);
  });

  it("gRPC clients: grpc-js-xds's ^…$ around an ungrouped pattern", () => {
    // re2-wasm's RE2(`^a|b$`): a prefix match on a, or a suffix match on b.
    expect(fullMatch('a|b', 'axx', 'grpc')).toBe(true);
    expect(fullMatch('a|b', 'axx', 'envoy')).toBe(false);
    expect(fullMatch('/v[0-9]+/items', '/v2/items', 'grpc')).toBe(true);
  });
});

describe('the UTF-8 spelling of a Latin-1 regex means the same', () => {
  // Random ASCII patterns and inputs: RE2 on the original and on the re-spelled pattern agree.
  it('on 150 random patterns × 20 inputs', () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
    const atoms = ['a', 'b', 'ab', '.', '\\d', '\\w', '[a-c]', '[^a]', '[aA]', '\\b', '^', '$', '(?:)', 'A', 'B'];
    const gen = (d: number): string => {
      const r = rnd();
      if (d > 2 || r < 0.4) return pick(atoms);
      if (r < 0.6) return gen(d + 1) + gen(d + 1);
      if (r < 0.8) return `${pick(['(', '(?:', '(?i:'])}${gen(d + 1)}|${gen(d + 1)})`;
      return `(?:${gen(d + 1)})${pick(['*', '+', '?', '{2}', '{0,2}', '*?'])}`;
    };
    const input = () => Array.from({ length: Math.floor(rnd() * 5) }, () => pick(['a', 'b', 'A', '1', ' ', 'B'])).join('');
    for (let i = 0; i < 150; i++) {
      const pattern = pick(['', '(?i)']) + gen(0);
      const respelled = toUtf8Pattern(parseLatin1(pattern));
      for (let j = 0; j < 20; j++) {
        const value = input();
        const direct = new RegExpLike(pattern);
        expect(fullMatch(`(?:${respelled})`, value), `${pattern} vs ${respelled} on ${JSON.stringify(value)}`).toBe(direct.full(value));
      }
    }
  });
});

/** RE2 on the pattern as written (UTF-8 mode equals Latin-1 mode on ASCII). */
class RegExpLike {
  private static readonly RE2 = (require('re2-wasm') as { RE2: new (p: string, f: string) => { test(s: string): boolean } }).RE2;
  private readonly re: { test(s: string): boolean };
  constructor(pattern: string) {
    this.re = new RegExpLike.RE2(`^(?:${pattern})$`, 'u');
  }
  full(value: string): boolean {
    return this.re.test(value);
  }
}
