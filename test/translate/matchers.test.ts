import { describe, expect, it } from 'vitest';
import { translate, translateWithWarnings } from '../../src/translate';
import type { HeaderMatchSpec, RouteMatchSpec } from '../../src/model/types';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';

function match(spec: Partial<RouteMatchSpec>, kind: 'envoy' | 'grpc' = 'envoy') {
  const m: RouteMatchSpec = { path: { prefix: '/' }, headers: [], queryParams: [], ...spec };
  const out = translate(config([service('s', [route('r', [backendRef('b')], { match: m })])], [backend('b')]), noEndpoints, kind);
  return out.routes[0]!.virtual_hosts![0]!.routes![0]?.match;
}

const h = (extra: Partial<HeaderMatchSpec> & object): HeaderMatchSpec => ({ name: 'x', invert: false, ignoreCase: false, ...extra }) as HeaderMatchSpec;

describe('regexes for gRPC clients', () => {
  // grpc-js-xds matches RE2(`^${regex}$`): a top-level alternation needs a group there.
  it('a top-level alternation is grouped for gRPC nodes only, in paths and headers', () => {
    const spec = { path: { regex: '/a|/b' }, headers: [h({ regex: 'x|y', ignoreCase: true })] };
    expect(match(spec, 'grpc')).toEqual({
      safe_regex: { regex: '(?:/a|/b)' },
      headers: [{ name: 'x', string_match: { safe_regex: { regex: '(?:(?i)x|y)' } } }],
    });
    expect(match(spec, 'envoy')).toEqual({
      safe_regex: { regex: '/a|/b' },
      headers: [{ name: 'x', string_match: { safe_regex: { regex: '(?i)x|y' } } }],
    });
  });

  it('left alone when the bar is inside a group, a class, an escape or \\Q…\\E', () => {
    for (const regex of ['/(a|b)', '/[a|b]', '/a\\|b', '/\\Qa|b\\E', '/(?:a|b)c', '[]|]x']) {
      expect(match({ path: { regex } }, 'grpc')?.safe_regex?.regex, regex).toBe(regex);
    }
  });
});

describe('path matching', () => {
  it('prefix, exact and regex', () => {
    expect(match({ path: { prefix: '/api' } })).toEqual({ prefix: '/api' });
    expect(match({ path: { exact: '/healthz' } })).toEqual({ path: '/healthz' });
    expect(match({ path: { regex: '/v[0-9]+/.*' } })).toEqual({ safe_regex: { regex: '/v[0-9]+/.*' } });
  });
});

describe('header matchers', () => {
  it('string matchers use string_match, with ignore_case when asked', () => {
    expect(match({ headers: [h({ exact: 'a' })] })?.headers).toEqual([{ name: 'x', string_match: { exact: 'a' } }]);
    expect(match({ headers: [h({ prefix: '101', ignoreCase: true })] })?.headers).toEqual([
      { name: 'x', string_match: { prefix: '101', ignore_case: true } },
    ]);
    expect(match({ headers: [h({ suffix: 'z' })] })?.headers?.[0]?.string_match).toEqual({ suffix: 'z' });
    expect(match({ headers: [h({ contains: 'mid' })] })?.headers?.[0]?.string_match).toEqual({ contains: 'mid' });
  });

  it('regex: ignoreCase becomes RE2 (?i), since ignore_case does nothing for safe_regex', () => {
    expect(match({ headers: [h({ regex: 'ab+' })] })?.headers?.[0]?.string_match).toEqual({ safe_regex: { regex: 'ab+' } });
    expect(match({ headers: [h({ regex: 'ab+', ignoreCase: true })] })?.headers?.[0]?.string_match).toEqual({ safe_regex: { regex: '(?i)ab+' } });
  });

  it('range → int64 strings', () => {
    expect(match({ headers: [h({ range: { start: -5, end: 100 } })] })?.headers).toEqual([{ name: 'x', range_match: { start: '-5', end: '100' } }]);
  });

  it('present / absent → present_match true, absence by inversion (portable to grpc-js-xds)', () => {
    expect(match({ headers: [h({ present: true })] })?.headers).toEqual([{ name: 'x', present_match: true }]);
    expect(match({ headers: [h({ present: false })] })?.headers).toEqual([{ name: 'x', present_match: true, invert_match: true }]);
    expect(match({ headers: [h({ present: false, invert: true })] })?.headers).toEqual([{ name: 'x', present_match: true }]);
  });

  it('invert_match', () => {
    expect(match({ headers: [h({ exact: 'bot', invert: true })] })?.headers).toEqual([{ name: 'x', string_match: { exact: 'bot' }, invert_match: true }]);
  });

  it('an empty prefix/suffix/contains (refused by Envoy validation) means "present"', () => {
    expect(match({ headers: [h({ prefix: '' })] })?.headers).toEqual([{ name: 'x', present_match: true }]);
    expect(match({ headers: [h({ contains: '', invert: true })] })?.headers).toEqual([{ name: 'x', present_match: true, invert_match: true }]);
  });
});

describe('query parameter matchers', () => {
  const queryParams = [
    { name: 'user', exact: 'alice' },
    { name: 'debug', present: true },
    { name: 'legacy', present: false },
    { name: 'q', regex: 'a.*' },
  ] as RouteMatchSpec['queryParams'];

  it('Envoy: string_match or present_match', () => {
    expect(match({ queryParams })?.query_parameters).toEqual([
      { name: 'user', string_match: { exact: 'alice' } },
      { name: 'debug', present_match: true },
      { name: 'legacy', present_match: false },
      { name: 'q', string_match: { safe_regex: { regex: 'a.*' } } },
    ]);
  });

  it('gRPC: the whole route is left out (gRFC A28: it never matches), with a warning', () => {
    const cfg = config(
      [service('s', [route('by-query', [backendRef('b')], { match: { path: { prefix: '/' }, headers: [], queryParams } }), route('rest', [backendRef('b')])])],
      [backend('b')],
    );
    const { resources, warnings } = translateWithWarnings(cfg, noEndpoints, 'grpc');
    const routes = resources.routes[0]!.virtual_hosts![0]!.routes!;
    expect(routes.map((r) => r.name)).toEqual(['rest']);
    expect(routes.some((r) => r.match?.query_parameters)).toBe(false);
    expect(warnings).toEqual([{ path: 'services[s].routes[by-query].match.queryParams', message: expect.stringContaining('no query string') }]);
  });
});
