/**
 * A compact unified diff of two texts, line by line, for showing how one Envoy resource
 * changes. Myers' O((N+M)·D) shortest edit script: resources run to a few thousand lines and
 * an edit usually touches a few, so D is small. Common leading and trailing lines are
 * trimmed first; a middle needing more than MAX_EDITS edits is shown as replaced wholesale.
 */

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

const MAX_EDITS = 2000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** Shortest edit script a → b as ' ', '-' and '+' kinds (removals first in a changed block), or undefined beyond MAX_EDITS. */
function myers(a: string[], b: string[]): Array<Op['kind']> | undefined {
  const n = a.length;
  const m = b.length;
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  /** trace[d]: v[k] for k in [-d, d] as it was before step d. */
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(n + m, MAX_EDITS) && found < 0; d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return undefined;

  const kinds: Array<Op['kind']> = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const before = trace[d]!; // index k + d
    const at = (k: number) => before[k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      kinds.push(' ');
      x--;
      y--;
    }
    if (x === prevX) {
      kinds.push('+');
      y--;
    } else {
      kinds.push('-');
      x--;
    }
  }
  while (x > 0 && y > 0) {
    kinds.push(' ');
    x--;
    y--;
  }
  return kinds.reverse();
}

function editScript(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const middle = myers(midA, midB) ?? [...midA.map(() => '-' as const), ...midB.map(() => '+' as const)];

  const ops: Op[] = [];
  let ia = 0;
  let ib = 0;
  const push = (kind: Op['kind']) => {
    const text = kind === '+' ? b[ib]! : a[ia]!;
    ops.push({ kind, text, a: ia, b: ib });
    if (kind !== '+') ia++;
    if (kind !== '-') ib++;
  };
  for (let i = 0; i < head; i++) push(' ');
  for (const kind of middle) push(kind);
  for (let i = 0; i < tail; i++) push(' ');
  return ops;
}

function range(start: number, count: number): string {
  // Unified diff convention: an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? `${first}` : `${first},${count}`;
}

/**
 * `--- from` / `+++ to` and `@@` hunks with `context` unchanged lines around each change;
 * '' when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }, context = 3): string {
  const ops = editScript(splitLines(before), splitLines(after));
  const groups: Array<[number, number]> = [];
  ops.forEach((op, i) => {
    if (op.kind === ' ') return;
    const start = Math.max(0, i - context);
    const end = Math.min(ops.length, i + context + 1);
    const last = groups[groups.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else groups.push([start, end]);
  });
  if (groups.length === 0) return '';

  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (const [start, end] of groups) {
    const hunk = ops.slice(start, end);
    const countA = hunk.filter((o) => o.kind !== '+').length;
    const countB = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(hunk[0]!.a, countA)} +${range(hunk[0]!.b, countB)} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.text}`);
  }
  return `${out.join('\n')}\n`;
}
