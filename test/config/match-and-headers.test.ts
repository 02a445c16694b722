import { describe, expect, it } from 'vitest';
import { configOf, errorsOf, expectOnlyError, sticky } from './helpers';

const R = 'services[0].routes[0]';

function withMatch(match: unknown) {
  return sticky((c) => (c.services[0]!.routes[0]!.match = match));
}
function withHeaders(headers: unknown, onBackend = false) {
  return sticky((c) => {
    if (onBackend) c.services[0]!.routes[0]!.backends[0]!.headers = headers;
    else c.services[0]!.routes[0]!.headers = headers;
  });
}

describe('route match', () => {
  it('header matchers: exactly one kind', () => {
    expect(errorsOf(withMatch({ headers: { userhash: { prefix: '101', exact: 'x' }, other: { invert: true } } }))).toEqual([
      {
        path: `${R}.match.headers.userhash`,
        message: 'a header matcher takes only one of exact, prefix, suffix, contains, regex, range, present (found exact and prefix)',
      },
      { path: `${R}.match.headers.other`, message: 'a header matcher needs one of: exact, prefix, suffix, contains, regex, range, present' },
    ]);
  });

  it('ignoreCase is refused with range, present and regex', () => {
    expect(
      errorsOf(
        withMatch({
          headers: {
            a: { range: { start: 1, end: 5 }, ignoreCase: true },
            b: { present: true, ignoreCase: true },
            c: { regex: 'x.*', ignoreCase: true },
            d: { exact: 'x', ignoreCase: true },
          },
        }),
      ),
    ).toEqual([
      { path: `${R}.match.headers.a.ignoreCase`, message: 'cannot be used with range' },
      { path: `${R}.match.headers.b.ignoreCase`, message: 'cannot be used with present' },
      { path: `${R}.match.headers.c.ignoreCase`, message: 'cannot be used with regex; start the regex with (?i) instead' },
    ]);
  });

  it('range start must be below end', () => {
    expectOnlyError(
      withMatch({ headers: { n: { range: { start: 5, end: 5 } } } }),
      `${R}.match.headers.n.range.end`,
      'must be greater than start (the range is [start, end))',
    );
  });

  it('regexes must compile and avoid what RE2 lacks', () => {
    expect(errorsOf(withMatch({ regex: '/a(b', headers: { x: { regex: '(?=a)b' }, y: { regex: '(a)\\1' } } }))).toEqual([
      { path: `${R}.match.regex`, message: 'invalid regex (RE2): missing ): /a(b' },
      {
        path: `${R}.match.headers.x.regex`,
        message: 'invalid regex (RE2): invalid perl operator: (?= (RE2, the regex engine Envoy uses, has no lookahead or lookbehind)',
      },
      {
        path: `${R}.match.headers.y.regex`,
        message: 'invalid regex (RE2): invalid escape sequence: \\1 (RE2, the regex engine Envoy uses, has no backreferences)',
      },
    ]);
  });

  it('RE2-only syntax is accepted', () => {
    const config = configOf(withMatch({ regex: '(?i)/API/.*', headers: { v: { regex: '(?P<major>\\d+)\\..*' } } }));
    expect(config.services[0]!.routes[0]!.match.path).toEqual({ regex: '(?i)/API/.*' });
  });

  it('one path matcher at most, and it starts with /', () => {
    expectOnlyError(withMatch({ prefix: '/a', exact: '/b' }), `${R}.match`, 'takes only one of prefix, exact, regex (found prefix and exact)');
    expectOnlyError(withMatch({ prefix: 'api' }), `${R}.match.prefix`, "must start with '/'");
  });

  it('empty prefix/suffix/contains are refused (Envoy requires min_len 1), empty exact is fine', () => {
    expectOnlyError(withMatch({ headers: { a: { prefix: '' } } }), `${R}.match.headers.a.prefix`, 'must not be empty');
    expect(configOf(withMatch({ headers: { a: { exact: '' } } })).services[0]!.routes[0]!.match.headers).toEqual([
      { name: 'a', invert: false, ignoreCase: false, exact: '' },
    ]);
  });

  it('invalid header names in matchers', () => {
    expect(errorsOf(withMatch({ headers: { 'bad header': { present: true }, ':bogus': { present: true } } }))).toEqual([
      { path: `${R}.match.headers["bad header"]`, message: "invalid header name 'bad header' (letters, digits and !#$%&'*+-.^_`|~ only)" },
      { path: `${R}.match.headers[":bogus"]`, message: "unknown pseudo-header ':bogus'" },
    ]);
  });

  it('query parameters: no range/invert, present must be true', () => {
    expect(errorsOf(withMatch({ queryParams: { a: { present: false }, b: { exact: '1', invert: true } } }))).toEqual([
      { path: `${R}.match.queryParams.a.present`, message: 'must be true (Envoy before 1.36 reads present: false as present)' },
      { path: `${R}.match.queryParams.b`, message: "unknown field 'invert'" },
    ]);
  });

  it('Istio uri block gets a hint', () => {
    expectOnlyError(withMatch({ uri: { prefix: '/' } }), `${R}.match`, "unknown field 'uri'; put prefix, exact or regex directly under match");
  });
});

