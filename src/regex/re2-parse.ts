import { addGroup, PERL_GROUPS } from './re2-groups';
import { concatOrAlternate } from './re2-factor';
import { addRangeFlags, classContains, classSize, ENVOY_FLAGS, Flag, node, type Node, type Range, removeAbove } from './re2-node';
import { LATIN1_MAX, Scanner } from './re2-scanner';

export { Re2SyntaxError } from './re2-scanner';

/**
 * RE2's parser (parse.cc) in Latin-1 mode, rebuilt to produce the same tree: literals merged
 * into strings as they are pushed, one-rune classes turned into literals, alternations
 * factored, repeat counts checked. The pattern's UTF-8 bytes are its runes, as in RE2's
 * Latin-1 mode, so an escape above \xFF is an error.
 */
const MAX_REPEAT = 1000;
type Marker = Node & { marker: 'paren' | 'bar' };

export function parseLatin1(pattern: string): Node {
  return new Parser(Array.from(Buffer.from(pattern, 'utf8'))).parse();
}

function isMarker(n: Node | undefined): n is Marker {
  return n !== undefined && (n as Marker).marker !== undefined;
}

class Parser {
  private readonly stack: Node[] = [];
  private flags = ENVOY_FLAGS;
  private ncap = 0;

  private readonly sc: Scanner;

  constructor(s: number[]) {
    this.sc = new Scanner(s);
  }

  parse(): Node {
    const s = this.sc.s;
    let lastUnary = -1;
    while (this.sc.pos < s.length) {
      let unary = -1;
      const c = s[this.sc.pos]!;
      const at = this.sc.pos;
      switch (c) {
        case 0x28: // (
          if (s[this.sc.pos + 1] === 0x3f) this.perlFlags();
          else {
            this.pushMarker(++this.ncap);
            this.sc.pos++;
          }
          break;
        case 0x7c: // |
          this.verticalBar();
          this.sc.pos++;
          break;
        case 0x29: // )
          this.rightParen();
          this.sc.pos++;
          break;
        case 0x5e: // ^
          this.push(node(this.flags & Flag.OneLine ? 'bot' : 'bol', this.flags));
          this.sc.pos++;
          break;
        case 0x24: // $
          this.push(this.flags & Flag.OneLine ? node('eot', this.flags | Flag.WasDollar) : node('eol', this.flags));
          this.sc.pos++;
          break;
        case 0x2e: // .
          this.pushDot();
          this.sc.pos++;
          break;
        case 0x5b: // [
          this.push(this.sc.charClass(this.flags));
          break;
        case 0x2a: case 0x2b: case 0x3f: { // * + ?
          this.sc.pos++;
          let nongreedy = false;
          if (s[this.sc.pos] === 0x3f) {
            nongreedy = true;
            this.sc.pos++;
          }
          if (lastUnary >= 0) this.sc.fail('bad repetition operator', lastUnary);
          this.repeatOp(c === 0x2a ? 'star' : c === 0x2b ? 'plus' : 'quest', nongreedy, at);
          unary = at;
          break;
        }
        case 0x7b: { // {
          const rep = this.sc.repetition();
          if (!rep) {
            this.pushLiteral(0x7b);
            this.sc.pos++;
            break;
          }
          let nongreedy = false;
          if (s[this.sc.pos] === 0x3f) {
            nongreedy = true;
            this.sc.pos++;
          }
          if (lastUnary >= 0) this.sc.fail('bad repetition operator', lastUnary);
          this.pushRepetition(rep[0], rep[1], nongreedy, at);
          unary = at;
          break;
        }
        case 0x5c: // backslash
          this.escapeAtom();
          break;
        default:
          this.pushLiteral(c);
          this.sc.pos++;
      }
      lastUnary = unary;
    }
    return this.finish();
  }

  private escapeAtom(): void {
    const s = this.sc.s;
    const next = s[this.sc.pos + 1];
    if (next === 0x62 || next === 0x42) { // \b \B
      this.push(node(next === 0x62 ? 'wordb' : 'nowordb', this.flags));
      this.sc.pos += 2;
      return;
    }
    if (next === 0x41 || next === 0x7a || next === 0x43) { // \A \z \C
      this.push(node(next === 0x41 ? 'bot' : next === 0x7a ? 'eot' : 'anybyte', this.flags));
      this.sc.pos += 2;
      return;
    }
    if (next === 0x51) { // \Q ... \E
      this.sc.pos += 2;
      while (this.sc.pos < s.length) {
        if (s[this.sc.pos] === 0x5c && s[this.sc.pos + 1] === 0x45) {
          this.sc.pos += 2;
          break;
        }
        this.pushLiteral(s[this.sc.pos++]!);
      }
      return;
    }
    if (next === 0x70 || next === 0x50) { // \p \P
      const cc: Range[] = [];
      this.sc.unicodeGroup(cc, this.flags);
      this.push(node('class', this.flags & ~Flag.FoldCase, { ranges: cc }));
      return;
    }
    const perl = next === undefined ? undefined : PERL_GROUPS[`\\${String.fromCharCode(next)}`];
    if (perl) {
      const cc: Range[] = [];
      addGroup(cc, perl.ranges, perl.sign, this.flags);
      this.sc.pos += 2;
      this.push(node('class', this.flags & ~Flag.FoldCase, { ranges: cc }));
      return;
    }
    this.pushLiteral(this.sc.escape());
  }

