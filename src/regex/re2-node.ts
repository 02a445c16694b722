/**
 * The parsed form of an RE2 regex, as RE2's own parser leaves it (ops, parse flags, merged
 * character classes), for the Latin-1 mode Envoy compiles route regexes in. Only what decides
 * the compiled program's shape is kept: this tree exists to compute RE2's ProgramSize(),
 * which Envoy checks against `re2.max_program_size.error_level`.
 */

/** RE2's parse flag bits (regexp.h); equality of whole flag words matters when squashing repeats. */
export const Flag = {
  FoldCase: 1 << 0,
  ClassNL: 1 << 2,
  DotNL: 1 << 3,
  OneLine: 1 << 4,
  Latin1: 1 << 5,
  NonGreedy: 1 << 6,
  PerlClasses: 1 << 7,
  PerlB: 1 << 8,
  PerlX: 1 << 9,
  UnicodeGroups: 1 << 10,
  WasDollar: 1 << 13,
} as const;

/** Envoy builds RE2 with only `log_errors` off and Latin-1 encoding: ClassNL plus LikePerl. */
export const ENVOY_FLAGS =
  Flag.ClassNL | Flag.OneLine | Flag.PerlClasses | Flag.PerlB | Flag.PerlX | Flag.UnicodeGroups | Flag.Latin1;

export type Op =
  | 'nomatch' | 'empty' | 'literal' | 'string' | 'concat' | 'alternate' | 'star' | 'plus' | 'quest'
  | 'repeat' | 'capture' | 'anychar' | 'anybyte' | 'bol' | 'eol' | 'wordb' | 'nowordb' | 'bot' | 'eot'
  | 'class';

/** One inclusive rune range; a class is a sorted list of disjoint, non-abutting ranges. */
export type Range = [number, number];

export interface Node {
  op: Op;
  flags: number;
  subs: Node[];
  /** literal: [rune]; string: its runes. */
  runes: number[];
  min: number;
  max: number;
  cap: number;
  name?: string;
  ranges: Range[];
}

export function node(op: Op, flags: number, init: Partial<Node> = {}): Node {
  return { op, flags, subs: [], runes: [], min: 0, max: 0, cap: -1, ranges: [], ...init };
}

export const RUNE_MAX = 0x10ffff;

// ---- character classes (RE2's CharClassBuilder keeps ranges merged and maximal) ----

export function addRange(cc: Range[], lo: number, hi: number): void {
  if (lo > hi) return;
  let i = 0;
  while (i < cc.length && cc[i]![1] < lo - 1) i++;
  let j = i;
  while (j < cc.length && cc[j]![0] <= hi + 1) {
    lo = Math.min(lo, cc[j]![0]);
    hi = Math.max(hi, cc[j]![1]);
    j++;
  }
  cc.splice(i, j - i, [lo, hi]);
}

export function addClass(cc: Range[], other: Range[]): void {
  for (const [lo, hi] of other) addRange(cc, lo, hi);
}

export function negate(cc: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of cc) {
    if (next < lo) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= RUNE_MAX) out.push([next, RUNE_MAX]);
  return out;
}

export function removeAbove(cc: Range[], max: number): Range[] {
  const out: Range[] = [];
  for (const [lo, hi] of cc) if (lo <= max) out.push([lo, Math.min(hi, max)]);
  return out;
}

export function classSize(cc: Range[]): number {
  let n = 0;
  for (const [lo, hi] of cc) n += hi - lo + 1;
  return n;
}

export function classContains(cc: Range[], r: number): boolean {
  return cc.some(([lo, hi]) => lo <= r && r <= hi);
}

/** Whether the class treats A-Z exactly as it treats a-z (the compiler's ASCII fold shortcut). */
export function foldsAscii(cc: Range[]): boolean {
  for (let c = 0; c < 26; c++) {
    if (classContains(cc, 0x41 + c) !== classContains(cc, 0x61 + c)) return false;
  }
  return true;
}

/** CharClassBuilder::AddRangeFlags in Latin-1 mode: cut \n unless ClassNL, fold ASCII letters only. */
export function addRangeFlags(cc: Range[], lo: number, hi: number, flags: number): void {
  if (!(flags & Flag.ClassNL) && lo <= 10 && 10 <= hi) {
    if (lo < 10) addRangeFlags(cc, lo, 9, flags);
    if (hi > 10) addRangeFlags(cc, 11, hi, flags);
    return;
  }
  addRange(cc, lo, hi);
  if (!(flags & Flag.FoldCase)) return;
  for (let r = Math.max(lo, 0x41); r <= Math.min(hi, 0x7a); r++) {
    if (r <= 0x5a) addRange(cc, r + 32, r + 32);
    else if (r >= 0x61) addRange(cc, r - 32, r - 32);
  }
}

// ---- structural equality (Regexp::Equal) ----

function topEqual(a: Node, b: Node): boolean {
  if (a.op !== b.op) return false;
  switch (a.op) {
    case 'eot':
      return ((a.flags ^ b.flags) & Flag.WasDollar) === 0;
    case 'literal':
    case 'string':
      return ((a.flags ^ b.flags) & Flag.FoldCase) === 0 && sameList(a.runes, b.runes);
    case 'concat':
    case 'alternate':
      return a.subs.length === b.subs.length;
    case 'star':
    case 'plus':
    case 'quest':
      return ((a.flags ^ b.flags) & Flag.NonGreedy) === 0;
    case 'repeat':
      return ((a.flags ^ b.flags) & Flag.NonGreedy) === 0 && a.min === b.min && a.max === b.max;
    case 'capture':
      return a.cap === b.cap && a.name === b.name;
    case 'class':
      return a.ranges.length === b.ranges.length && a.ranges.every((r, i) => r[0] === b.ranges[i]![0] && r[1] === b.ranges[i]![1]);
    default:
      return true;
  }
}

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function equal(a: Node, b: Node): boolean {
  const stack: Array<[Node, Node]> = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (!topEqual(x, y)) return false;
    for (let i = 0; i < x.subs.length; i++) stack.push([x.subs[i]!, y.subs[i]!]);
  }
  return true;
}

/** Regexp::LiteralString: empty → EmptyMatch, one rune → Literal. */
export function literalString(runes: number[], flags: number): Node {
  if (runes.length === 0) return node('empty', flags);
  if (runes.length === 1) return node('literal', flags, { runes: [runes[0]!] });
  return node('string', flags, { runes: [...runes] });
}
