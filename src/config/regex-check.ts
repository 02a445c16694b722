import { repetitionProblem } from './regex-repeat';

/**
 * Envoy and gRPC compile regexes with RE2; Node has no RE2, so this approximates it with
 * JS RegExp after two adjustments in each direction: RE2-only syntax that JS rejects
 * ("(?i)", "(?P<name>") is rewritten first, and JS-only features that RE2 rejects
 * (lookaround, backreferences) are refused outright, and so are counted repetitions past
 * RE2's limit (regex-repeat.ts). Anything subtler is left to Envoy, which NACKs a route whose
 * regex fails to compile (or whose RE2 program is over re2.max_program_size, 100 by default).
 */
export function checkRegex(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (/\(\?<?[=!]/.test(pattern)) {
    return 'lookahead/lookbehind is not supported by RE2 (the regex engine Envoy uses)';
  }
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(pattern) || /\\k</.test(pattern)) {
    return 'backreferences are not supported by RE2 (the regex engine Envoy uses)';
  }
  const jsPattern = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsU]+\)/g, '')
    .replace(/\(\?[imsU]*(?:-[imsU]+)?:/g, '(?:');
  try {
    new RegExp(jsPattern);
  } catch (err) {
    // V8 echoes the pattern ("Invalid regular expression: /(/: Unterminated group"); keep the reason.
    const detail = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : '';
    return `invalid regex: ${detail}`;
  }
  return repetitionProblem(pattern);
}
