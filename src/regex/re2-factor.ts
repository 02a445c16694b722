import { addRangeFlags, equal, Flag, literalString, node, type Node, type Range } from './re2-node';

/**
 * How RE2's parser builds concatenations and alternations, including its three rounds of
 * alternation factoring (common literal prefixes, common simple leading pieces, runs of
 * literals and classes merged into one class): all three change the compiled program.
 */
export function concatOrAlternate(op: 'concat' | 'alternate', subs: Node[], flags: number, canFactor: boolean): Node {
  if (subs.length === 1) return subs[0]!;
  if (subs.length === 0) return node(op === 'alternate' ? 'nomatch' : 'empty', flags);
  if (op === 'alternate' && canFactor) {
    subs = factorAlternation([...subs], flags);
    if (subs.length === 1) return subs[0]!;
  }
  return node(op, flags, { subs });
}

interface Splice {
  prefix: Node;
  start: number;
  n: number;
}

/** FactorAlternation: each round's splices are factored recursively before they are applied. */
function factorAlternation(subs: Node[], flags: number): Node[] {
  for (const round of [1, 2, 3] as const) {
    const splices = round === 1 ? round1(subs) : round === 2 ? round2(subs) : round3(subs, flags);
    if (splices.length === 0) continue;
    const out: Node[] = [];
    let i = 0;
    for (const sp of splices) {
      while (i < sp.start) out.push(subs[i++]!);
      if (round === 3) out.push(sp.prefix);
      else {
        const suffixes = factorAlternation(subs.slice(sp.start, sp.start + sp.n), flags);
        out.push(concatOrAlternate('concat', [sp.prefix, concatOrAlternate('alternate', suffixes, flags, false)], flags, false));
      }
      i = sp.start + sp.n;
    }
    while (i < subs.length) out.push(subs[i++]!);
    subs = out;
  }
  return subs;
}

function leadingString(re: Node): { runes: number[]; flags: number } {
  while (re.op === 'concat' && re.subs.length > 0) re = re.subs[0]!;
  const flags = re.flags & (Flag.FoldCase | Flag.Latin1);
  return { runes: re.op === 'literal' || re.op === 'string' ? re.runes : [], flags };
}

/** RemoveLeadingString: edits re in place, collapsing concatenations left empty at the front. */
function removeLeadingString(re: Node, n: number): void {
  const stk: Node[] = [];
  while (re.op === 'concat') {
    if (stk.length < 4) stk.push(re);
    re = re.subs[0]!;
  }
  if (re.op === 'literal') {
    re.op = 'empty';
    re.runes = [];
  } else if (re.op === 'string') {
    if (n >= re.runes.length) {
      re.op = 'empty';
      re.runes = [];
    } else {
      re.runes = re.runes.slice(n);
      if (re.runes.length === 1) re.op = 'literal';
    }
  }
  while (stk.length > 0) {
    const c = stk.pop()!;
    if (c.subs[0]!.op !== 'empty') continue;
    if (c.subs.length === 2) Object.assign(c, { ...c.subs[1]! });
    else c.subs = c.subs.slice(1);
  }
}

function leadingRegexp(re: Node): Node | undefined {
  if (re.op === 'empty') return undefined;
  if (re.op === 'concat' && re.subs.length >= 2) return re.subs[0]!.op === 'empty' ? undefined : re.subs[0];
  return re;
}

function removeLeadingRegexp(re: Node): Node {
  if (re.op === 'empty') return re;
  if (re.op === 'concat' && re.subs.length >= 2) {
    if (re.subs[0]!.op === 'empty') return re;
    if (re.subs.length === 2) return re.subs[1]!;
    return { ...re, subs: re.subs.slice(1) };
  }
  return node('empty', re.flags);
}

/** Round 1: common literal prefixes (same fold flag). */
function round1(subs: Node[]): Splice[] {
  const splices: Splice[] = [];
  let start = 0;
  let runes: number[] = [];
  let nrune = 0;
  let runeFlags = 0;
  for (let i = 0; i <= subs.length; i++) {
    let lead: { runes: number[]; flags: number } | undefined;
    if (i < subs.length) {
      lead = leadingString(subs[i]!);
      if (lead.flags === runeFlags) {
        let same = 0;
        while (same < nrune && same < lead.runes.length && runes[same] === lead.runes[same]) same++;
        if (same > 0) {
          nrune = same;
          continue;
        }
      }
    }
    if (i - start >= 2) {
      const prefix = literalString(runes.slice(0, nrune), runeFlags);
      for (let j = start; j < i; j++) removeLeadingString(subs[j]!, nrune);
      splices.push({ prefix, start, n: i - start });
    }
    if (lead) {
      start = i;
      runes = [...lead.runes];
      nrune = lead.runes.length;
      runeFlags = lead.flags;
    }
  }
  return splices;
}

function factorablePiece(first: Node): boolean {
  switch (first.op) {
    case 'bol': case 'eol': case 'wordb': case 'nowordb': case 'bot': case 'eot':
    case 'class': case 'anychar': case 'anybyte':
      return true;
    case 'repeat': {
      const sub = first.subs[0]!.op;
      return first.min === first.max && (sub === 'literal' || sub === 'class' || sub === 'anychar' || sub === 'anybyte');
    }
    default:
      return false;
  }
}

/** Round 2: a common simple leading piece (empty-width op, class, fixed repeat of a char). */
function round2(subs: Node[]): Splice[] {
  const splices: Splice[] = [];
  let start = 0;
  let first: Node | undefined;
  for (let i = 0; i <= subs.length; i++) {
    let firstI: Node | undefined;
    if (i < subs.length) {
      firstI = leadingRegexp(subs[i]!);
      if (first !== undefined && firstI !== undefined && factorablePiece(first) && equal(first, firstI)) continue;
    }
    if (i - start >= 2) {
      const prefix = first!;
      for (let j = start; j < i; j++) subs[j] = removeLeadingRegexp(subs[j]!);
      splices.push({ prefix, start, n: i - start });
    }
    if (i < subs.length) {
      start = i;
      first = firstI;
    }
  }
  return splices;
}

/** Round 3: runs of literals and classes become one class. */
function round3(subs: Node[], flags: number): Splice[] {
  const splices: Splice[] = [];
  let start = 0;
  let first: Node | undefined;
  const charLike = (n: Node): boolean => n.op === 'literal' || n.op === 'class';
  for (let i = 0; i <= subs.length; i++) {
    if (i < subs.length && first !== undefined && charLike(first) && charLike(subs[i]!)) continue;
    if (i - start >= 2) {
      const cc: Range[] = [];
      for (let j = start; j < i; j++) {
        const re = subs[j]!;
        if (re.op === 'class') for (const [lo, hi] of re.ranges) addRangeFlags(cc, lo, hi, re.flags);
        else addRangeFlags(cc, re.runes[0]!, re.runes[0]!, re.flags);
      }
      splices.push({ prefix: node('class', flags & ~Flag.FoldCase, { ranges: cc }), start, n: i - start });
    }
    if (i < subs.length) {
      start = i;
      first = subs[i];
    }
  }
  return splices;
}
