import { addGroup, PERL_GROUPS, posixGroup, unicodeGroupLatin1 } from './re2-groups';
import { addRangeFlags, Flag, negate, node, type Node, type Range } from './re2-node';

/** A pattern RE2 refuses, in RE2's own words ("invalid escape sequence: \\x{100"). */
export class Re2SyntaxError extends Error {}

export const LATIN1_MAX = 0xff;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * The lexical half of RE2's parser (parse.cc) over a Latin-1 pattern, one rune per byte:
 * escapes, counted repetitions, character classes with their POSIX, Perl and Unicode groups.
 */
export class Scanner {
  pos = 0;

  constructor(readonly s: number[]) {}

  text(from: number, to = this.pos): string {
    return Buffer.from(this.s.slice(from, to)).toString('latin1');
  }

  fail(message: string, from?: number, to?: number): never {
    throw new Re2SyntaxError(from === undefined ? message : `${message}: ${this.text(from, to)}`);
  }

  /** ParseEscape: one escaped rune; octal and hex above \xFF are errors in Latin-1 mode. */
  escape(): number {
    const s = this.s;
    const begin = this.pos;
    if (this.pos + 1 >= s.length) this.fail('trailing \\');
    this.pos++;
    const c = s[this.pos++]!;
    const bad = (): never => this.fail('invalid escape sequence', begin);
    if (c >= 0x31 && c <= 0x37 && !(s[this.pos]! >= 0x30 && s[this.pos]! <= 0x37)) bad();
    if (c >= 0x30 && c <= 0x37) {
      let code = c - 0x30;
      for (let k = 0; k < 2 && s[this.pos]! >= 0x30 && s[this.pos]! <= 0x37; k++) code = code * 8 + s[this.pos++]! - 0x30;
      if (code > LATIN1_MAX) bad();
      return code;
    }
    if (c === 0x78) { // x
      if (this.pos >= s.length) bad();
      let d = s[this.pos++]!;
      if (d === 0x7b) {
        let code = 0;
        let n = 0;
        d = s[this.pos++]!;
        while (isHex(d)) {
          n++;
          code = code * 16 + parseInt(String.fromCharCode(d), 16);
          if (code > LATIN1_MAX || this.pos >= s.length) bad();
          d = s[this.pos++]!;
        }
        if (d !== 0x7d || n === 0) bad();
        return code;
      }
      const d1 = s[this.pos++];
      if (!isHex(d) || !isHex(d1)) bad();
      return parseInt(String.fromCharCode(d, d1!), 16);
    }
    const simple: Record<number, number> = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x61: 7, 0x66: 12, 0x76: 11 };
    if (simple[c] !== undefined) return simple[c]!;
    if (c < 0x80 && !isAlnum(c)) return c;
    return bad();
  }

  repetition(): [number, number] | undefined {
    const s = this.s;
    let p = this.pos + 1;
    const int = (): number | undefined => {
      if (!isDigit(s[p]) || (s[p] === 0x30 && isDigit(s[p + 1]))) return undefined;
      let n = 0;
      while (isDigit(s[p])) {
        if (n >= 100000000) return undefined;
        n = n * 10 + s[p++]! - 0x30;
      }
      return n;
    };
    const lo = int();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (s[p] === 0x2c) {
      p++;
      if (s[p] === 0x7d) hi = -1;
      else {
        const h = int();
        if (h === undefined) return undefined;
        hi = h;
      }
    }
    if (s[p] !== 0x7d) return undefined;
    this.pos = p + 1;
    return [lo, hi];
  }

  charClass(flags: number): Node {
    const s = this.s;
    const begin = this.pos;
    const cc: Range[] = [];
    this.pos++;
    let negated = false;
    if (s[this.pos] === 0x5e) {
      negated = true;
      this.pos++;
    }
    let first = true;
    while (this.pos < s.length && (s[this.pos] !== 0x5d || first)) {
      first = false;
      if (s[this.pos] === 0x5b && s[this.pos + 1] === 0x3a && this.pos + 2 < s.length) {
        const close = this.findPosixEnd();
        if (close > 0) {
          const g = posixGroup(this.text(this.pos, close));
          if (!g) this.fail('invalid character class range', this.pos, close);
          addGroup(cc, g.ranges, g.sign, flags);
          this.pos = close;
          continue;
        }
      }
      const n = s[this.pos + 1];
      if (s[this.pos] === 0x5c && (n === 0x70 || n === 0x50) && this.pos + 2 < s.length) {
        this.unicodeGroup(cc, flags);
        continue;
      }
      const perl = s[this.pos] === 0x5c && n !== undefined ? PERL_GROUPS[`\\${String.fromCharCode(n)}`] : undefined;
      if (perl) {
        addGroup(cc, perl.ranges, perl.sign, flags);
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const lo = this.classChar(begin);
      let hi = lo;
      if (s[this.pos] === 0x2d && this.pos + 1 < s.length && s[this.pos + 1] !== 0x5d) {
        this.pos++;
        hi = this.classChar(begin);
        if (hi < lo) this.fail('invalid character class range', rangeStart);
      }
      addRangeFlags(cc, lo, hi, flags | Flag.ClassNL);
    }
    if (this.pos >= s.length) this.fail('missing closing ]', begin);
    this.pos++;
    return node('class', flags & ~Flag.FoldCase, { ranges: negated ? negate(cc) : cc });
  }

  findPosixEnd(): number {
    for (let q = this.pos + 2; q + 1 < this.s.length; q++) if (this.s[q] === 0x3a && this.s[q + 1] === 0x5d) return q + 2;
    return -1;
  }

  classChar(classBegin: number): number {
    if (this.pos >= this.s.length) this.fail('missing closing ]', classBegin);
    return this.s[this.pos] === 0x5c ? this.escape() : this.s[this.pos++]!;
  }

  unicodeGroup(cc: Range[], flags: number): void {
    const s = this.s;
    const begin = this.pos;
    let sign: 1 | -1 = s[this.pos + 1] === 0x50 ? -1 : 1;
    this.pos += 2;
    let name: string;
    if (s[this.pos] !== 0x7b) name = this.text(this.pos, ++this.pos);
    else {
      const end = s.indexOf(0x7d, this.pos);
      if (end < 0) this.fail('invalid character class range', begin, s.length);
      name = this.text(this.pos + 1, end);
      this.pos = end + 1;
    }
    if (name.startsWith('^')) {
      sign = sign === 1 ? -1 : 1;
      name = name.slice(1);
    }
    const ranges = unicodeGroupLatin1(name);
    if (!ranges) this.fail('invalid character class range', begin);
    addGroup(cc, ranges, sign, flags);
  }
}