describe('header operations', () => {
  it('pseudo-headers and Host outside request.set are errors', () => {
    expect(
      errorsOf(
        withHeaders({
          request: { set: { ':path': '/x' }, add: { Host: 'a' }, remove: [':method', 'host'] },
          response: { set: { Host: 'b' } },
        }),
      ),
    ).toEqual([
      { path: `${R}.headers.request.set[":path"]`, message: "pseudo-header ':path' cannot be changed" },
      { path: `${R}.headers.request.add.Host`, message: 'Host cannot be changed with add; use request.set.Host to rewrite it' },
      { path: `${R}.headers.request.remove[0]`, message: "pseudo-header ':method' cannot be changed" },
      { path: `${R}.headers.request.remove[1]`, message: 'host cannot be changed with remove; use request.set.Host to rewrite it' },
      { path: `${R}.headers.response.set.Host`, message: 'Host is a request header and cannot be changed in responses' },
    ]);
  });

  it('header names case-insensitively unique; Host and :authority are the same header', () => {
    expect(errorsOf(withHeaders({ request: { set: { 'X-A': '1', 'x-a': '2', Host: 'a', ':authority': 'b' } } }, true))).toEqual([
      { path: `${R}.backends[0].headers.request.set.x-a`, message: "duplicates 'X-A' (header names are case-insensitive)" },
      { path: `${R}.backends[0].headers.request.set[":authority"]`, message: "duplicates 'Host' (header names are case-insensitive)" },
    ]);
  });

  it("values: a lone '%' would be NACKed by Envoy; '%%' and %VAR% are fine", () => {
    expectOnlyError(
      withHeaders({ response: { set: { discount: '50%' } } }),
      `${R}.headers.response.set.discount`,
      "has an unmatched '%' (write %% for a literal percent sign; %NAME% inserts an Envoy variable)",
    );
    configOf(withHeaders({ response: { set: { discount: '50%%', 'x-peer': '%DOWNSTREAM_REMOTE_ADDRESS%' } } }));
  });

  it('empty host rewrite is an error', () => {
    expectOnlyError(withHeaders({ request: { set: { Host: '' } } }), `${R}.headers.request.set.Host`, 'host rewrite must not be empty');
  });

  it('Host in request.set becomes hostRewrite at route and backend level; names are lower-cased', () => {
    const config = configOf(
      sticky((c) => {
        const route = c.services[0]!.routes[0]!;
        route.headers = { request: { set: { HOST: 'route.internal', 'X-Route': 'r' } }, response: { add: { 'X-Served-By': 'tether' } } };
        route.backends[0]!.headers = {
          request: { set: { ':authority': 'shop-v1.internal' }, remove: ['X-Debug'] },
          response: { set: { Version: 'v1' } },
        };
      }),
    );
    const route = config.services[0]!.routes[0]!;
    expect(route.hostRewrite).toBe('route.internal');
    expect(route.requestHeaders).toEqual({ set: [{ name: 'x-route', value: 'r' }], add: [], remove: [] });
    expect(route.responseHeaders).toEqual({ set: [], add: [{ name: 'x-served-by', value: 'tether' }], remove: [] });
    expect(route.backends[0]).toEqual({
      backend: 'shop-v1',
      weight: 1,
      hostRewrite: 'shop-v1.internal',
      requestHeaders: { set: [], add: [], remove: ['x-debug'] },
      responseHeaders: { set: [{ name: 'version', value: 'v1' }], add: [], remove: [] },
    });
  });
});
