import { stringify } from 'yaml';
import type { Snapshot, SnapshotResource } from '../cache/snapshot';
import { ROUTE_TYPE, SHOWN_TYPES, VIRTUAL_HOST_TYPE, messageOf, type ResourceTypeName, type ResourceTypeUrl } from '../envoy/resource-types';
import * as protobuf from 'protobufjs';
import { lookupEnvoyType } from '../envoy/protos';
import { readableAny, readableMessage } from '../translate/readable';
import { unifiedDiff } from './line-diff';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import { runSteps, runStepsInTurns, stepDue, type Steps } from '../util/steps';

export interface ResourceChange {
  nodeKind: NodeKind;
  type: ResourceTypeName;
  name: string;
  action: 'ADDED' | 'REMOVED' | 'MODIFIED';
  /** Unified diff of the resource's readable YAML (MODIFIED only). */
  diff?: string;
}

/** The xDS types in the order changes are listed (the order people read a config in). */
const TYPES = SHOWN_TYPES.map((t) => ({ type: t.short, typeUrl: t.typeUrl }));

const yaml = (resource: Record<string, unknown>): string => stringify(resource, { lineWidth: 0 });

/** A decoded resource printed as YAML: equal texts are equal messages (fields in proto order). */
interface Readable {
  yaml: string;
}

/**
 * Decoded forms by encoded bytes: the "after" of one edit's diff is the "before" of the next
 * one's (the same Buffer, kept by the snapshot and by the route configuration's split), so
 * each resource or virtual host is decoded and printed once.
 */
const readables = new WeakMap<Buffer, Readable>();

function readable(bytes: Buffer | undefined, decode: (b: Buffer) => Record<string, unknown>): Readable | undefined {
  if (!bytes) return undefined;
  let r = readables.get(bytes);
  if (!r) {
    const decoded = decode(bytes);
    readables.set(bytes, (r = { yaml: yaml(decoded) }));
  }
  return r;
}

function textDiff(a: Readable | undefined, b: Readable | undefined, label: string): string {
  if (a && b && a.yaml === b.yaml) return '';
  return unifiedDiff(a?.yaml ?? '', b?.yaml ?? '', { from: `a/${label}`, to: `b/${label}` });
}

function resourceDiff(before: Buffer, after: Buffer, label: string): string {
  return textDiff(readable(before, readableAny), readable(after, readableAny), label);
}

/** The payload of an encoded google.protobuf.Any (field 2), without decoding anything else. */
function anyPayload(anyBytes: Buffer): Buffer {
  const r = protobuf.Reader.create(anyBytes);
  let payload: Buffer = Buffer.alloc(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2 && (tag & 7) === 2) {
      const len = r.uint32();
      payload = anyBytes.subarray(r.pos, r.pos + len);
      r.skip(len);
    } else r.skipType(tag & 7);
  }
  return payload;
}

let fieldIds: { virtualHosts: number; hostName: number } | undefined;

/**
 * A RouteConfiguration split at the wire level into its other fields and its virtual hosts
 * by name (each still encoded): a config of 10,000 services is one such resource, and an
 * edit of one route changes one virtual host in it.
 */
/**
 * Splits of the route configurations diffed last: the "after" of one edit's diff is the
 * "before" of the next one's, so a big route configuration is split once per version.
 */
const splits = new WeakMap<Buffer, { shell: Buffer; hosts: Map<string, Buffer> }>();

function splitRouteConfiguration(anyBytes: Buffer): { shell: Buffer; hosts: Map<string, Buffer> } {
  let split = splits.get(anyBytes);
  if (!split) splits.set(anyBytes, (split = splitRouteConfigurationNow(anyBytes)));
  return split;
}

function splitRouteConfigurationNow(anyBytes: Buffer): { shell: Buffer; hosts: Map<string, Buffer> } {
  fieldIds ??= {
    virtualHosts: lookupEnvoyType(messageOf(ROUTE_TYPE)).fields.virtual_hosts!.id,
    hostName: lookupEnvoyType(messageOf(VIRTUAL_HOST_TYPE)).fields.name!.id,
  };
  const bytes = anyPayload(anyBytes);
  const r = protobuf.Reader.create(bytes);
  const shell: Buffer[] = [];
  const hosts = new Map<string, Buffer>();
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 === fieldIds.virtualHosts && (tag & 7) === 2) {
      const len = r.uint32();
      const host = bytes.subarray(r.pos, r.pos + len);
      r.skip(len);
      hosts.set(hostName(host, fieldIds.hostName), host);
    } else {
      r.skipType(tag & 7);
      shell.push(bytes.subarray(start, r.pos));
    }
  }
  return { shell: Buffer.concat(shell), hosts };
}

