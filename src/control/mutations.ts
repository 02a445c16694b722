import { TetherError } from '../config/errors';
import {
  editableList,
  findBackend,
  findEndpoint,
  findRoute,
  findService,
  indexOf,
  isEntry,
  list,
  nameOf,
  pinRouteNames,
  requestAddress,
  requestEntry,
  routeNames,
  weightPath,
  type Entry,
} from './document';
import { describeEdit } from './change-description';
import type { ConfigDocument, DocumentEdit, PathRewrite } from './types';

/**
 * Targeted edits of a config document (the file's shape). Each takes the current document
 * and returns an edited copy; the input is never modified. A request that cannot apply
 * throws TetherError: NOT_FOUND for unknown names, FAILED_PRECONDITION when the current
 * state forbids it, INVALID_ARGUMENT for a malformed request. Whether the result is a valid
 * config is the validator's call (the config manager runs it on every result).
 *
 * Routes are addressed by name, including the default "<service>-<index>" of unnamed ones;
 * inserting or deleting a route writes those defaults into the routes that would shift, so
 * no route is renamed by an edit elsewhere.
 */

type Doc = ConfigDocument;

const LISTS = ['listeners', 'services', 'backends'] as const;

/**
 * A copy of the document to edit: the document and its entry lists are new, the entries are
 * shared with the input until `own` copies the one being edited (a deep copy of the whole
 * document cost ~300 ms per edit at 10,000 services). The config manager's documents are
 * deep-frozen, so an edit that forgot `own` fails loudly instead of changing the input.
 */
function copy(doc: Doc): Doc {
  const out: Doc = { ...doc };
  for (const key of LISTS) if (Array.isArray(doc[key])) out[key] = [...(doc[key] as unknown[])];
  return out;
}

/** Replaces entry `index` of a copied list by a deep copy of it (documents are plain JSON trees) and returns it. */
function own(out: Doc, key: (typeof LISTS)[number], index: number): Entry {
  const entries = out[key] as unknown[];
  const entry = structuredClone(entries[index]) as Entry;
  entries[index] = entry;
  return entry;
}

/** The named service of a copy, owned (safe to edit). */
function editService(out: Doc, name: string): Entry {
  return own(out, 'services', findService(out, name).index);
}

/** The named backend of a copy, owned (safe to edit). */
function editBackend(out: Doc, name: string): Entry {
  return own(out, 'backends', findBackend(out, name).index);
}

const MAX_WEIGHT = 0xffffffff;

function upsertEntry(doc: Doc, key: 'services' | 'backends', value: unknown, what: string): Doc {
  const entry = requestEntry(value, what);
  const out = copy(doc);
  const entries = editableList(out, key);
  const index = indexOf(out, key, entry.name);
  if (index >= 0) entries[index] = entry;
  else entries.push(entry);
  return out;
}

/** Replaces the service of the same name in place, or appends it. */
export function upsertService(doc: Doc, service: unknown): Doc {
  return upsertEntry(doc, 'services', service, 'service');
}

/** Always allowed: the backends it used stay (a backend no route uses is valid). */
export function deleteService(doc: Doc, name: string): Doc {
  const out = copy(doc);
  const { index } = findService(out, name);
  editableList(out, 'services').splice(index, 1);
  return out;
}

/**
 * Replaces the route of the same name (explicit or default) in place, or inserts it at
 * `position` (0-based; undefined, negative or one past the end appends).
 */
export function upsertRoute(doc: Doc, serviceName: string, route: unknown, position?: number): Doc {
  const entry = requestEntry(route, 'route');
  const out = copy(doc);
  const service = editService(out, serviceName);
  const routes = editableList(service, 'routes');
  const existing = routeNames(service).indexOf(entry.name);
  if (existing >= 0) {
    routes[existing] = entry;
    return out;
  }
  const insertAt = position === undefined || position < 0 ? routes.length : position;
  if (!Number.isInteger(insertAt) || insertAt > routes.length) {
    throw TetherError.invalid(
      [{ path: 'position', message: `must be from 0 to ${routes.length} (the service has ${routes.length} routes), or negative to append` }],
      'invalid position',
    );
  }
  pinRouteNames(service, insertAt);
  routes.splice(insertAt, 0, entry);
  return out;
}

