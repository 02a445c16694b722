import type { Node } from './re2-node';
import { Flag } from './re2-node';
import { flattenedSize, I, type Opcode, optimize } from './re2-flatten';
import { requiredPrefixSuffix, simplify, stripAnchor } from './re2-simplify';

/**
 * RE2's compiler (compile.cc) for Latin-1, its Optimize pass and its Flatten pass (prog.cc),
 * which together decide Prog::size(): the figure RE2::ProgramSize() returns and Envoy
 * compares with `re2.max_program_size.error_level`. Instructions are allocated in the same
 * order as RE2 allocates them, because Flatten's choice of roots depends on that order.
 */

/** RE2 stops compiling past its memory budget (2/3 of 8 MiB at 8 bytes an instruction). */
const MAX_INSTRUCTIONS = 690_000;

export class ProgramTooLarge extends Error {}

interface Frag {
  begin: number;
  head: number;
  tail: number;
  nullable: boolean;
}
const NO_MATCH: Frag = { begin: 0, head: 0, tail: 0, nullable: false };

class Compiler {
  op: Opcode[] = [I.Fail];
  out: number[] = [0];
  out1: number[] = [0];
  lo: number[] = [0];
  hi: number[] = [0];

  private alloc(op: Opcode): number {
    if (this.op.length >= MAX_INSTRUCTIONS) throw new ProgramTooLarge('pattern too large - compile failed');
    this.op.push(op);
    this.out.push(0);
    this.out1.push(0);
    this.lo.push(0);
    this.hi.push(0);
    return this.op.length - 1;
  }

  // Patch lists thread through the out/out1 fields they will fill: entry = id<<1 | (is out1).
  private patch(head: number, to: number): void {
    while (head !== 0) {
      const id = head >> 1;
      if (head & 1) {
        head = this.out1[id]!;
        this.out1[id] = to;
      } else {
        head = this.out[id]!;
        this.out[id] = to;
      }
    }
  }

  private append(h1: number, t1: number, h2: number, t2: number): [number, number] {
    if (h1 === 0) return [h2, t2];
    if (h2 === 0) return [h1, t1];
    if (t1 & 1) this.out1[t1 >> 1] = h2;
    else this.out[t1 >> 1] = h2;
    return [h1, t2];
  }

  cat(a: Frag, b: Frag): Frag {
    if (a.begin === 0 || b.begin === 0) return NO_MATCH;
    if (this.op[a.begin] === I.Nop && a.head === a.begin << 1 && this.out[a.begin] === 0) {
      this.patch(a.head, b.begin);
      return b;
    }
    this.patch(a.head, b.begin);
    return { begin: a.begin, head: b.head, tail: b.tail, nullable: a.nullable && b.nullable };
  }

  alt(a: Frag, b: Frag): Frag {
    if (a.begin === 0) return b;
    if (b.begin === 0) return a;
    const id = this.alloc(I.Alt);
    this.out[id] = a.begin;
    this.out1[id] = b.begin;
    const [head, tail] = this.append(a.head, a.tail, b.head, b.tail);
    return { begin: id, head, tail, nullable: a.nullable || b.nullable };
  }

  /** The Alt of a loop or option: greedy tries the body first (out), non-greedy last (out1). */
  private loopAlt(body: number, nongreedy: boolean): [number, number] {
    const id = this.alloc(I.Alt);
    if (nongreedy) {
      this.out1[id] = body;
      return [id, id << 1];
    }
    this.out[id] = body;
    return [id, (id << 1) | 1];
  }

  plus(a: Frag, nongreedy: boolean): Frag {
    const [id, exit] = this.loopAlt(a.begin, nongreedy);
    this.patch(a.head, id);
    return { begin: a.begin, head: exit, tail: exit, nullable: a.nullable };
  }

  star(a: Frag, nongreedy: boolean): Frag {
    if (a.nullable) return this.quest(this.plus(a, nongreedy), nongreedy);
    const [id, exit] = this.loopAlt(a.begin, nongreedy);
    this.patch(a.head, id);
    return { begin: id, head: exit, tail: exit, nullable: true };
  }

  quest(a: Frag, nongreedy: boolean): Frag {
    if (a.begin === 0) return this.nop();
    const [id, exit] = this.loopAlt(a.begin, nongreedy);
    const [head, tail] = this.append(exit, exit, a.head, a.tail);
    return { begin: id, head, tail, nullable: true };
  }