function hostName(host: Buffer, nameField: number): string {
  const r = protobuf.Reader.create(host);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === nameField && (tag & 7) === 2) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/**
 * A route configuration's diff, virtual host by virtual host: only the parts that changed
 * are decoded and printed (`…/virtual_hosts/<name>`), so its cost follows the edit, not the
 * size of the config.
 */
function routeConfigurationDiff(before: Buffer, after: Buffer, label: string): string {
  const a = splitRouteConfiguration(before);
  const b = splitRouteConfiguration(after);
  const ROUTE = messageOf(ROUTE_TYPE);
  const HOST = messageOf(VIRTUAL_HOST_TYPE);
  const parts: string[] = [];
  const route = (bytes: Buffer) => readableMessage(ROUTE, bytes);
  const host = (bytes: Buffer) => readableMessage(HOST, bytes);
  if (!a.shell.equals(b.shell)) parts.push(textDiff(readable(a.shell, route), readable(b.shell, route), label));
  const names = [...new Set([...a.hosts.keys(), ...b.hosts.keys()])].sort();
  for (const name of names) {
    const x = a.hosts.get(name);
    const y = b.hosts.get(name);
    if (x && y && x.equals(y)) continue;
    parts.push(textDiff(readable(x, host), readable(y, host), `${label}/virtual_hosts/${name}`));
  }
  return parts.join('');
}

/** A MODIFIED resource whose text diff is still to be written (the costly part: decoding and YAML). */
export interface PendingDiff {
  typeUrl: ResourceTypeUrl;
  label: string;
  /** Encoded Any messages; or, with `message`, encoded messages of that type (a part of a route configuration). */
  before: Uint8Array;
  after: Uint8Array;
  message?: typeof ROUTE_CONFIGURATION | typeof VIRTUAL_HOST;
}

const ROUTE_CONFIGURATION = messageOf(ROUTE_TYPE);
const VIRTUAL_HOST = messageOf(VIRTUAL_HOST_TYPE);

/** The unified diff of one modified resource ('' when their decoded forms are equal). */
export function renderDiff(p: PendingDiff): string {
  const buf = (u: Uint8Array) => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  if (p.message) {
    const message = p.message;
    const decode = (bytes: Buffer) => readableMessage(message, bytes);
    return textDiff(readable(buf(p.before), decode), readable(buf(p.after), decode), p.label);
  }
  return p.typeUrl === ROUTE_TYPE ? routeConfigurationDiff(buf(p.before), buf(p.after), p.label) : resourceDiff(buf(p.before), buf(p.after), p.label);
}

/**
 * The text diffs a modified resource needs: one whole, or for a route configuration spliced
 * from the one before (cache/snapshot.ts RouteSplice) its changed parts, as
 * routeConfigurationDiff would split them (the fields besides virtual_hosts, then the changed
 * virtual hosts by name): equal text, without splitting two 1.4 MB configurations.
 */
function pendingOf(typeUrl: ResourceTypeUrl, label: string, x: SnapshotResource, y: SnapshotResource): PendingDiff[] {
  const splice = y.splice;
  if (typeUrl !== ROUTE_TYPE || !splice || splice.fromHash !== x.hash) return [{ typeUrl, label, before: x.anyBytes, after: y.anyBytes }];
  const parts: PendingDiff[] = [];
  if (!splice.shellBefore.equals(splice.shellAfter)) parts.push({ typeUrl, label, before: splice.shellBefore, after: splice.shellAfter, message: ROUTE_CONFIGURATION });
  const hosts = [...splice.hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const h of hosts) {
    if (h.before.equals(h.after)) continue;
    parts.push({ typeUrl, label: `${label}/virtual_hosts/${h.name}`, before: h.before, after: h.after, message: VIRTUAL_HOST });
  }
  return parts;
}

