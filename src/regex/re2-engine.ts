import { parseLatin1, Re2SyntaxError } from './re2-parse';
import { programSize, ProgramTooLarge } from './re2-program';
import { toUtf8Pattern } from './re2-pattern';

/**
 * Route regexes as Envoy sees them. Envoy compiles every safe_regex with RE2 in Latin-1 mode
 * (the pattern's and the text's bytes are the characters) and refuses one whose compiled
 * program is larger than `re2.max_program_size.error_level` (default 100). Two engines answer
 * here: RE2 itself (Google's re2-wasm build, the one @grpc/grpc-js-xds already uses for gRPC
 * clients' regexes) decides whether a pattern compiles and runs explain's matches in linear
 * time; RE2's program size is not exposed by any npm build, so re2-program.ts computes it
 * from a parse that follows RE2's own (checked against Envoy 1.40's figures).
 */

/** Envoy's default `re2.max_program_size.error_level`. */
export const ENVOY_MAX_PROGRAM_SIZE = 100;
/**
 * Tether's own cap on a pattern's length. No pattern this long stays under the program-size
 * limit except by pathological construction, and it bounds the work a regex can cause here.
 */
export const MAX_REGEX_BYTES = 8192;

interface Wrapped {
  ok(): boolean;
  error(): string;
  match(input: string, start: number, groups: boolean): { index: number };
  delete(): void;
}
interface Re2Wasm {
  WrappedRE2: new (pattern: string, ignoreCase: boolean, multiline: boolean, dotAll: boolean) => Wrapped;
}

let wasm: Re2Wasm | undefined;
function re2(): Re2Wasm {
  // Loaded on first use: instantiating the module takes ~0.2 s.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  wasm ??= require('re2-wasm/build/wasm/re2.js') as Re2Wasm;
  return wasm;
}

