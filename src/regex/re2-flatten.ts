/**
 * RE2's Prog::Optimize and Prog::Flatten (prog.cc), as far as they decide Prog::size(): the
 * number of instructions once every Alt tree is flattened into a list per "root".
 */

/** Instruction opcodes, as RE2 names them. */
export const I = { Fail: 0, Alt: 1, AltMatch: 2, ByteRange: 3, Capture: 4, EmptyWidth: 5, Match: 6, Nop: 7 } as const;
export type Opcode = (typeof I)[keyof typeof I];

/** A compiled program: parallel arrays indexed by instruction id; 0 is the Fail instruction. */
export interface Prog {
  op: Opcode[];
  out: number[];
  out1: number[];
  lo: number[];
  hi: number[];
}

/** Prog::Optimize: skip Nops in every out reachable from start, and mark `.*`-then-match loops AltMatch. */
export function optimize(c: Prog, start: number): void {
  const skipNops = (j: number): number => {
    while (j !== 0 && c.op[j] === I.Nop) j = c.out[j]!;
    return j;
  };
  const queue = (q: number[], seen: Set<number>, id: number): void => {
    if (id !== 0 && !seen.has(id)) {
      seen.add(id);
      q.push(id);
    }
  };
  let q: number[] = [];
  let seen = new Set<number>();
  queue(q, seen, start);
  for (let i = 0; i < q.length; i++) {
    const id = q[i]!;
    c.out[id] = skipNops(c.out[id]!);
    queue(q, seen, c.out[id]!);
    if (c.op[id] === I.Alt) {
      c.out1[id] = skipNops(c.out1[id]!);
      queue(q, seen, c.out1[id]!);
    }
  }
  const isMatch = (id: number): boolean => {
    for (;;) {
      if (c.op[id] === I.Match) return true;
      if (c.op[id] !== I.Capture && c.op[id] !== I.Nop) return false;
      id = c.out[id]!;
    }
  };
  const anyByteBack = (j: number, to: number): boolean =>
    c.op[j] === I.ByteRange && c.out[j] === to && c.lo[j] === 0 && c.hi[j] === 0xff;
  q = [];
  seen = new Set<number>();
  queue(q, seen, start);
  for (let i = 0; i < q.length; i++) {
    const id = q[i]!;
    queue(q, seen, c.out[id]!);
    if (c.op[id] !== I.Alt) continue;
    queue(q, seen, c.out1[id]!);
    const j = c.out[id]!;
    const k = c.out1[id]!;
    if ((anyByteBack(j, id) && isMatch(k)) || (isMatch(j) && anyByteBack(k, id))) c.op[id] = I.AltMatch;
  }
}

const isAlt = (op: Opcode | undefined): boolean => op === I.Alt || op === I.AltMatch;

/** Prog::Flatten's output size: one list per root, each holding what the root reaches without consuming input. */
export function flattenedSize(c: Prog, start: number, startUnanchored: number): number {
  const roots = new Set<number>([0, startUnanchored, start]);
  const preds = new Map<number, number[]>();
  // Successor roots and Alt predecessors (MarkSuccessors).
  const reachable = new Set<number>();
  const stack = [startUnanchored];
  while (stack.length > 0) {
    let id: number | undefined = stack.pop()!;
    while (id !== undefined && !reachable.has(id)) {
      reachable.add(id);
      const op = c.op[id];
      if (isAlt(op)) {
        for (const o of [c.out[id]!, c.out1[id]!]) {
          const list = preds.get(o) ?? [];
          list.push(id);
          preds.set(o, list);
        }
        stack.push(c.out1[id]!);
        id = c.out[id]!;
      } else if (op === I.ByteRange || op === I.Capture || op === I.EmptyWidth) {
        roots.add(c.out[id]!);
        id = c.out[id]!;
      } else if (op === I.Nop) id = c.out[id]!;
      else id = undefined;
    }
  }
  // Dominator roots, visiting the successor roots from the highest id down (MarkDominator).
  const sorted = [...roots].sort((a, b) => a - b);
  for (let i = sorted.length - 1; i > 0; i--) {
    const root = sorted[i]!;
    if (root === start || root === startUnanchored) continue;
    const seen = epsilonClosure(c, root, roots);
    for (const id of seen) {
      for (const p of preds.get(id) ?? []) if (!seen.has(p)) roots.add(id);
    }
  }
  // EmitList: each root's list holds the instructions it reaches, plus a Nop per other root reached.
  let size = 0;
  for (const root of roots) {
    for (const id of epsilonClosure(c, root, roots)) {
      const op = c.op[id];
      if (id !== root && roots.has(id)) size++;
      else if (op === I.AltMatch) size++;
      else if (op !== I.Alt && op !== I.Nop) size++;
    }
  }
  return size;
}

/** Instructions reached from root through Alts and Nops, stopping at (and including) other roots. */
function epsilonClosure(c: Prog, root: number, roots: Set<number>): Set<number> {
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    let id: number | undefined = stack.pop()!;
    while (id !== undefined && !seen.has(id)) {
      seen.add(id);
      if (id !== root && roots.has(id)) break;
      const op = c.op[id];
      if (isAlt(op)) {
        stack.push(c.out1[id]!);
        id = c.out[id]!;
      } else if (op === I.Nop) id = c.out[id]!;
      else id = undefined;
    }
  }
  return seen;
}
