/**
 * RE2 refuses a counted repetition ({n}, {n,}, {n,m}) whose count is over 1000, and also
 * nested ones whose counts multiply to more than 1000 (`(a{100}){20}`): "invalid repetition
 * size". JavaScript accepts both, so without this check such a regex passed validation and
 * Envoy NACKed the route configuration (measured on Envoy 1.40, see
 * test/envoy-real/nack.test.ts). The count of {n,m} is m, of {n,} n, as in RE2.
 *
 * Expects a pattern that already compiles (as a JavaScript regex, after the RE2 rewrites of
 * regex-check.ts); a bracket it cannot pair is left to that check.
 */
export const RE2_MAX_REPEAT = 1000;

const COUNTED = /^\{(\d+)(?:(,)(\d*))?\}/;

/** End (exclusive) of the character class opening at `start`. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ']' is a literal
  while (i < p.length && p[i] !== ']') {
    if (p[i] === '\\') i += 2;
    else if (p.startsWith('[:', i)) i = p.indexOf(':]', i + 2) < 0 ? i + 1 : p.indexOf(':]', i + 2) + 2;
    else i++;
  }
  return i + 1;
}

/** End (exclusive) of the escape at `start` (`\x`, `\x{…}`, `\p{…}`, `\Q…\E`). */
function escapeEnd(p: string, start: number): number {
  const c = p[start + 1];
  if (c === 'Q') {
    const end = p.indexOf('\\E', start + 2);
    return end < 0 ? p.length : end + 2;
  }
  if ((c === 'x' || c === 'p' || c === 'P') && p[start + 2] === '{') {
    const end = p.indexOf('}', start + 3);
    return end < 0 ? p.length : end + 1;
  }
  return start + 2;
}

/** A message when the pattern's counted repetitions exceed RE2's limit; undefined if they do not. */
export function repetitionProblem(pattern: string): string | undefined {
  // Per open group: the largest product of counts inside it so far.
  const groups: number[] = [1];
  // The product inside the atom just read (1 for a plain atom), for a count that follows it.
  let atom = 1;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      i = escapeEnd(pattern, i);
      atom = 1;
    } else if (c === '[') {
      i = classEnd(pattern, i);
      atom = 1;
    } else if (c === '(') {
      groups.push(1);
      i++;
      atom = 1;
    } else if (c === ')') {
      atom = groups.length > 1 ? groups.pop()! : 1;
      groups[groups.length - 1] = Math.max(groups[groups.length - 1]!, atom);
      i++;
    } else if (c === '{' && COUNTED.test(pattern.slice(i))) {
      const m = COUNTED.exec(pattern.slice(i))!;
      const count = Number(m[2] && m[3] ? m[3] : m[1]);
      const repetition = m[0];
      if (count > RE2_MAX_REPEAT) return `repetition ${repetition} is over RE2's limit of ${RE2_MAX_REPEAT} (Envoy would reject the route configuration)`;
      const product = atom * count;
      if (product > RE2_MAX_REPEAT) {
        return `nested repetitions multiply to ${product} (${repetition} around a group repeated ${atom} times), over RE2's limit of ${RE2_MAX_REPEAT} (Envoy would reject the route configuration)`;
      }
      groups[groups.length - 1] = Math.max(groups[groups.length - 1]!, product);
      atom = product;
      i += repetition.length;
    } else {
      // '*', '+' and '?' repeat without a count; anything else is a new atom.
      if (c !== '*' && c !== '+' && c !== '?') atom = 1;
      i++;
    }
  }
  return undefined;
}
