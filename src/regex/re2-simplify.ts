import { classSize, equal, Flag, literalString, node, type Node, RUNE_MAX } from './re2-node';

/**
 * What RE2 does to the parsed tree before compiling it: coalesce adjacent repeats of one
 * character (`a*a+` → `a{1,}`), expand counted repeats, drop empty classes, and strip what
 * the compiler records instead of compiling (a required `^literal` prefix, leading `^` and
 * trailing `$`). Nodes are shared, never edited, as RE2's are reference-counted.
 */
export function simplify(re: Node): Node {
  return simplifyWalk(coalesceWalk(re));
}

function rebuilt(re: Node, subs: Node[]): Node {
  return subs.every((s, i) => s === re.subs[i]) ? re : { ...re, subs };
}

function coalesceWalk(re: Node): Node {
  if (re.subs.length === 0) return re;
  const subs = re.subs.map(coalesceWalk);
  if (re.op !== 'concat') return rebuilt(re, subs);
  let any = false;
  for (let i = 0; i + 1 < subs.length; i++) if (canCoalesce(subs[i]!, subs[i + 1]!)) any = true;
  if (!any) return rebuilt(re, subs);
  for (let i = 0; i + 1 < subs.length; i++) {
    if (canCoalesce(subs[i]!, subs[i + 1]!)) [subs[i], subs[i + 1]] = doCoalesce(subs[i]!, subs[i + 1]!);
  }
  return node('concat', re.flags, { subs: subs.filter((s) => s.op !== 'empty') });
}

const isRepeatOp = (n: Node): boolean => n.op === 'star' || n.op === 'plus' || n.op === 'quest' || n.op === 'repeat';
const isCharOp = (n: Node): boolean => n.op === 'literal' || n.op === 'class' || n.op === 'anychar' || n.op === 'anybyte';

function canCoalesce(r1: Node, r2: Node): boolean {
  if (!isRepeatOp(r1) || !isCharOp(r1.subs[0]!)) return false;
  const s1 = r1.subs[0]!;
  if (isRepeatOp(r2) && equal(s1, r2.subs[0]!) && (r1.flags & Flag.NonGreedy) === (r2.flags & Flag.NonGreedy)) return true;
  if (equal(s1, r2)) return true;
  return s1.op === 'literal' && r2.op === 'string' && r2.runes[0] === s1.runes[0] &&
    (s1.flags & Flag.FoldCase) === (r2.flags & Flag.FoldCase);
}

function doCoalesce(r1: Node, r2: Node): [Node, Node] {
  let min = r1.op === 'plus' ? 1 : r1.op === 'repeat' ? r1.min : 0;
  let max = r1.op === 'quest' ? 1 : r1.op === 'repeat' ? r1.max : -1;
  const empty = node('empty', 0);
  const made = (): Node => node('repeat', r1.flags, { subs: [r1.subs[0]!], min, max });
  switch (r2.op) {
    case 'star':
      max = -1;
      return [empty, made()];
    case 'plus':
      min++;
      max = -1;
      return [empty, made()];
    case 'quest':
      if (max !== -1) max++;
      return [empty, made()];
    case 'repeat':
      min += r2.min;
      if (r2.max === -1) max = -1;
      else if (max !== -1) max += r2.max;
      return [empty, made()];
    case 'string': {
      const r = r1.subs[0]!.runes[0];
      let n = 1;
      while (n < r2.runes.length && r2.runes[n] === r) n++;
      min += n;
      if (max !== -1) max += n;
      if (n === r2.runes.length) return [empty, made()];
      return [made(), literalString(r2.runes.slice(n), r2.flags)];
    }
    default: // literal, class, any char or byte
      min++;
      if (max !== -1) max++;
      return [empty, made()];
  }
}

