/**
 * docs/demo.md as a test script. Fenced blocks whose info string has the word `test` are run,
 * in order, in one shell:
 *   ```sh test        the block is one step; it must exit 0; its output is not checked
 *   ```console test   each `$ command` line is a step; the lines after it are its expected output
 *   … eventually      (extra word) a step is retried until its output matches
 * Expected output is matched line by line after trimming and collapsing blank space: `…` stands
 * for any text within a line, a line of just `…` for any number of lines, `≈N` for an integer
 * within 4·√N + 3 of N.
 */

export interface DocStep {
  /** Shell text to run. */
  command: string;
  /** Expected output lines; undefined: not checked (only the exit status). */
  expected?: string[];
  eventually: boolean;
  /** 1-based line of the command in the document. */
  line: number;
}

const FENCE = /^```(\S*)\s*(.*)$/;

export function docSteps(markdown: string): DocStep[] {
  const steps: DocStep[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open || open[1] === '') continue;
    const words = open[2]!.split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (end === lines.length) throw new Error(`line ${i + 1}: unclosed code block`);
    const body = lines.slice(start, end);
    i = end;
    if (!words.includes('test')) continue;
    const eventually = words.includes('eventually');
    if (open[1] === 'sh') {
      steps.push({ command: body.join('\n'), eventually, line: start + 1 });
    } else if (open[1] === 'console') {
      let current: DocStep | undefined;
      body.forEach((text, k) => {
        if (text.startsWith('$ ')) steps.push((current = { command: text.slice(2), expected: [], eventually, line: start + k + 1 }));
        else if (!current) throw new Error(`line ${start + k + 1}: output before the first $ command`);
        else current.expected!.push(text);
      });
    } else {
      throw new Error(`line ${start}: a test block must be sh or console, not ${open[1]}`);
    }
  }
  return steps;
}

function normalize(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

const TOKEN = /…|≈(\d+)/g;

/** Whether one output line matches one expected line. */
export function lineMatches(pattern: string, line: string): boolean {
  const p = normalize(pattern);
  const approx: number[] = [];
  let source = '';
  let last = 0;
  for (const m of p.matchAll(TOKEN)) {
    source += escape(p.slice(last, m.index));
    if (m[0] === '…') source += '.*?';
    else {
      approx.push(Number(m[1]));
      source += '(\\d+)';
    }
    last = m.index! + m[0].length;
  }
  source += escape(p.slice(last));
  const m = new RegExp(`^${source}$`).exec(normalize(line));
  if (!m) return false;
  return approx.every((n, k) => Math.abs(Number(m[k + 1]) - n) <= 4 * Math.sqrt(n) + 3);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether the output lines match the expected ones (a line of `…` matches any run of lines). */
export function outputMatches(expected: readonly string[], actual: readonly string[]): boolean {
  const match = (e: number, a: number): boolean => {
    if (e === expected.length) return a === actual.length;
    if (normalize(expected[e]!) === '…') {
      for (let k = a; k <= actual.length; k++) if (match(e + 1, k)) return true;
      return false;
    }
    return a < actual.length && lineMatches(expected[e]!, actual[a]!) && match(e + 1, a + 1);
  };
  return match(0, 0);
}

/** Output as lines: trailing blank lines dropped. */
export function outputLines(text: string): string[] {
  const lines = text.split('\n');
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  return lines;
}
