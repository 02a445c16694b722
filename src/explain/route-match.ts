/**
 * Route matching over a virtual host's routes as served (wire form), the way each kind of
 * client does it: the first route whose path, header and query-parameter matchers all hold.
 *
 * Facts relied on, Envoy (source/common/router/config_impl.cc, source/common/http/header_utility.cc):
 * - prefix / path / safe_regex match the :path without its query string and fragment;
 *   `case_sensitive` (default true) applies to prefix and path; safe_regex must match the whole path.
 * - A header matcher reads every value of the header joined with ","; a header that is absent
 *   fails every matcher except `present_match: false`, inverted or not (unless
 *   `treat_missing_header_as_empty`, which matches "" instead); `invert_match` flips the result
 *   for a present header; `range_match` is [start, end) on the integer value.
 * - Query parameters: the raw (not percent-decoded) first value of the name; `present_match`
 *   says present (true) or absent (false).
 *
 * grpc-js-xds 1.14.1 (build/src/matcher.js, route.js): the same path and string matchers; a
 * header that is absent, or named "*-bin", fails the value matcher and `invert_match` then
 * makes it match; `content-type` always reads "application/grpc"; `present_match` means present
 * whatever its value; query parameters are not evaluated (Tether leaves such routes out for it).
 *
 * Regexes run on RE2 itself (src/regex): Envoy's full match in its Latin-1 mode, and for gRPC
 * clients grpc-js-xds's own re2-wasm call. Linear time: no pattern can stall explain.
 */
import type { Flavour } from '../affinity';
import type { HeaderMatcher__Output } from '../generated/envoy/config/route/v3/HeaderMatcher';
import type { QueryParameterMatcher__Output } from '../generated/envoy/config/route/v3/QueryParameterMatcher';
import type { Route__Output } from '../generated/envoy/config/route/v3/Route';
import type { RouteMatch__Output } from '../generated/envoy/config/route/v3/RouteMatch';
import type { StringMatcher__Output } from '../generated/envoy/type/matcher/v3/StringMatcher';
import { fullMatch } from '../regex';

/** What a route is matched against. */
export interface MatchRequest {
  /** The :path, query string included or not. */
  path: string;
  headers: Readonly<Record<string, string | readonly string[]>>;
  /** Query parameter → raw first value. */
  query: Readonly<Record<string, string>>;
}

export interface RouteMatchOutcome {
  route: string;
  matched: boolean;
  /** The first matcher that failed, or a caveat on a match. */
  reason?: string;
}

export interface MatchResult {
  /** Index into the routes of the first match; -1 when none matched. */
  index: number;
  outcomes: RouteMatchOutcome[];
}

export function matchRoutes(routes: readonly Route__Output[], request: MatchRequest, flavour: Flavour): MatchResult {
  const outcomes: RouteMatchOutcome[] = [];
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    const failure = routeFailure(route.match, request, flavour);
    if (failure === undefined) {
      const caveat = caveatOf(route.match);
      outcomes.push({ route: route.name, matched: true, ...(caveat ? { reason: caveat } : {}) });
      return { index: i, outcomes };
    }
    outcomes.push({ route: route.name, matched: false, reason: failure });
  }
  return { index: -1, outcomes };
}

/** Why the route does not match, or undefined when it does. */
function routeFailure(match: RouteMatch__Output | null, request: MatchRequest, flavour: Flavour): string | undefined {
  if (!match) return 'the route has no match';
  const path = pathOnly(request.path);
  const pathFailure = pathMismatch(match, path, flavour);
  if (pathFailure) return pathFailure;
  for (const header of match.headers) {
    if (!headerMatches(header, request, flavour)) return `header ${describeHeader(header)}`;
  }
  if (flavour === 'envoy') {
    for (const param of match.query_parameters) {
      if (!queryMatches(param, request.query)) return `query parameter ${describeQuery(param)}`;
    }
  }
  return undefined;
}

function caveatOf(match: RouteMatch__Output | null): string | undefined {
  if (match?.runtime_fraction) return 'the route also has a runtime_fraction, not evaluated here';
  if (match?.dynamic_metadata.length) return 'the route also matches dynamic metadata, not evaluated here';
  return undefined;
}