/**
 * What clients would see change between two sets of snapshots: per node kind (envoy, then
 * grpc) and type (LDS, RDS, CDS, EDS), the resources added, removed or modified, by name.
 * Resources are compared in their wire form: a type whose version is unchanged is skipped
 * whole, and only resources whose encoded bytes differ are decoded (so an edit of one
 * route in a config of 10,000 services decodes two resources, not 80,000). MODIFIED entries
 * carry a unified diff of the decoded form as YAML (for a route configuration, one per
 * changed virtual host). `before` undefined means nothing was served yet.
 */
export function diffResources(before: ReadonlyMap<NodeKind, Snapshot> | undefined, after: ReadonlyMap<NodeKind, Snapshot>): ResourceChange[] {
  return runSteps(finish(runSteps(listChanges(before, after)), (pending) => pending.map(renderDiff)));
}

/**
 * The same, with the text diffs written by `render` (e.g. on a worker thread: a 2,000-endpoint
 * assignment's YAML diff takes ~0.2 s of CPU). Only the modified resources' bytes go to it.
 */
export async function diffResourcesWith(
  before: ReadonlyMap<NodeKind, Snapshot> | undefined,
  after: ReadonlyMap<NodeKind, Snapshot>,
  render: (pending: PendingDiff[]) => Promise<string[]>,
): Promise<ResourceChange[]> {
  // In turns: a whole new config of 10,000 services lists 60,000 changes.
  const listed = await runStepsInTurns(listChanges(before, after));
  const pending = listed.flatMap((c) => c.pending ?? []);
  const diffs = pending.length > 0 ? await render(pending) : [];
  return runStepsInTurns(finish(listed, () => diffs));
}

/** A change, with the text diffs its `diff` is joined from (MODIFIED only). */
type Listed = ResourceChange & { pending?: PendingDiff[] };

function* finish(listed: Listed[], render: (pending: PendingDiff[]) => string[]): Steps<ResourceChange[]> {
  const diffs = render(listed.flatMap((c) => c.pending ?? []));
  const out: ResourceChange[] = [];
  let i = 0;
  for (const { pending, ...change } of listed) {
    if (stepDue()) yield;
    if (!pending) {
      out.push(change);
      continue;
    }
    let diff = '';
    for (let k = 0; k < pending.length; k++) diff += diffs[i++]!;
    if (diff !== '') out.push({ ...change, diff });
  }
  return out;
}

function* listChanges(before: ReadonlyMap<NodeKind, Snapshot> | undefined, after: ReadonlyMap<NodeKind, Snapshot>): Steps<Listed[]> {
  const kinds = NODE_KINDS.filter((k) => before?.has(k) || after.has(k));
  const changes: Listed[] = [];
  for (const nodeKind of kinds) {
    const old = before?.get(nodeKind);
    const neu = after.get(nodeKind);
    for (const { type, typeUrl } of TYPES) {
      const was = old?.sets[typeUrl];
      const is = neu?.sets[typeUrl];
      if (was && is && was.version === is.version) continue;
      // Only the changed names are sorted: a type of 10,000 resources changes in one or two.
      const changed: Listed[] = [];
      if (was && is?.patchOf?.from === was) {
        // The set was patched from the one before: only its replaced resources can differ.
        for (const name of is.patchOf.names) {
          const x = was.resources.get(name)!;
          const y = is.resources.get(name)!;
          if (x.hash === y.hash) continue;
          changed.push({ nodeKind, type, name, action: 'MODIFIED', pending: pendingOf(typeUrl, `${nodeKind}/${type}/${name}`, x, y) });
        }
        changes.push(...changed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
        continue;
      }
      for (const [name, y] of is?.resources ?? []) {
        const x = was?.resources.get(name);
        if (!x) changed.push({ nodeKind, type, name, action: 'ADDED' });
        else if (x.hash !== y.hash) changed.push({ nodeKind, type, name, action: 'MODIFIED', pending: pendingOf(typeUrl, `${nodeKind}/${type}/${name}`, x, y) });
        if (stepDue()) yield;
      }
      for (const name of was?.resources.keys() ?? []) {
        if (!is?.resources.has(name)) changed.push({ nodeKind, type, name, action: 'REMOVED' });
        if (stepDue()) yield;
      }
      changed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      yield;
      for (const c of changed) changes.push(c);
    }
  }
  return changes;
}