  byteRange(lo: number, hi: number): Frag {
    const id = this.alloc(I.ByteRange);
    this.lo[id] = lo;
    this.hi[id] = hi;
    return { begin: id, head: id << 1, tail: id << 1, nullable: false };
  }

  nop(): Frag {
    const id = this.alloc(I.Nop);
    return { begin: id, head: id << 1, tail: id << 1, nullable: true };
  }

  emptyWidth(): Frag {
    const id = this.alloc(I.EmptyWidth);
    return { begin: id, head: id << 1, tail: id << 1, nullable: true };
  }

  match(): Frag {
    return { begin: this.alloc(I.Match), head: 0, tail: 0, nullable: false };
  }

  capture(a: Frag): Frag {
    if (a.begin === 0) return NO_MATCH;
    const id = this.alloc(I.Capture);
    const id2 = this.alloc(I.Capture);
    this.out[id] = a.begin;
    this.patch(a.head, id2);
    return { begin: id, head: id2 << 1, tail: id2 << 1, nullable: a.nullable };
  }

  /** A class: each range a ByteRange, chained by Alts in order (AddSuffix in Latin-1). */
  ranges(ranges: Array<[number, number]>): Frag {
    let begin = 0;
    let head = 0;
    let tail = 0;
    for (const [lo, hi] of ranges) {
      if (lo > hi || lo > 0xff) continue;
      const f = this.byteRange(lo, Math.min(hi, 0xff));
      [head, tail] = this.append(head, tail, f.head, f.tail);
      if (begin === 0) begin = f.begin;
      else {
        const id = this.alloc(I.Alt);
        this.out[id] = begin;
        this.out1[id] = f.begin;
        begin = id;
      }
    }
    return { begin, head, tail, nullable: false };
  }

  compile(re: Node): Frag {
    // Children first, left to right, as RE2's walker visits them: allocation order is part of the result.
    const kids = re.subs.map((s) => this.compile(s));
    switch (re.op) {
      case 'nomatch': return NO_MATCH;
      case 'empty': return this.nop();
      case 'concat': return kids.reduce((f, k) => this.cat(f, k));
      case 'alternate': return kids.reduce((f, k) => this.alt(f, k));
      case 'star': return this.star(kids[0]!, (re.flags & Flag.NonGreedy) !== 0);
      case 'plus': return this.plus(kids[0]!, (re.flags & Flag.NonGreedy) !== 0);
      case 'quest': return this.quest(kids[0]!, (re.flags & Flag.NonGreedy) !== 0);
      case 'literal':
      case 'string':
        return re.runes.map((r) => this.byteRange(r, r)).reduce((f, k) => this.cat(f, k));
      case 'anychar': return this.ranges([[0, 0xff]]);
      case 'anybyte': return this.byteRange(0, 0xff);
      case 'class': return this.classFrag(re);
      case 'capture': return this.capture(kids[0]!);
      case 'repeat': throw new Error('repeat left after simplification');
      default: return this.emptyWidth();
    }
  }

  private classFrag(re: Node): Frag {
    // Ranges inside A-Z are dropped when the class folds ASCII case (its a-z ranges cover them).
    let folds = true;
    for (let c = 0; c < 26 && folds; c++) folds = inClass(re, 0x41 + c) === inClass(re, 0x61 + c);
    return this.ranges(re.ranges.filter(([lo, hi]) => !(folds && lo >= 0x41 && hi <= 0x5a)));
  }
}

function inClass(re: Node, r: number): boolean {
  return re.ranges.some(([lo, hi]) => lo <= r && r <= hi);
}

/** RE2::ProgramSize() for `re` compiled the way Envoy compiles a route regex. */
export function programSize(parsed: Node): number {
  let sre = simplify(requiredPrefixSuffix(parsed));
  const noStart = stripAnchor(sre, 'bot');
  const anchorStart = noStart !== undefined;
  if (noStart) sre = noStart;
  sre = stripAnchor(sre, 'eot') ?? sre;
  const c = new Compiler();
  let all = c.compile(sre);
  all = c.cat(all, c.match());
  const start = all.begin;
  if (!anchorStart) all = c.cat(c.star(c.byteRange(0, 0xff), true), all);
  const startUnanchored = all.begin;
  if (start === 0 && startUnanchored === 0) return 1; // only the Fail instruction is kept
  optimize(c, start);
  return flattenedSize(c, start, startUnanchored);
}