function simplifyWalk(re: Node): Node {
  switch (re.op) {
    case 'concat':
    case 'alternate':
    case 'capture':
      return rebuilt(re, re.subs.map(simplifyWalk));
    case 'star':
    case 'plus':
    case 'quest': {
      const sub = simplifyWalk(re.subs[0]!);
      if (sub.op === 'empty') return sub;
      if (sub === re.subs[0]) return re;
      if (re.op === sub.op && re.flags === sub.flags) return sub;
      return { ...re, subs: [sub] };
    }
    case 'repeat': {
      const sub = simplifyWalk(re.subs[0]!);
      if (sub.op === 'empty') return sub;
      return simplifyRepeat(sub, re.min, re.max, re.flags);
    }
    case 'class': {
      const size = classSize(re.ranges);
      if (size === 0) return node('nomatch', re.flags);
      if (size === RUNE_MAX + 1) return node('anychar', re.flags);
      return re;
    }
    default:
      return re;
  }
}

/** Regexp::Star/Plus/Quest: squash a repeat of a repeat with the same flags. */
function starPlusOrQuest(op: 'star' | 'plus' | 'quest', sub: Node, flags: number): Node {
  if (op === sub.op && flags === sub.flags) return sub;
  if ((sub.op === 'star' || sub.op === 'plus' || sub.op === 'quest') && flags === sub.flags) {
    return sub.op === 'star' ? sub : node('star', flags, { subs: [sub.subs[0]!] });
  }
  return node(op, flags, { subs: [sub] });
}

const isEmptyOp = (n: Node): boolean =>
  n.op === 'bol' || n.op === 'eol' || n.op === 'wordb' || n.op === 'nowordb' || n.op === 'bot' || n.op === 'eot';

function concatN(subs: Node[], flags: number): Node {
  return subs.length === 1 ? subs[0]! : node('concat', flags, { subs });
}

function simplifyRepeat(re: Node, min: number, max: number, f: number): Node {
  if (isEmptyOp(re) || ((re.op === 'concat' || re.op === 'alternate') && re.subs.every(isEmptyOp))) {
    min = Math.min(min, 1);
    max = Math.min(max, 1);
  }
  if (max === -1) {
    if (min === 0) return starPlusOrQuest('star', re, f);
    if (min === 1) return starPlusOrQuest('plus', re, f);
    return concatN([...Array<Node>(min - 1).fill(re), starPlusOrQuest('plus', re, f)], f);
  }
  if (min === 0 && max === 0) return node('empty', f);
  if (min === 1 && max === 1) return re;
  let out: Node | undefined = min > 0 ? concatN(Array<Node>(min).fill(re), f) : undefined;
  if (max > min) {
    let suf = starPlusOrQuest('quest', re, f);
    for (let i = min + 1; i < max; i++) suf = starPlusOrQuest('quest', node('concat', f, { subs: [re, suf] }), f);
    out = out === undefined ? suf : node('concat', f, { subs: [out, suf] });
  }
  return out ?? node('nomatch', f);
}

/** RE2::Init's RequiredPrefix: `^` anchors then a literal are matched outside the program. */
export function requiredPrefixSuffix(re: Node): Node {
  if (re.op !== 'concat') return re;
  let i = 0;
  while (i < re.subs.length && re.subs[i]!.op === 'bot') i++;
  if (i === 0 || i >= re.subs.length) return re;
  const lit = re.subs[i]!;
  if (lit.op !== 'literal' && lit.op !== 'string') return re;
  const rest = re.subs.slice(i + 1);
  return rest.length > 0 ? concatN(rest, re.flags) : node('empty', re.flags);
}

/** IsAnchorStart / IsAnchorEnd: remove a leading \A (trailing \z) reachable through concats and captures. */
export function stripAnchor(re: Node, which: 'bot' | 'eot', depth = 0): Node | undefined {
  if (depth >= 4) return undefined;
  if (re.op === which) return node('empty', re.flags);
  if (re.op === 'capture') {
    const sub = stripAnchor(re.subs[0]!, which, depth + 1);
    return sub && { ...re, subs: [sub] };
  }
  if (re.op === 'concat' && re.subs.length > 0) {
    const at = which === 'bot' ? 0 : re.subs.length - 1;
    const sub = stripAnchor(re.subs[at]!, which, depth + 1);
    if (!sub) return undefined;
    const subs = [...re.subs];
    subs[at] = sub;
    return concatN(subs, re.flags);
  }
  return undefined;
}
