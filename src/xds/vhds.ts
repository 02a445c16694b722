/**
 * Virtual host discovery (VHDS) for delta Envoy nodes: each RouteConfiguration goes out as a
 * stub without virtual hosts (with `vhds` over ADS), and each of its virtual hosts as its own
 * envoy.config.route.v3.VirtualHost resource named `<route config>/<virtual host>`. A one-route
 * edit then sends one virtual host, not the whole route configuration (1.4 MB at 10,000
 * services).
 *
 * Envoy (router/vhds.cc) subscribes to VirtualHost resources by the route config's name with
 * namespace matching: a subscription to `main` covers every resource named `main/...`. It
 * keys the virtual hosts it holds by the VirtualHost's own `name`, and removes them by
 * resource name, so the message's name is rewritten to the resource name.
 *
 * The view is derived from the snapshot's encoded bytes (no re-translation): the route
 * config's top-level fields are split at the wire level, so the stub and the virtual hosts
 * are exactly the bytes the full RouteConfiguration carries.
 */
import { createHash } from 'node:crypto';
import * as protobuf from 'protobufjs';
import { resourcesVersion, type ResourceSet, type SnapshotResource } from '../cache/snapshot';
import { referencesOf } from '../cache/references';
import { encodeMessage } from '../envoy/encode';
import { lookupEnvoyType } from '../envoy/protos';
import { messageOf, ROUTE_TYPE, VIRTUAL_HOST_TYPE } from '../envoy/resource-types';

const ROUTE_CONFIGURATION = messageOf(ROUTE_TYPE);
const VIRTUAL_HOST = messageOf(VIRTUAL_HOST_TYPE);
const LENGTH_DELIMITED = 2;

/** What a VHDS stream is served instead of the snapshot's RDS set. */
export interface VhdsView {
  /** Route configurations without virtual hosts, with `vhds` over ADS. */
  readonly routes: ResourceSet;
  /** Every virtual host of every route configuration, named `<route config>/<virtual host>`. */
  readonly virtualHosts: ResourceSet;
}

/** The route config a VirtualHost resource name belongs to (Envoy's namespace: up to the last '/'). */
export function namespaceOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

/**
 * The VHDS forms of route sets, per ADS server (held by StreamShares, reached through
 * SnapshotShare.vhdsView). Keyed by route set, so snapshots that share their RDS set share the
 * view too, and a stream in sync stays in sync by identity.
 */
export class VhdsViews {
  private readonly views = new WeakMap<ResourceSet, VhdsView>();
  /** Virtual host resources of the latest view, by route config name and content: an edit re-derives only what changed. */
  private latestHosts = new Map<string, SnapshotResource>();

  /** The VHDS form of a snapshot's route configurations; computed once per route set. */
  of(routes: ResourceSet): VhdsView {
    const view = this.views.get(routes);
    if (view) return view;
    const { view: next, hosts } = deriveView(routes, this.latestHosts);
    this.latestHosts = hosts;
    this.views.set(routes, next);
    return next;
  }
}

function deriveView(routes: ResourceSet, reuse: ReadonlyMap<string, SnapshotResource>): { view: VhdsView; hosts: Map<string, SnapshotResource> } {
  const nextHosts = new Map<string, SnapshotResource>();
  const stubs: SnapshotResource[] = [];
  const hosts: SnapshotResource[] = [];
  for (const rc of routes.list) {
    const { stub, virtualHosts } = split(rc.anyBytes);
    const stubAny = encodeAny(ROUTE_TYPE, Buffer.concat([stub, vhdsOverAds()]));
    stubs.push(Object.freeze({ name: rc.name, hash: shortHash(stubAny), anyBytes: stubAny, refs: Object.freeze([]) }));
    for (const bytes of virtualHosts) {
      const key = `${rc.name}\n${shortHash(bytes)}`;
      let r = reuse.get(key) ?? nextHosts.get(key);
      r ??= virtualHostResource(rc.name, bytes);
      nextHosts.set(key, r);
      hosts.push(r);
    }
  }
  const view = Object.freeze({ routes: resourceSet(ROUTE_TYPE, stubs), virtualHosts: resourceSet(VIRTUAL_HOST_TYPE, hosts) });
  return { view, hosts: nextHosts };
}

function virtualHostResource(routeConfig: string, bytes: Buffer): SnapshotResource {
  const decoded = lookupEnvoyType(VIRTUAL_HOST).decode(bytes) as unknown as { name?: string };
  const name = `${routeConfig}/${decoded.name ?? ''}`;
  // Its own name field last: protobuf keeps the last value of a repeated scalar field.
  const renamed = Buffer.concat([bytes, encodeMessage(VIRTUAL_HOST, { name })]);
  const anyBytes = encodeAny(VIRTUAL_HOST_TYPE, renamed);
  const refs = referencesOf(ROUTE_TYPE, { virtual_hosts: [decoded] });
  return Object.freeze({ name, hash: shortHash(anyBytes), anyBytes, refs: Object.freeze(refs) });
}

let vhdsBytes: Buffer | undefined;

/** `vhds: {config_source: {ads: {}, resource_api_version: V3}}`, encoded through the real protos. */
function vhdsOverAds(): Buffer {
  return (vhdsBytes ??= encodeMessage(ROUTE_CONFIGURATION, { vhds: { config_source: { ads: {}, resource_api_version: 'V3' } } }));
}

/** An encoded Any{RouteConfiguration} → its fields except virtual_hosts, and each virtual host's bytes. */
function split(anyBytes: Buffer): { stub: Buffer; virtualHosts: Buffer[] } {
  const any = lookupEnvoyType('google.protobuf.Any').decode(anyBytes) as unknown as { value: Uint8Array };
  const value = Buffer.from(any.value.buffer, any.value.byteOffset, any.value.byteLength);
  const hostsField = lookupEnvoyType(ROUTE_CONFIGURATION).fields.virtual_hosts!.id;
  const reader = protobuf.Reader.create(value);
  const stub: Buffer[] = [];
  const virtualHosts: Buffer[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === hostsField && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      virtualHosts.push(value.subarray(reader.pos, reader.pos + length));
      reader.skip(length);
    } else {
      reader.skipType(tag & 7);
      stub.push(value.subarray(start, reader.pos));
    }
  }
  return { stub: Buffer.concat(stub), virtualHosts };
}

function encodeAny(typeUrl: string, value: Buffer): Buffer {
  const anyType = lookupEnvoyType('google.protobuf.Any');
  return Buffer.from(anyType.encode(anyType.fromObject({ type_url: typeUrl, value })).finish());
}

function shortHash(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

function resourceSet(typeUrl: string, resources: SnapshotResource[]): ResourceSet {
  const list = Object.freeze([...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  return Object.freeze({
    typeUrl: typeUrl as ResourceSet['typeUrl'],
    version: resourcesVersion(list),
    resources: new Map(list.map((r) => [r.name, r])),
    list,
  });
}