export function pathOnly(path: string): string {
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

function pathMismatch(match: RouteMatch__Output, path: string, flavour: Flavour): string | undefined {
  const caseSensitive = match.case_sensitive?.value ?? true;
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  switch (match.path_specifier) {
    case 'prefix':
      return fold(path).startsWith(fold(match.prefix ?? '')) ? undefined : `path ${quote(path)} does not start with ${quote(match.prefix ?? '')}`;
    case 'path':
      return fold(path) === fold(match.path ?? '') ? undefined : `path ${quote(path)} is not ${quote(match.path ?? '')}`;
    case 'safe_regex': {
      const regex = match.safe_regex?.regex ?? '';
      return fullMatch(regex, path, flavour) ? undefined : `path ${quote(path)} does not match regex ${quote(regex)}`;
    }
    case 'path_separated_prefix': {
      const prefix = match.path_separated_prefix ?? '';
      const ok = fold(path) === fold(prefix) || fold(path).startsWith(`${fold(prefix)}/`);
      return ok ? undefined : `path ${quote(path)} is not under ${quote(prefix)}`;
    }
    default:
      return `path matcher ${match.path_specifier ?? '(none)'} is not evaluated here`;
  }
}

function headerValue(request: MatchRequest, name: string, flavour: Flavour): string | undefined {
  const lower = name.toLowerCase();
  if (flavour === 'grpc') {
    if (lower.endsWith('-bin')) return undefined;
    if (lower === 'content-type') return 'application/grpc';
  }
  if (lower === ':path') return request.path;
  const values: string[] = [];
  for (const [k, v] of Object.entries(request.headers)) {
    if (k.toLowerCase() !== lower) continue;
    if (typeof v === 'string') values.push(v);
    else values.push(...v);
  }
  return values.length === 0 ? undefined : values.join(',');
}

function headerMatches(header: HeaderMatcher__Output, request: MatchRequest, flavour: Flavour): boolean {
  let value = headerValue(request, header.name, flavour);
  if (flavour === 'grpc') {
    // A present_match matcher always holds for a value; absent fails it; invert flips both.
    const result = value !== undefined && valueMatches(header, value, flavour);
    return result !== header.invert_match;
  }
  if (value === undefined && header.treat_missing_header_as_empty) value = '';
  if (value === undefined) {
    const absentMatch = header.header_match_specifier === 'present_match';
    // Only a present matcher decides on an absent header: present_match false ⇔ absent.
    return absentMatch && (header.invert_match ? header.present_match === true : header.present_match === false);
  }
  return valueMatches(header, value, flavour) !== header.invert_match;
}

function valueMatches(header: HeaderMatcher__Output, value: string, flavour: Flavour): boolean {
  switch (header.header_match_specifier) {
    case 'string_match':
      return header.string_match ? stringMatches(header.string_match, value, flavour) : false;
    case 'exact_match':
      return value === header.exact_match;
    case 'prefix_match':
      return value.startsWith(header.prefix_match ?? '');
    case 'suffix_match':
      return value.endsWith(header.suffix_match ?? '');
    case 'contains_match':
      return value.includes(header.contains_match ?? '');
    case 'safe_regex_match':
      return fullMatch(header.safe_regex_match?.regex ?? '', value, flavour);
    case 'range_match': {
      const integer = flavour === 'grpc' ? /^-?\d+$/ : /^\s*[+-]?\d+\s*$/;
      if (!integer.test(value) || !header.range_match) return false;
      const n = BigInt(value.trim());
      return BigInt(header.range_match.start) <= n && n < BigInt(header.range_match.end);
    }
    case 'present_match':
      // Envoy: present_match false matches only an absent header; grpc-js-xds ignores the value.
      return flavour === 'grpc' || header.present_match === true;
    default:
      return false;
  }
}

function queryMatches(param: QueryParameterMatcher__Output, query: Readonly<Record<string, string>>): boolean {
  const value = Object.prototype.hasOwnProperty.call(query, param.name) ? query[param.name] : undefined;
  if (param.query_parameter_match_specifier === 'present_match') return (value !== undefined) === (param.present_match === true);
  if (value === undefined) return false;
  return param.string_match ? stringMatches(param.string_match, value) : true;
}

export function stringMatches(matcher: StringMatcher__Output, value: string, flavour: Flavour = 'envoy'): boolean {
  const fold = (s: string) => (matcher.ignore_case ? s.toLowerCase() : s);
  switch (matcher.match_pattern) {
    case 'exact':
      return fold(value) === fold(matcher.exact ?? '');
    case 'prefix':
      return fold(value).startsWith(fold(matcher.prefix ?? ''));
    case 'suffix':
      return fold(value).endsWith(fold(matcher.suffix ?? ''));
    case 'contains':
      return fold(value).includes(fold(matcher.contains ?? ''));
    case 'safe_regex':
      return fullMatch(matcher.safe_regex?.regex ?? '', value, flavour);
    default:
      return false;
  }
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function describeString(m: StringMatcher__Output | null | undefined): string {
  if (!m) return 'matches';
  const ci = m.ignore_case ? ' (ignoring case)' : '';
  switch (m.match_pattern) {
    case 'safe_regex':
      return `matches regex ${quote(m.safe_regex?.regex ?? '')}`;
    case 'exact':
    case 'prefix':
    case 'suffix':
    case 'contains': {
      const verb = { exact: 'is', prefix: 'starts with', suffix: 'ends with', contains: 'contains' }[m.match_pattern];
      return `${verb} ${quote(m[m.match_pattern] ?? '')}${ci}`;
    }
    default:
      return `matches ${m.match_pattern ?? '?'}`;
  }
}

export function describeHeader(h: HeaderMatcher__Output): string {
  let what: string;
  switch (h.header_match_specifier) {
    case 'string_match':
      what = describeString(h.string_match);
      break;
    case 'range_match':
      what = `in [${h.range_match?.start}, ${h.range_match?.end})`;
      break;
    case 'present_match':
      what = h.present_match ? 'present' : 'absent';
      break;
    default:
      what = `${h.header_match_specifier ?? '?'}`;
  }
  return `${h.name} ${h.invert_match ? 'NOT ' : ''}${what}`;
}

function describeQuery(q: QueryParameterMatcher__Output): string {
  if (q.query_parameter_match_specifier === 'present_match') return `${q.name} ${q.present_match ? 'present' : 'absent'}`;
  return `${q.name} ${describeString(q.string_match)}`;
}
