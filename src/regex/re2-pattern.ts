import { Flag, type Node } from './re2-node';

/**
 * Writes a parsed Latin-1 regex back out as an RE2 pattern with the same meaning under RE2's
 * UTF-8 mode (the only mode re2-wasm offers) when the text is given one character per byte:
 * every rune is spelled \x{..} (so no character is ever case-folded beyond what the tree
 * says: Latin-1 mode folds only ASCII letters), case-folded ASCII letters become [Xx], and
 * `.`, \C and the anchors get their explicit forms.
 */
export function toUtf8Pattern(re: Node): string {
  const out: string[] = [];
  write(re, out);
  return out.join('');
}

const NOTHING = '[^\\x00-\\x{10FFFF}]';

function rune(r: number): string {
  return `\\x{${r.toString(16)}}`;
}

function literal(r: number, fold: boolean): string {
  if (fold && ((r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a))) {
    const lower = r | 0x20;
    return `[${rune(lower - 32)}${rune(lower)}]`;
  }
  return rune(r);
}

function group(re: Node, out: string[]): void {
  out.push('(?:');
  write(re, out);
  out.push(')');
}

function write(re: Node, out: string[]): void {
  const lazy = re.flags & Flag.NonGreedy ? '?' : '';
  switch (re.op) {
    case 'nomatch': out.push(NOTHING); return;
    case 'empty': out.push('(?:)'); return;
    case 'literal':
    case 'string':
      for (const r of re.runes) out.push(literal(r, (re.flags & Flag.FoldCase) !== 0));
      return;
    case 'concat':
      for (const sub of re.subs) group(sub, out);
      return;
    case 'alternate':
      out.push('(?:');
      re.subs.forEach((sub, i) => {
        if (i > 0) out.push('|');
        group(sub, out);
      });
      out.push(')');
      return;
    case 'capture':
      group(re.subs[0]!, out);
      return;
    case 'star':
    case 'plus':
    case 'quest':
      group(re.subs[0]!, out);
      out.push(re.op === 'star' ? '*' : re.op === 'plus' ? '+' : '?', lazy);
      return;
    case 'repeat':
      group(re.subs[0]!, out);
      out.push(re.max === re.min ? `{${re.min}}` : `{${re.min},${re.max < 0 ? '' : re.max}}`, lazy);
      return;
    case 'class':
      if (re.ranges.length === 0) out.push(NOTHING);
      else out.push('[', ...re.ranges.map(([lo, hi]) => (lo === hi ? rune(lo) : `${rune(lo)}-${rune(hi)}`)), ']');
      return;
    // One byte is one character here, so "any byte" and "any character" are the same.
    case 'anychar':
    case 'anybyte': out.push('(?s:.)'); return;
    case 'bol': out.push('(?m:^)'); return;
    case 'eol': out.push('(?m:$)'); return;
    case 'bot': out.push('\\A'); return;
    case 'eot': out.push('\\z'); return;
    case 'wordb': out.push('\\b'); return;
    case 'nowordb': out.push('\\B'); return;
  }
}