export function deleteRoute(doc: Doc, serviceName: string, routeName: string): Doc {
  const out = copy(doc);
  const service = editService(out, serviceName);
  const { index } = findRoute(service, routeName);
  const routes = editableList(service, 'routes');
  if (routes.length === 1) {
    throw new TetherError(
      'FAILED_PRECONDITION',
      `route '${routeName}' is the last route of service '${serviceName}'; a service needs one (delete the service instead)`,
    );
  }
  pinRouteNames(service, index + 1);
  routes.splice(index, 1);
  return out;
}

/** Replaces the backend of the same name in place, or appends it. */
export function upsertBackend(doc: Doc, backend: unknown): Doc {
  return upsertEntry(doc, 'backends', backend, 'backend');
}

const routesTo = (route: unknown, backend: string): route is Entry =>
  isEntry(route) && list(route, 'backends').some((b) => nameOf(b) === backend);

/** "service/route" of every route that names `backend` (at any weight), in document order. */
function routesUsing(doc: Doc, backend: string): string[] {
  const users: string[] = [];
  for (const service of list(doc, 'services')) {
    if (!isEntry(service)) continue;
    const names = routeNames(service);
    list(service, 'routes').forEach((route, i) => {
      if (routesTo(route, backend)) users.push(`${nameOf(service)}/${names[i]}`);
    });
  }
  return users;
}

export function deleteBackend(doc: Doc, name: string): Doc {
  const out = copy(doc);
  const { index } = findBackend(out, name);
  const users = routesUsing(out, name);
  if (users.length > 0) {
    throw new TetherError('FAILED_PRECONDITION', `backend '${name}' is still used by route${users.length > 1 ? 's' : ''} ${users.join(', ')}`);
  }
  editableList(out, 'backends').splice(index, 1);
  return out;
}

/** The named route, or the service's only route when `routeName` is empty. */
function targetRoute(service: Entry, serviceName: string, routeName: string): Entry {
  if (routeName !== '') return findRoute(service, routeName).route;
  const names = routeNames(service);
  const only = list(service, 'routes')[0];
  if (names.length !== 1 || !isEntry(only)) {
    throw TetherError.invalid(
      [{ path: 'route', message: `service '${serviceName}' has ${names.length} routes (${names.join(', ')}); name one` }],
      'invalid route',
    );
  }
  return only;
}

/**
 * Sets a route's split (`routeName` '' → the service's only route). Listed backends get
 * their weight; those already on the route keep their place and header settings, new ones
 * follow sorted by name; backends not listed leave the route.
 */
export function setSplit(doc: Doc, serviceName: string, routeName: string, weights: Record<string, number>): Doc {
  const names = Object.keys(weights);
  const bad = names
    .filter((n) => !Number.isInteger(weights[n]) || weights[n]! < 0 || weights[n]! > MAX_WEIGHT)
    .map((n) => ({ path: weightPath(n), message: `must be a whole number from 0 to ${MAX_WEIGHT}` }));
  if (names.length === 0) bad.push({ path: 'weights', message: 'must name at least one backend' });
  if (bad.length > 0) throw TetherError.invalid(bad, 'invalid split');

  const out = copy(doc);
  const service = editService(out, serviceName);
  const route = targetRoute(service, serviceName, routeName);
  for (const name of names) findBackend(out, name);

  const kept = list(route, 'backends').filter((b): b is Entry => isEntry(b) && names.includes(nameOf(b) ?? ''));
  const keptNames = new Set(kept.map(nameOf));
  const added = names.filter((n) => !keptNames.has(n)).sort();
  route.backends = [...kept.map((b) => ({ ...b, weight: weights[nameOf(b)!] })), ...added.map((name) => ({ name, weight: weights[name] }))];
  return out;
}

/**
 * Sends all traffic of the named route, or of every route of the service that routes to
 * `backend` (at any weight), to `backend` alone. The backend's own header settings on the
 * route are kept; its weight goes (a single backend needs none).
 */
