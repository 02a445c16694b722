import type { HeaderOps } from '../model/types';
import type { HeaderValueOption } from '../generated/envoy/config/core/v3/HeaderValueOption';
import type { Warnings } from './warnings';

/** The four header-mutation fields shared by Route and WeightedCluster.ClusterWeight. */
export interface HeaderMutations {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}

/** One level's operations (a route's, or one backend's), already checked. */
export interface LevelOps {
  requestAdd: HeaderValueOption[];
  requestRemove: string[];
  responseAdd: HeaderValueOption[];
  responseRemove: string[];
  /** `set: {host: …}` that reached translation: it becomes a host rewrite (see below). */
  hostFromSet?: string;
}

/**
 * Envoy refuses to mutate pseudo-headers and Host through header lists (":-prefixed or host
 * headers may not be modified"): Host changes go through host_rewrite_literal instead.
 */
function isModifiable(name: string): boolean {
  const lower = name.toLowerCase();
  return !lower.startsWith(':') && lower !== 'host';
}

export function levelOps(request: HeaderOps, response: HeaderOps, warnings: Warnings, path: string): LevelOps {
  const out: LevelOps = { requestAdd: [], requestRemove: [], responseAdd: [], responseRemove: [] };
  const keep = (name: string, where: string): boolean => {
    if (isModifiable(name)) return true;
    warnings.add(`${path}.${where}`, `header "${name}" cannot be modified by a header list; left out`);
    return false;
  };
  for (const { name, value } of request.set) {
    // The config parser turns `set: {Host: …}` into hostRewrite; a model built elsewhere
    // may still carry it here. Same meaning, so no warning.
    if (name.toLowerCase() === 'host' || name.toLowerCase() === ':authority') out.hostFromSet = value;
    else if (keep(name, 'requestHeaders.set')) out.requestAdd.push(option(name, value, 'set'));
  }
  for (const { name, value } of request.add) if (keep(name, 'requestHeaders.add')) out.requestAdd.push(option(name, value, 'add'));
  for (const name of request.remove) if (keep(name, 'requestHeaders.remove')) out.requestRemove.push(name);
  for (const { name, value } of response.set) if (keep(name, 'responseHeaders.set')) out.responseAdd.push(option(name, value, 'set'));
  for (const { name, value } of response.add) if (keep(name, 'responseHeaders.add')) out.responseAdd.push(option(name, value, 'add'));
  for (const name of response.remove) if (keep(name, 'responseHeaders.remove')) out.responseRemove.push(name);
  return out;
}

function option(name: string, value: string, op: 'set' | 'add'): HeaderValueOption {
  return {
    header: { key: name, value },
    append_action: op === 'set' ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD',
  };
}

export function isEmpty(ops: LevelOps): boolean {
  return (
    ops.requestAdd.length === 0 &&
    ops.requestRemove.length === 0 &&
    ops.responseAdd.length === 0 &&
    ops.responseRemove.length === 0 &&
    ops.hostFromSet === undefined
  );
}

/**
 * Folds a backend's operations into its route's, for a route that sends everything to one
 * backend (plain `cluster`, no ClusterWeight to hold them). Envoy evaluates the more specific
 * level first and each level removes before it adds, so the route's settings win: backend
 * entries go first, and a backend addition of a header the route removes is dropped.
 * Host rewrites are not merged here (see route-action.ts: the backend's wins).
 */
export function mergeInto(backend: LevelOps, route: LevelOps): LevelOps {
  const removedReq = new Set(route.requestRemove.map((n) => n.toLowerCase()));
  const removedResp = new Set(route.responseRemove.map((n) => n.toLowerCase()));
  const notIn = (removed: Set<string>) => (o: HeaderValueOption) => !removed.has((o.header?.key ?? '').toLowerCase());
  return {
    requestAdd: [...backend.requestAdd.filter(notIn(removedReq)), ...route.requestAdd],
    requestRemove: unique([...backend.requestRemove, ...route.requestRemove]),
    responseAdd: [...backend.responseAdd.filter(notIn(removedResp)), ...route.responseAdd],
    responseRemove: unique([...backend.responseRemove, ...route.responseRemove]),
  };
}

function unique(names: string[]): string[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const key = n.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The proto fields, leaving out empty lists so the output stays readable. */
export function mutations(ops: LevelOps): HeaderMutations {
  const out: HeaderMutations = {};
  if (ops.requestAdd.length > 0) out.request_headers_to_add = ops.requestAdd;
  if (ops.requestRemove.length > 0) out.request_headers_to_remove = ops.requestRemove;
  if (ops.responseAdd.length > 0) out.response_headers_to_add = ops.responseAdd;
  if (ops.responseRemove.length > 0) out.response_headers_to_remove = ops.responseRemove;
  return out;
}
