import { describe, expect, it } from 'vitest';
import { repetitionProblem } from '../../src/config/regex-repeat';
import { errorsOf, sticky } from './helpers';

describe("counted repetitions past RE2's limit", () => {
  it('refuses a count over 1000, alone or as the upper bound or the minimum', () => {
    // Each of these is NACKed by Envoy 1.40 with "invalid repetition size" (test/envoy-real/nack.test.ts).
    expect(repetitionProblem('a{1001}')).toBe("repetition {1001} is over RE2's limit of 1000 (Envoy would reject the route configuration)");
    expect(repetitionProblem('/x/a{2,1001}')).toMatch(/^repetition \{2,1001\} is over/);
    expect(repetitionProblem('a{1001,}')).toMatch(/^repetition \{1001,\} is over/);
  });

  it('refuses nested counts that multiply past 1000', () => {
    expect(repetitionProblem('(a{100}){20}')).toBe(
      "nested repetitions multiply to 2000 ({20} around a group repeated 100 times), over RE2's limit of 1000 (Envoy would reject the route configuration)",
    );
    expect(repetitionProblem('(?:x(a{10})y){101}')).toMatch(/multiply to 1010/);
    expect(repetitionProblem('((a{2}){2}){251}')).toMatch(/multiply to 1004/);
  });

  it('accepts counts within the limit, and braces that are not counts', () => {
    for (const ok of ['a{1000}', '(a{10}){100}', '(a{100})(b{10}){10}', '[a{1001}]', '[]a{5000}]', '\\{1001}', 'a{1001', 'a{,1001}', '\\x{41}{999}', '\\p{Greek}{3}', '\\Qa{1001}\\E', '[[:alpha:]]{1000}']) {
      expect(repetitionProblem(ok), ok).toBeUndefined();
    }
  });

  it('is part of config validation, at the regex field', () => {
    const config = sticky((c) => (c.services[0]!.routes[0]!.match = { regex: '/a{1001}', headers: { x: { regex: '(b{50}){50}' } } }));
    expect(errorsOf(config)).toEqual([
      { path: 'services[0].routes[0].match.regex', message: "repetition {1001} is over RE2's limit of 1000 (Envoy would reject the route configuration)" },
      {
        path: 'services[0].routes[0].match.headers.x.regex',
        message: "nested repetitions multiply to 2500 ({50} around a group repeated 50 times), over RE2's limit of 1000 (Envoy would reject the route configuration)",
      },
    ]);
  });
});
