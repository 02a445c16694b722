/**
 * What `tether history` says a version did, written by Tether itself so that every version
 * has a description even when the caller gave none (`-m` text is appended to it). Targeted
 * edits describe themselves from their request; a whole-config apply is described by the
 * entries it adds, changes and removes.
 */
import { isEntry, list, nameOf, routeNames } from './document';
import type { ConfigDocument } from './types';
import { frozenJson } from '../util/frozen-json';
import { listWindow } from '../util/list-window';
import { runSteps, stepDue, type Steps } from '../util/steps';

/** "<what Tether did> — <the caller's text>", either part optional. */
export function joinDescription(summary: string, message: string | undefined): string {
  if (!message) return summary;
  return summary ? `${summary} — ${message}` : message;
}

const route = (service: string, name: string) => (name ? `${service}/${name}` : service);

/** The route a split or promote names, or the service's only route when it names none. */
function routeOf(doc: ConfigDocument, service: string, name: string): string {
  if (name) return name;
  const entry = list(doc, 'services').find((s) => nameOf(s) === service);
  const names = isEntry(entry) ? routeNames(entry) : [];
  return names.length === 1 ? names[0]! : '';
}

const exists = (doc: ConfigDocument, key: 'services' | 'backends', name: string | undefined) => list(doc, key).some((e) => nameOf(e) === name);

const weightText = (weights: Record<string, number>) =>
  Object.entries(weights)
    .map(([b, w]) => `${b}=${w}`)
    .join(' ');

/** One describer per targeted edit, given the document before the edit. */
export const describeEdit = {
  upsertService: (doc: ConfigDocument, service: unknown) => `${exists(doc, 'services', nameOf(service)) ? 'replace' : 'add'} service ${nameOf(service) ?? '?'}`,
  deleteService: (name: string) => `delete service ${name}`,
  upsertRoute: (doc: ConfigDocument, service: string, value: unknown) => {
    const entry = list(doc, 'services').find((s) => nameOf(s) === service);
    const name = nameOf(value) ?? '?';
    const known = isEntry(entry) && routeNames(entry).includes(name);
    return `${known ? 'replace' : 'add'} route ${route(service, name)}`;
  },
  deleteRoute: (service: string, name: string) => `delete route ${route(service, name)}`,
  upsertBackend: (doc: ConfigDocument, backend: unknown) => `${exists(doc, 'backends', nameOf(backend)) ? 'replace' : 'add'} backend ${nameOf(backend) ?? '?'}`,
  deleteBackend: (name: string) => `delete backend ${name}`,
  setSplit: (doc: ConfigDocument, service: string, name: string, weights: Record<string, number>) =>
    `split ${route(service, routeOf(doc, service, name))}: ${weightText(weights)}`,
  promote: (service: string, backend: string, name: string | undefined) => `promote ${backend} on ${route(service, name ?? '')}`,
  addEndpoint: (backend: string, address: string, weight: number | undefined) =>
    `add endpoint ${address} to ${backend}${weight && weight !== 1 ? ` (weight ${weight})` : ''}`,
  removeEndpoint: (backend: string, address: string) => `remove endpoint ${address} from ${backend}`,
  drainEndpoint: (backend: string, address: string) => `drain endpoint ${address} of ${backend}`,
};

/** Names listed per kind of change before the rest are only counted. */
const MAX_NAMES = 4;

/** A list's entries by name (`#<index>` without one), a step every few entries (10,000 services: ~10 ms at once). */
function* byName(doc: ConfigDocument, key: string): Steps<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const entries = list(doc, key);
  for (let i = 0; i < entries.length; i++) {
    out.set(nameOf(entries[i]) ?? `#${i}`, entries[i]);
    if (stepDue()) yield;
  }
  return out;
}

function* entryChanges(before: ConfigDocument, after: ConfigDocument, key: string): Steps<string | undefined> {
  const a = yield* byName(before, key);
  const b = yield* byName(after, key);
  const added: string[] = [];
  const changed: string[] = [];
  for (const [n, entry] of b) {
    const was = a.get(n);
    if (was === undefined) added.push(n);
    // Entries are small plain JSON trees; their text compares them (key order counts, which only
    // makes a reordered entry count as changed). A frozen entry's JSON is remembered (the version file's).
    else if (was !== entry && frozenJson(was) !== frozenJson(entry)) changed.push(n);
    else continue;
    if (stepDue()) yield;
  }
  const removed: string[] = [];
  for (const n of a.keys()) {
    if (!b.has(n)) removed.push(n);
    if (stepDue()) yield;
  }
  const parts = [
    ...added.map((n) => `+${n}`),
    ...changed.map((n) => `~${n}`),
    ...removed.map((n) => `-${n}`),
  ];
  if (parts.length === 0) {
    // An edit shares the entries it did not change: lists the same but in a window cannot be reordered.
    const w = listWindow(list(before, key), list(after, key));
    const reordered = w.start < w.end && [...a.keys()].join('\n') !== [...b.keys()].join('\n');
    return reordered ? `${key} reordered` : undefined;
  }
  const shown = parts.slice(0, MAX_NAMES).join(' ');
  return `${key} ${shown}${parts.length > MAX_NAMES ? ` (+${parts.length - MAX_NAMES} more)` : ''}`;
}

/**
 * A whole new document against the one it replaces: `services +cart ~shop; backends -old`
 * (+ added, ~ changed, - removed), or "no entry changed" when only settings outside the
 * lists differ.
 */
export function describeDocumentChange(before: ConfigDocument, after: ConfigDocument): string {
  return runSteps(describeDocumentChangeSteps(before, after));
}

/** describeDocumentChange as steps, a step per few entries compared (a whole config of 10,000 services in turns). */
export function* describeDocumentChangeSteps(before: ConfigDocument, after: ConfigDocument): Steps<string> {
  const parts: string[] = [];
  for (const key of ['listeners', 'services', 'backends']) {
    const part = yield* entryChanges(before, after, key);
    if (part) parts.push(part);
  }
  const others = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => !['listeners', 'services', 'backends'].includes(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  if (others.length > 0) parts.push(`${others.join(', ')} changed`);
  return parts.length > 0 ? parts.join('; ') : 'no entry changed';
}