export function promote(doc: Doc, serviceName: string, backend: string, routeName = ''): Doc {
  const out = copy(doc);
  const service = editService(out, serviceName);
  findBackend(out, backend);
  const routes = routeName !== '' ? [findRoute(service, routeName).route] : list(service, 'routes').filter((r): r is Entry => routesTo(r, backend));
  if (routes.length === 0) throw new TetherError('NOT_FOUND', `no route of service '${serviceName}' routes to backend '${backend}'`);
  for (const route of routes) {
    const existing = list(route, 'backends').find((b): b is Entry => isEntry(b) && nameOf(b) === backend);
    const only: Entry = { ...(existing ?? { name: backend }) };
    delete only.weight;
    route.backends = [only];
  }
  return out;
}

function existingEndpoint(doc: Doc, backendName: string, address: string): { endpoints: unknown[]; index: number; text: string } {
  const { key, text } = requestAddress(address);
  const backend = editBackend(doc, backendName);
  const index = findEndpoint(backend, key);
  if (index < 0) throw new TetherError('NOT_FOUND', `backend '${backendName}' has no endpoint ${text}`);
  return { endpoints: editableList(backend, 'endpoints'), index, text };
}

/**
 * Adds `address` to the backend with `weight` (0 or absent → 1) and, when given, the port gRPC
 * clients use (`grpcPort`). An address already there, in any spelling, keeps its place and
 * form and gets `weight` (and `grpcPort` if given), and stops draining: adding is what a
 * replica does when it is ready for traffic, so repeating it is harmless.
 */
export function addEndpoint(doc: Doc, backendName: string, address: string, weight = 1, grpcPort?: number): Doc {
  const w = weight === 0 ? 1 : weight;
  if (!Number.isInteger(w) || w < 1 || w > MAX_WEIGHT) {
    throw TetherError.invalid([{ path: 'weight', message: `must be a whole number from 1 to ${MAX_WEIGHT}` }], 'invalid endpoint');
  }
  const { key, text } = requestAddress(address);
  const out = copy(doc);
  const backend = editBackend(out, backendName);
  const endpoints = editableList(backend, 'endpoints');
  const index = findEndpoint(backend, key);
  const extra = grpcPort !== undefined ? { grpcPort } : {};
  if (index < 0) {
    endpoints.push(w === 1 && grpcPort === undefined ? text : { address: text, ...(w !== 1 ? { weight: w } : {}), ...extra });
    return out;
  }
  const current = endpoints[index];
  if (typeof current === 'string') {
    if (w !== 1 || grpcPort !== undefined) endpoints[index] = { address: current, ...(w !== 1 ? { weight: w } : {}), ...extra };
    return out;
  }
  const updated: Entry = { ...(current as Entry), ...extra };
  delete updated.drain;
  if (w !== 1 || updated.weight !== undefined) updated.weight = w;
  endpoints[index] = updated;
  return out;
}

export function removeEndpoint(doc: Doc, backendName: string, address: string): Doc {
  const out = copy(doc);
  const { endpoints, index, text } = existingEndpoint(out, backendName, address);
  if (endpoints.length === 1) {
    throw new TetherError(
      'FAILED_PRECONDITION',
      `${text} is the last endpoint of backend '${backendName}'; a backend needs one (drain it, or delete the backend)`,
    );
  }
  endpoints.splice(index, 1);
  return out;
}

/** Marks the endpoint `drain: true` (EDS DRAINING); addEndpoint makes it live again. */
export function drainEndpoint(doc: Doc, backendName: string, address: string): Doc {
  const out = copy(doc);
  const { endpoints, index } = existingEndpoint(out, backendName, address);
  const current = endpoints[index];
  endpoints[index] = typeof current === 'string' ? { address: current, drain: true } : { ...(current as Entry), drain: true };
  return out;
}

// ---- The same edits as DocumentEdits, with validation errors pointed at the request ----

/** `services[i].routes[j]` of the route a request names in `doc`, if both exist. */
function routePath(doc: Doc, serviceName: string, routeName: string): { path: string; route: Entry } | undefined {
  const i = indexOf(doc, 'services', serviceName);
  const service = list(doc, 'services')[i];
  if (!isEntry(service)) return undefined;
  const names = routeNames(service);
  const j = routeName === '' && names.length === 1 ? 0 : names.indexOf(routeName);
  const route = list(service, 'routes')[j];
  return j >= 0 && isEntry(route) ? { path: `services[${i}].routes[${j}]`, route } : undefined;
}