  private perlFlags(): void {
    const s = this.sc.s;
    const begin = this.sc.pos;
    const t2 = s[this.sc.pos + 2];
    if ((t2 === 0x3d || t2 === 0x21) || (t2 === 0x3c && (s[this.sc.pos + 3] === 0x3d || s[this.sc.pos + 3] === 0x21))) {
      this.sc.fail('invalid or unsupported Perl syntax', begin, begin + (t2 === 0x3c ? 4 : 3));
    }
    if ((t2 === 0x50 && s[this.sc.pos + 3] === 0x3c) || t2 === 0x3c) { // (?P<name> or (?<name>
      const start = this.sc.pos + (t2 === 0x50 ? 4 : 3);
      const end = s.indexOf(0x3e, start);
      if (end < 0) this.sc.fail('invalid named capture group', begin, s.length);
      const name = this.sc.text(start, end);
      if (!/^[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]+$/u.test(name)) this.sc.fail('invalid named capture group', begin, end + 1);
      this.pushMarker(++this.ncap, name);
      this.sc.pos = end + 1;
      return;
    }
    this.sc.pos += 2;
    let negated = false;
    let saw = false;
    let flags = this.flags;
    for (;;) {
      if (this.sc.pos >= s.length) this.sc.fail('missing closing )', begin);
      const c = s[this.sc.pos++]!;
      const bit = c === 0x69 ? Flag.FoldCase : c === 0x73 ? Flag.DotNL : c === 0x55 ? Flag.NonGreedy : c === 0x6d ? Flag.OneLine : 0;
      if (bit) {
        saw = true;
        // (?m) clears OneLine, the others set their bit; '-' inverts both.
        const set = (c === 0x6d) === negated;
        flags = set ? flags | bit : flags & ~bit;
      } else if (c === 0x2d) {
        if (negated) this.sc.fail('invalid or unsupported Perl syntax', begin);
        negated = true;
        saw = false;
      } else if (c === 0x3a || c === 0x29) {
        if (negated && !saw) this.sc.fail('invalid or unsupported Perl syntax', begin);
        if (c === 0x3a) this.pushMarker(-1);
        this.flags = flags;
        return;
      } else this.sc.fail('invalid or unsupported Perl syntax', begin);
    }
  }

  // ---- the stack (ParseState) ----

  private pushMarker(cap: number, name?: string): void {
    const m = node('empty', this.flags, { cap, ...(name === undefined ? {} : { name }) }) as Marker;
    m.marker = 'paren';
    this.push(m);
  }

  private push(re: Node): void {
    this.maybeConcatString(-1, 0);
    if (re.op === 'class' && !isMarker(re)) {
      re.ranges = removeAbove(re.ranges, LATIN1_MAX);
      const size = classSize(re.ranges);
      if (size === 1) re = node('literal', this.flags, { runes: [re.ranges[0]![0]] });
      else if (size === 2) {
        const r = re.ranges[0]![0];
        if (r >= 0x41 && r <= 0x5a && classContains(re.ranges, r + 32)) {
          re = node('literal', this.flags | Flag.FoldCase, { runes: [r + 32] });
        }
      }
    }
    this.stack.push(re);
  }

  private pushLiteral(r: number): void {
    if (this.flags & Flag.FoldCase && ((r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a))) {
      const cc: Range[] = [];
      addRangeFlags(cc, r, r, Flag.FoldCase | Flag.ClassNL);
      this.push(node('class', this.flags & ~Flag.FoldCase, { ranges: cc }));
      return;
    }
    if (this.maybeConcatString(r, this.flags)) return;
    this.push(node('literal', this.flags, { runes: [r] }));
  }

  private pushDot(): void {
    if (this.flags & Flag.DotNL) {
      this.push(node('anychar', this.flags));
      return;
    }
    this.push(node('class', this.flags & ~Flag.FoldCase, { ranges: [[0, 9], [11, LATIN1_MAX]] }));
  }

