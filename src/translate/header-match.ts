import type { HeaderMatchSpec, PathMatchSpec, RouteMatchSpec, StringMatch } from '../model/types';
import type { HeaderMatcher } from '../generated/envoy/config/route/v3/HeaderMatcher';
import type { QueryParameterMatcher } from '../generated/envoy/config/route/v3/QueryParameterMatcher';
import type { RouteMatch } from '../generated/envoy/config/route/v3/RouteMatch';
import type { StringMatcher } from '../generated/envoy/type/matcher/v3/StringMatcher';
import { hasTopLevelAlternation } from '../regex';

/**
 * Route matching: the path, header matchers and query-parameter matchers of a RouteMatch.
 * Only the forms both Envoy and grpc-js-xds understand are emitted: `string_match` (not the
 * deprecated exact_match/prefix_match…), `range_match`, `present_match: true` with
 * `invert_match` for absence (grpc-js-xds ignores present_match's value: false would still
 * mean "present" there).
 */
export function routeMatch(match: RouteMatchSpec, options: { queryParams: boolean; groupAlternations?: boolean }): RouteMatch {
  const regex = options.groupAlternations ? grouped : (r: string) => r;
  const out: RouteMatch = pathMatch(match.path, regex);
  if (match.headers.length > 0) out.headers = match.headers.map((h) => headerMatcher(h, regex));
  if (options.queryParams && match.queryParams.length > 0) out.query_parameters = match.queryParams.map(queryParameterMatcher);
  return out;
}

/**
 * grpc-js-xds 1.14.1 matches a safe_regex as RE2(`^${regex}$`) (build/src/matcher.js), without a
 * group, so `a|b` there means "starts with a or ends with b"; grouped, it is the whole-value
 * match Envoy does and the config reference promises.
 */
function grouped(regex: string): string {
  return hasTopLevelAlternation(regex) ? `(?:${regex})` : regex;
}

function pathMatch(path: PathMatchSpec, regex: (r: string) => string): RouteMatch {
  if ('prefix' in path) return { prefix: path.prefix };
  if ('exact' in path) return { path: path.exact };
  return { safe_regex: { regex: regex(path.regex) } };
}

export function headerMatcher(spec: HeaderMatchSpec, regex: (r: string) => string = (r) => r): HeaderMatcher {
  const out: HeaderMatcher = { name: spec.name };
  let invert = spec.invert;
  if ('range' in spec) {
    // int64 on the wire: strings keep values beyond 2^53 exact.
    out.range_match = { start: String(spec.range.start), end: String(spec.range.end) };
  } else if ('present' in spec) {
    // "Absent" is "present, inverted": Envoy reads present_match: false as absence only in
    // recent versions, grpc-js-xds never does.
    out.present_match = true;
    if (!spec.present) invert = !invert;
  } else {
    const matcher = stringMatcher(spec, spec.ignoreCase, regex);
    if (matcher) out.string_match = matcher;
    else out.present_match = true;
  }
  if (invert) out.invert_match = true;
  return out;
}

export function queryParameterMatcher(spec: { name: string } & (StringMatch | { present: boolean })): QueryParameterMatcher {
  if ('present' in spec) {
    // No invert for query parameters. `present_match: false` means "absent" in Envoy >= 1.36
    // (envoy.reloadable_features.enable_new_query_param_present_match_behavior); older
    // Envoys treat any present_match as "present".
    return { name: spec.name, present_match: spec.present };
  }
  const matcher = stringMatcher(spec, false);
  return matcher ? { name: spec.name, string_match: matcher } : { name: spec.name, present_match: true };
}

/**
 * Returns undefined for an empty prefix/suffix/contains: Envoy's proto validation refuses
 * those (min_len 1), and they match any value, which is what `present_match: true` says.
 */
function stringMatcher(match: StringMatch, ignoreCase: boolean, regex: (r: string) => string = (r) => r): StringMatcher | undefined {
  const flag: StringMatcher = ignoreCase ? { ignore_case: true } : {};
  if ('exact' in match) return { exact: match.exact, ...flag };
  if ('prefix' in match) return match.prefix === '' ? undefined : { prefix: match.prefix, ...flag };
  if ('suffix' in match) return match.suffix === '' ? undefined : { suffix: match.suffix, ...flag };
  if ('contains' in match) return match.contains === '' ? undefined : { contains: match.contains, ...flag };
  // ignore_case "has no effect for the safe_regex match" (string.proto): RE2's own flag does it.
  return { safe_regex: { regex: regex(ignoreCase ? `(?i)${match.regex}` : match.regex) } };
}