const entryAt = (index: number, key: string, to: string): PathRewrite[] => (index >= 0 ? [{ from: `${key}[${index}]`, to }] : []);

function endpointPaths(doc: Doc, backend: string, address: string): PathRewrite[] {
  const k = indexOf(doc, 'backends', backend);
  const entry = list(doc, 'backends')[k];
  let key: string;
  try {
    key = requestAddress(address).key;
  } catch {
    return [];
  }
  const n = isEntry(entry) ? findEndpoint(entry, key) : -1;
  if (n < 0) return [];
  const base = `backends[${k}].endpoints[${n}]`;
  return [
    { from: `${base}.weight`, to: 'weight' },
    { from: `${base}.grpcPort`, to: 'grpc_port' },
    { from: base, to: 'address' },
  ];
}

/** For ConfigManager.mutate: `manager.mutate('upsert-service', edits.upsertService(s), options)`. */
export const edits = {
  upsertService: (service: unknown): DocumentEdit => ({
    apply: (doc) => upsertService(doc, service),
    errorPaths: (doc) => entryAt(indexOf(doc, 'services', nameOf(service)), 'services', 'service'),
    describe: (doc) => describeEdit.upsertService(doc, service),
  }),
  deleteService: (name: string): DocumentEdit => ({ apply: (doc) => deleteService(doc, name), describe: () => describeEdit.deleteService(name) }),
  upsertRoute: (service: string, route: unknown, position?: number): DocumentEdit => ({
    apply: (doc) => upsertRoute(doc, service, route, position),
    errorPaths: (doc) => {
      const name = nameOf(route);
      const found = name === undefined ? undefined : routePath(doc, service, name);
      return found ? [{ from: found.path, to: 'route' }] : [];
    },
    describe: (doc) => describeEdit.upsertRoute(doc, service, route),
  }),
  deleteRoute: (service: string, route: string): DocumentEdit => ({
    apply: (doc) => deleteRoute(doc, service, route),
    describe: () => describeEdit.deleteRoute(service, route),
  }),
  upsertBackend: (backend: unknown): DocumentEdit => ({
    apply: (doc) => upsertBackend(doc, backend),
    errorPaths: (doc) => entryAt(indexOf(doc, 'backends', nameOf(backend)), 'backends', 'backend'),
    describe: (doc) => describeEdit.upsertBackend(doc, backend),
  }),
  deleteBackend: (name: string): DocumentEdit => ({ apply: (doc) => deleteBackend(doc, name), describe: () => describeEdit.deleteBackend(name) }),
  setSplit: (service: string, route: string, weights: Record<string, number>): DocumentEdit => ({
    apply: (doc) => setSplit(doc, service, route, weights),
    errorPaths: (doc) => {
      const found = routePath(doc, service, route);
      if (!found) return [];
      const perBackend = list(found.route, 'backends').map((b, k) => ({ from: `${found.path}.backends[${k}]`, to: weightPath(nameOf(b) ?? String(k)) }));
      return [...perBackend, { from: `${found.path}.backends`, to: 'weights' }];
    },
    describe: (doc) => describeEdit.setSplit(doc, service, route, weights),
  }),
  promote: (service: string, backend: string, route?: string): DocumentEdit => ({
    apply: (doc) => promote(doc, service, backend, route),
    describe: () => describeEdit.promote(service, backend, route),
  }),
  addEndpoint: (backend: string, address: string, weight?: number, grpcPort?: number): DocumentEdit => ({
    apply: (doc) => addEndpoint(doc, backend, address, weight, grpcPort),
    errorPaths: (doc) => endpointPaths(doc, backend, address),
    describe: () => describeEdit.addEndpoint(backend, address, weight),
  }),
  removeEndpoint: (backend: string, address: string): DocumentEdit => ({
    apply: (doc) => removeEndpoint(doc, backend, address),
    describe: () => describeEdit.removeEndpoint(backend, address),
  }),
  drainEndpoint: (backend: string, address: string): DocumentEdit => ({
    apply: (doc) => drainEndpoint(doc, backend, address),
    describe: () => describeEdit.drainEndpoint(backend, address),
  }),
};