  private repeatOp(op: 'star' | 'plus' | 'quest', nongreedy: boolean, at: number): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || isMarker(top)) this.sc.fail('missing argument to repetition operator', at, this.sc.pos);
    const fl = nongreedy ? this.flags ^ Flag.NonGreedy : this.flags;
    if (top.op === op && fl === top.flags) return;
    if ((top.op === 'star' || top.op === 'plus' || top.op === 'quest') && fl === top.flags) {
      top.op = 'star';
      return;
    }
    this.stack[this.stack.length - 1] = node(op, fl, { subs: [top] });
  }

  private pushRepetition(min: number, max: number, nongreedy: boolean, at: number): void {
    if ((max !== -1 && max < min) || min > MAX_REPEAT || max > MAX_REPEAT) this.sc.fail('invalid repetition size', at);
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || isMarker(top)) this.sc.fail('missing argument to repetition operator', at, this.sc.pos);
    const re = node('repeat', nongreedy ? this.flags ^ Flag.NonGreedy : this.flags, { subs: [top], min, max });
    this.stack[this.stack.length - 1] = re;
    if ((min >= 2 || max >= 2) && repetitionBudget(re, MAX_REPEAT) === 0) this.sc.fail('invalid repetition size', at);
  }

  private verticalBar(): void {
    this.maybeConcatString(-1, 0);
    this.doConcatenation();
    const st = this.stack;
    const r1 = st[st.length - 1]!;
    const r2 = st[st.length - 2];
    if (r2 !== undefined && (r2 as Marker).marker === 'bar') {
      const r3 = st[st.length - 3];
      const subsumable = (n: Node): boolean => n.op === 'literal' || n.op === 'class' || n.op === 'anychar';
      if (r3 !== undefined && !isMarker(r3) && r3.op === 'anychar' && subsumable(r1)) {
        st.pop();
        return;
      }
      if (r3 !== undefined && !isMarker(r3) && r1.op === 'anychar' && subsumable(r3)) {
        st.splice(st.length - 3, 3, r1, r2);
        return;
      }
      st.splice(st.length - 2, 2, r1, r2);
      return;
    }
    const bar = node('empty', this.flags) as Marker;
    bar.marker = 'bar';
    this.push(bar);
  }

  private doConcatenation(): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || isMarker(top)) this.push(node('empty', this.flags));
    this.collapse('concat');
  }

  private doAlternation(): void {
    this.verticalBar();
    this.stack.pop();
    this.collapse('alternate');
  }

  private collapse(op: 'concat' | 'alternate'): void {
    const st = this.stack;
    let i = st.length;
    while (i > 0 && !isMarker(st[i - 1])) i--;
    if (st.length - i === 1) return;
    const subs: Node[] = [];
    for (const n of st.slice(i)) {
      if (n.op === op) subs.push(...n.subs);
      else subs.push(n);
    }
    st.splice(i, st.length - i, concatOrAlternate(op, subs, this.flags, true));
  }

  private rightParen(): void {
    this.doAlternation();
    const st = this.stack;
    const r1 = st[st.length - 1];
    const r2 = st[st.length - 2];
    if (r1 === undefined || r2 === undefined || (r2 as Marker).marker !== 'paren') this.sc.fail('unexpected )');
    st.length -= 2;
    this.flags = r2.flags;
    if (r2.cap > 0) {
      this.push(node('capture', r2.flags, { subs: [r1], cap: r2.cap, ...(r2.name === undefined ? {} : { name: r2.name }) }));
    } else this.push(r1);
  }

  private finish(): Node {
    this.doAlternation();
    if (this.stack.length !== 1) this.sc.fail('missing )');
    return this.stack[0]!;
  }

  /** MaybeConcatString: fold the top two literals into a string; reuse the top for r if given. */
  private maybeConcatString(r: number, flags: number): boolean {
    const st = this.stack;
    const re1 = st[st.length - 1];
    const re2 = st[st.length - 2];
    if (re1 === undefined || re2 === undefined || isMarker(re1) || isMarker(re2)) return false;
    const lit = (n: Node): boolean => n.op === 'literal' || n.op === 'string';
    if (!lit(re1) || !lit(re2) || (re1.flags & Flag.FoldCase) !== (re2.flags & Flag.FoldCase)) return false;
    re2.op = 'string';
    re2.runes.push(...re1.runes);
    if (r >= 0) {
      re1.op = 'literal';
      re1.runes = [r];
      re1.flags = flags;
      return true;
    }
    st.pop();
    return false;
  }
}

/** RepetitionWalker: 0 when nested counted repeats multiply past the limit. */
function repetitionBudget(re: Node, budget: number): number {
  let arg = budget;
  if (re.op === 'repeat') {
    const m = re.max < 0 ? re.min : re.max;
    if (m > 0) arg = Math.trunc(arg / m);
  }
  let out = arg;
  for (const sub of re.subs) out = Math.min(out, repetitionBudget(sub, arg));
  return out;
}

