/**
 * RE2 program sizes as Envoy computes them. Each figure below was read from Envoy 1.40's own
 * error ("regex '…' RE2 program size of N > max program size of 0") with
 * `re2.max_program_size.error_level: 0` and `envoy --mode validate`; 800 random patterns were
 * compared the same way with no difference (bench/RESULTS.md, "RE2 program size").
 * test/envoy-real/regex-limits.test.ts re-measures a sample on the real Envoy.
 */
import { describe, expect, it } from 'vitest';
import { checkEnvoyRegex, envoyProgramSize, MAX_REGEX_BYTES } from '../../src/regex';

const MEASURED_ON_ENVOY_1_40: Record<string, number> = {
  a: 5,
  aa: 6,
  '^a': 4,
  'a$': 5,
  '^a$': 4,
  'a{10}': 14,
  '(a+)+': 9,
  '.': 6,
  '(?s).': 5,
  '[a-z]+': 6,
  'abc|abd': 7,
  '\\pL': 11,
  '\\p{Greek}': 1,
  '[^a]': 6,
  '(?i)abc': 7,
  '(?i)k': 5,
  '\\d+': 6,
  '\\w+': 8,
  '\\s': 7,
  '\\b': 5,
  '[[:alpha:]]+': 6,
  '/api/v[0-9]+/users/[^/]+': 22,
  '^/api/(users|orders|items)/[0-9]+$': 25,
  '(a|b)*c': 8,
  'é': 6,
  '[é-ü]': 5,
  'a{2,5}': 12,
  '(?:a{3}){3}': 13,
  '(?U)a*': 5,
  '\\C': 5,
  'x*y*z*': 9,
  '^$': 2,
  '(?m)^a$': 7,
  'a|b|c|d|e|f': 5,
  'foo|foobar|foobaz': 12,
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}': 29,
  '\\Qa.b\\E': 7,
  $$: 5,
  'x(?:$|y)$': 7,
  '\\b$$': 6,
  '(?m)^^': 6,
  // The regexes of test/golden and the docs.
  '/v[0-9]+/.*': 11,
  '^[a-z]+$': 4,
  '^v[0-9]+$': 6,
  '(?i)/API/.*': 11,
  '(?P<major>\\d+)\\..*': 11,
  '(?<name>x)y': 8,
  '^(?:(a+)+)$': 7,
  '[^\\x00-\\x7f]': 5,
  '(?i)é': 6,
  '\\377': 5,
  '[[:^alpha:]]': 7,
  '\\PN': 9,
  'a{1000}': 1004,
  '(?:a{10}){10}': 104,
  '^abc$': 4,
};

describe('RE2 program size (Envoy 1.40, Latin-1)', () => {
  for (const [pattern, size] of Object.entries(MEASURED_ON_ENVOY_1_40)) {
    it(`${JSON.stringify(pattern)} → ${size}`, () => expect(envoyProgramSize(pattern)).toBe(size));
  }
});

describe('checkEnvoyRegex: what Envoy would refuse, refused here', () => {
  it('the limit is Envoy default error level, 100: a{96} (100) passes, a{97} (101) does not', () => {
    expect(checkEnvoyRegex('a{96}')).toBeUndefined();
    expect(checkEnvoyRegex('a{97}')).toMatch(/RE2 program of size 101, over Envoy's limit of 100 \(re2\.max_program_size\.error_level\)/);
    expect(checkEnvoyRegex('a{97}', 101)).toBeUndefined();
  });

  it('a{1001} and \\Z are RE2 errors (JS RegExp took both)', () => {
    expect(checkEnvoyRegex('a{1001}')).toBe('invalid regex (RE2): invalid repetition size: {1001}');
    expect(checkEnvoyRegex('\\Z')).toBe('invalid regex (RE2): invalid escape sequence: \\Z');
    // Nested counts multiply: 10 × 10 × 11 copies of a is over RE2's 1000.
    expect(checkEnvoyRegex('((a{10}){10}){11}')).toMatch(/invalid repetition size/);
  });

  it('an escape above \\xFF is an error in the Latin-1 mode Envoy compiles in', () => {
    // RE2 quotes the escape up to where it gave up, as Envoy's error does ("\\x{10F" for \\x{10FFFF}).
    expect(checkEnvoyRegex('\\x{100}')).toBe('invalid regex (RE2, as Envoy compiles it: Latin-1): invalid escape sequence: \\x{100');
    expect(checkEnvoyRegex('\\x{ff}')).toBeUndefined();
  });

  it('RE2 syntax newer than re2-wasm\'s RE2 is judged as Envoy judges it: (?<name>…)', () => {
    expect(checkEnvoyRegex('(?<major>\\d+)\\.(?P<minor>\\d+)')).toBeUndefined();
    expect(checkEnvoyRegex('(?<=a)b')).toMatch(/no lookahead or lookbehind/);
    expect(checkEnvoyRegex('[(?<x>]')).toBeUndefined();
  });

  it('a 100 KB alternation is refused (by length), a 4 KB one by program size', () => {
    // Words without common prefixes: RE2 factors shared prefixes away (400 "/service-N" cost 86).
    let seed = 7;
    const word = () => Array.from({ length: 8 }, () => String.fromCharCode(97 + ((seed = (seed * 48271) % 2147483647) % 26))).join('');
    const words = (n: number) => Array.from({ length: n }, word).join('|');
    const big = `^(?:${words(12_000)})$`;
    expect(big.length).toBeGreaterThan(100_000);
    expect(checkEnvoyRegex(big)).toBe(`is ${big.length} bytes long; Tether takes regexes of at most ${MAX_REGEX_BYTES} bytes`);
    const medium = `^(?:${words(450)})$`;
    expect(medium.length).toBeLessThan(MAX_REGEX_BYTES);
    expect(checkEnvoyRegex(medium)).toMatch(/RE2 program of size \d{4}, over Envoy's limit of 100/);
    expect(envoyProgramSize(`^(?:${Array.from({ length: 400 }, (_, i) => `/service-${i}`).join('|')})$`)).toBe(86);
  });

  it('a size check of a long pattern stays fast', () => {
    const started = performance.now();
    checkEnvoyRegex(`(?:${'[a-z]{1000}'.repeat(1)})(?:${'x|'.repeat(2000)}y)`);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
