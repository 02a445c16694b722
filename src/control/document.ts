import { isIPv6 } from 'node:net';
import { configDocument, type FieldError } from '../config';
import { parseHostPort } from '../util/addresses';
import { formatPath } from '../config/field-errors';
import { closest } from '../config/suggestions';
import { TetherError } from '../config/errors';
import type { ConfigDocument, PathRewrite } from './types';

/**
 * Reading and addressing a config document (the file's shape) for targeted edits: entries
 * by name, routes by their (possibly default) name, endpoints by address. The document being
 * edited was accepted before, so its lists hold objects; anything else is treated as absent.
 */

export type Entry = Record<string, unknown>;

export function isEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nameOf(v: unknown): string | undefined {
  return isEntry(v) && typeof v.name === 'string' ? v.name : undefined;
}

/** The list under `key`, or a detached [] when there is none: for reading. */
export function list(parent: Entry, key: string): unknown[] {
  const value = parent[key];
  return Array.isArray(value) ? value : [];
}

/** The list under `key`, created when absent: for editing a copy. */
export function editableList(parent: Entry, key: string): unknown[] {
  if (!Array.isArray(parent[key])) parent[key] = [];
  return parent[key] as unknown[];
}

function notFound(kind: string, name: string, known: string[], where = ''): TetherError {
  const near = closest(name, known);
  return new TetherError('NOT_FOUND', `unknown ${kind} '${name}'${where}${near ? `; did you mean '${near}'?` : ''}`);
}

/** The index of the entry named `name` in the document's `key` list, or -1. */
export function indexOf(doc: ConfigDocument, key: 'services' | 'backends', name: string | undefined): number {
  return name === undefined ? -1 : list(doc, key).findIndex((e) => nameOf(e) === name);
}

function findEntry(doc: ConfigDocument, key: 'services' | 'backends', kind: string, name: string): { entry: Entry; index: number } {
  const entries = list(doc, key);
  const index = indexOf(doc, key, name);
  const entry = entries[index];
  if (!isEntry(entry)) throw notFound(kind, name, entries.map(nameOf).filter((n): n is string => !!n));
  return { entry, index };
}

export function findService(doc: ConfigDocument, name: string): { service: Entry; index: number } {
  const { entry, index } = findEntry(doc, 'services', 'service', name);
  return { service: entry, index };
}

export function findBackend(doc: ConfigDocument, name: string): { backend: Entry; index: number } {
  const { entry, index } = findEntry(doc, 'backends', 'backend', name);
  return { backend: entry, index };
}

/** A route's name as the model has it: explicit, or "<service>-<index>" (config/normalize.ts). */
export function routeName(serviceName: string, route: unknown, index: number): string {
  return nameOf(route) ?? `${serviceName}-${index}`;
}

export function routeNames(service: Entry): string[] {
  const svcName = nameOf(service) ?? '';
  return list(service, 'routes').map((r, i) => routeName(svcName, r, i));
}

export function findRoute(service: Entry, name: string): { route: Entry; index: number } {
  const names = routeNames(service);
  const index = names.indexOf(name);
  const route = list(service, 'routes')[index];
  if (index < 0 || !isEntry(route)) throw notFound('route', name, names, ` in service '${nameOf(service)}'`);
  return { route, index };
}

/**
 * Writes the default name into every unnamed route from `from` on, so inserting or deleting
 * a route before them does not rename them (their Envoy route names and the names later
 * edits address them by stay the same).
 */
export function pinRouteNames(service: Entry, from: number): void {
  const svcName = nameOf(service) ?? '';
  list(service, 'routes').forEach((r, i) => {
    if (i >= from && isEntry(r) && r.name === undefined) r.name = routeName(svcName, r, i);
  });
}

/**
 * A request's entry (service, route, backend) as plain data with a name, or INVALID_ARGUMENT
 * with paths under `what` ("service.name: required").
 */
export function requestEntry(value: unknown, what: string): Entry & { name: string } {
  if (!isEntry(value)) throw TetherError.invalid([{ path: what, message: 'must be an object' }], `invalid ${what}`);
  const plain = configDocument(value);
  if (!plain.ok) throw TetherError.invalid(plain.errors.map((e) => ({ ...e, path: e.path === '' ? what : `${what}.${e.path}` })), `invalid ${what}`);
  if (typeof plain.document.name !== 'string' || plain.document.name === '') {
    throw TetherError.invalid([{ path: `${what}.name`, message: 'required' }], `invalid ${what}`);
  }
  return plain.document as Entry & { name: string };
}

/** The same host:port in every spelling: IPv6 compressed and lower-cased, DNS names lower-cased. */
export function addressKey(text: string): string | undefined {
  const parsed = parseHostPort(text.trim());
  if ('error' in parsed) return undefined;
  return `${canonicalHost(parsed.host)}|${parsed.port}`;
}

function canonicalHost(host: string): string {
  if (isIPv6(host)) {
    try {
      return new URL(`http://[${host}]/`).hostname.slice(1, -1);
    } catch {
      // Zone ids (fe80::1%eth0) are not URL hosts; compare them as written.
    }
  }
  return host.toLowerCase();
}

/** A requested endpoint address, checked, in the file's spelling (brackets around IPv6). */
export function requestAddress(text: string): { key: string; text: string } {
  const parsed = parseHostPort(text.trim());
  if ('error' in parsed) throw TetherError.invalid([{ path: 'address', message: parsed.error }], 'invalid address');
  const host = isIPv6(parsed.host) ? `[${parsed.host}]` : parsed.host;
  return { key: `${canonicalHost(parsed.host)}|${parsed.port}`, text: `${host}:${parsed.port}` };
}

export function endpointAddress(endpoint: unknown): string | undefined {
  if (typeof endpoint === 'string') return endpoint;
  return isEntry(endpoint) && typeof endpoint.address === 'string' ? endpoint.address : undefined;
}

export function findEndpoint(backend: Entry, key: string): number {
  return list(backend, 'endpoints').findIndex((e) => {
    const address = endpointAddress(e);
    return address !== undefined && addressKey(address) === key;
  });
}

/** Applies the first matching rewrite to each path; a rule matches whole path segments only. */
export function rewritePaths(errors: FieldError[], rewrites: readonly PathRewrite[]): FieldError[] {
  return errors.map((e) => {
    for (const { from, to } of rewrites) {
      if (e.path === from) return { ...e, path: to };
      if (e.path.startsWith(from) && (e.path[from.length] === '.' || e.path[from.length] === '[')) {
        return { ...e, path: to + e.path.slice(from.length) };
      }
    }
    return e;
  });
}

export const weightPath = (backend: string): string => formatPath(['weights', backend]);