/** One character per byte: what RE2's Latin-1 mode sees, spelled so its UTF-8 mode sees the same. */
export function latin1Chars(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/**
 * re2-wasm carries RE2 from 2021, which spells named groups only as (?P<name>); RE2 since
 * 2023 (Envoy's) also takes (?<name>). Outside classes and escapes, add the P.
 */
function withPNamedGroups(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (p[i + 1] === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        const stop = end < 0 ? p.length : end + 2;
        out += p.slice(i, stop);
        i = stop - 1;
        continue;
      }
      out += p.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) inClass = c !== ']';
    else if (c === '[') {
      // A ] right after [ or [^ is a literal.
      inClass = true;
      out += c;
      if (p[i + 1] === '^') out += p[++i];
      if (p[i + 1] === ']') out += p[++i];
      continue;
    } else if (c === '(' && p.startsWith('(?<', i) && p[i + 3] !== '=' && p[i + 3] !== '!') {
      out += '(?P<';
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

interface Matcher {
  test(value: string): boolean;
  free(): void;
}

/**
 * Whether `pattern` has a `|` outside every group, class and \Q…\E: such a pattern changes
 * meaning when a client pastes anchors around it without a group (grpc-js-xds's `^${regex}$`).
 */
export function hasTopLevelAlternation(p: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (p[i + 1] === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        if (end < 0) return false;
        i = end + 1;
      } else i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (p[i + 1] === '^') i++;
      if (p[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Compiled matchers for explain, bounded; re2-wasm objects live in wasm memory until freed. */
class MatcherCache {
  private readonly entries = new Map<string, Matcher>();
  constructor(
    private readonly max: number,
    private readonly compile: (pattern: string) => Matcher,
  ) {}

  get(pattern: string): Matcher {
    let m = this.entries.get(pattern);
    if (m) this.entries.delete(pattern);
    else m = this.compile(pattern);
    this.entries.set(pattern, m);
    if (this.entries.size > this.max) {
      const [oldest, old] = this.entries.entries().next().value as [string, Matcher];
      this.entries.delete(oldest);
      old.free();
    }
    return m;
  }
}

const envoyMatchers = new MatcherCache(512, (pattern) => {
  const anchored = `\\A(?:${toUtf8Pattern(parseLatin1(pattern))})\\z`;
  const w = new (re2().WrappedRE2)(anchored, false, false, false);
  if (!w.ok()) {
    const error = w.error();
    w.delete();
    throw new Re2SyntaxError(error);
  }
  return { test: (value) => w.match(latin1Chars(value), 0, false).index >= 0, free: () => w.delete() };
});

interface Re2Class {
  new (pattern: string, flags: string): { test(s: string): boolean; wrapper: Wrapped };
}

// @grpc/grpc-js-xds 1.14.1 (build/src/matcher.js) matches `new RE2(`^${regex}$`, 'u')` from
// re2-wasm: UTF-8, and the pattern is not grouped, so `a|b` means `^a` or `b$` there.
const grpcMatchers = new MatcherCache(512, (pattern) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RE2 } = require('re2-wasm') as { RE2: Re2Class };
  const re = new RE2(`^${pattern}$`, 'u');
  return { test: (value) => re.test(value), free: () => re.wrapper.delete() };
});

/** Validation verdicts by pattern: a config is validated again on every edit. */
const verdicts = new Map<string, string | undefined>();

/**
 * Whether Envoy would accept `pattern` as a safe_regex, else the reason. `maxProgramSize`
 * is Envoy's error level (the default unless the Envoys were started with another).
 */
export function checkEnvoyRegex(pattern: string, maxProgramSize = ENVOY_MAX_PROGRAM_SIZE): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  const bytes = Buffer.byteLength(pattern, 'utf8');
  if (bytes > MAX_REGEX_BYTES) return `is ${bytes} bytes long; Tether takes regexes of at most ${MAX_REGEX_BYTES} bytes`;
  const key = `${maxProgramSize}\u0000${pattern}`;
  if (verdicts.has(key)) return verdicts.get(key);
  const verdict = judge(pattern, maxProgramSize);
  if (verdicts.size >= 100_000) verdicts.clear();
  verdicts.set(key, verdict);
  return verdict;
}

function judge(pattern: string, maxProgramSize: number): string | undefined {
  const compiled = new (re2().WrappedRE2)(withPNamedGroups(latin1Chars(pattern)), false, false, false);
  const error = compiled.ok() ? undefined : compiled.error();
  compiled.delete();
  if (error !== undefined) return `invalid regex (RE2): ${error}${hintFor(error)}`;
  let size: number;
  try {
    size = programSize(parseLatin1(pattern));
  } catch (err) {
    if (err instanceof Re2SyntaxError) return `invalid regex (RE2, as Envoy compiles it: Latin-1): ${err.message}`;
    if (err instanceof ProgramTooLarge) return `regex is too large for RE2 to compile (${err.message})`;
    throw err;
  }
  if (size > maxProgramSize) {
    return `regex compiles to an RE2 program of size ${size}, over Envoy's limit of ${maxProgramSize} ` +
      '(re2.max_program_size.error_level); Envoy would reject the route. Simplify it (fewer alternatives or ' +
      'repetitions) or match with prefix/exact';
  }
  return undefined;
}

/** What a JS or PCRE habit that RE2 lacks looks like in RE2's own error. */
function hintFor(error: string): string {
  if (/invalid perl operator: \(\?(<|[=!])/.test(error)) return ' (RE2, the regex engine Envoy uses, has no lookahead or lookbehind)';
  if (/invalid escape sequence: \\[1-9]/.test(error)) return ' (RE2, the regex engine Envoy uses, has no backreferences)';
  return '';
}

/** RE2::ProgramSize() of the pattern as Envoy compiles it; throws on a pattern RE2 refuses. */
export function envoyProgramSize(pattern: string): number {
  return programSize(parseLatin1(pattern));
}

/**
 * Whether `value` matches `pattern` the way the client runs it, on RE2 itself (linear time,
 * whatever the pattern): Envoy's RE2::FullMatch in Latin-1, or grpc-js-xds's re2-wasm test.
 */
export function fullMatch(pattern: string, value: string, client: 'envoy' | 'grpc' = 'envoy'): boolean {
  return (client === 'grpc' ? grpcMatchers : envoyMatchers).get(pattern).test(value);
}
