import { hash as oneShotHash } from 'node:crypto';
import { encodeMessage } from '../envoy/encode';
import type { EnvoyMessageName, EnvoyMessages } from '../envoy/messages';
import { lookupEnvoyType } from '../envoy/protos';
import { encodeAny, encodeAnyOfParts, framedField } from '../envoy/wire';
import { referencesOf, virtualHostReferences } from './references';
import { IndexedResources } from './indexed-resources';
import { runSteps, type Steps } from '../util/steps';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  PUSH_ORDER,
  ROUTE_TYPE,
  SECRET_TYPE,
  VIRTUAL_HOST_TYPE,
  messageNameOf,
  messageOf,
  type MessageOf,
  type ResourceTypeUrl,
} from '../envoy/resource-types';
import type { EnvoyResources } from '../envoy/resources';
import { type NodeKind, targetKind, type NodeTarget } from '../model/node-targets';

/**
 * One xDS resource, encoded once. `anyBytes` is a whole google.protobuf.Any message
 * ({type_url, value}); every stream that sends the resource writes these same bytes.
 */
export interface SnapshotResource {
  readonly name: string;
  /** Content hash of `anyBytes` (sha256, 16 hex digits). */
  readonly hash: string;
  readonly anyBytes: Buffer;
  /** Names of REFERENCED_TYPE resources it needs (route configs of a listener, ...). */
  readonly refs: readonly string[];
  /** A route configuration spliced from the last one of its name: what changed, for diffs. */
  readonly splice?: RouteSplice;
}

/**
 * How a route configuration differs from the one it was spliced from (content hash `fromHash`):
 * its fields other than virtual_hosts before and after, and the virtual hosts that changed in
 * place (same name, same position), each encoded. A diff reads these few instead of splitting
 * both 1.4 MB configurations (diff/resource-diff.ts); it holds no reference to the older bytes.
 */
export interface RouteSplice {
  readonly fromHash: string;
  readonly shellBefore: Buffer;
  readonly shellAfter: Buffer;
  readonly hosts: readonly { readonly name: string; readonly before: Buffer; readonly after: Buffer }[];
}

/** All resources of one type in a snapshot, sorted by name. */
export interface ResourceSet {
  readonly typeUrl: ResourceTypeUrl;
  /** `resourcesVersion` of every resource: equal content ⇔ equal version. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
  /** The same resources as one sorted array, shared by every stream that gets them all. */
  readonly list: readonly SnapshotResource[];
  /**
   * Set when this set is `from` with only the resources named `names` replaced (same names,
   * same order; a one-route edit): a diff against `from` need look at those names only.
   */
  readonly patchOf?: { readonly from: ResourceSet; readonly names: readonly string[] };
}

/** What one kind of node is served at one config version. Immutable and shared by all its streams. */
export interface Snapshot {
  readonly kind: NodeKind;
  /** The kind, or for Envoys of an older API level that level (model/node-targets.ts). */
  readonly target: NodeTarget;
  /** The config version the snapshot was translated from (for status and "wait until applied"). */
  readonly configVersion: string;
  /** Hash over the four type versions: two snapshots with equal content have equal contentVersion. */
  readonly contentVersion: string;
  readonly sets: Readonly<Record<ResourceTypeUrl, ResourceSet>>;
}

const HASH_HEX_DIGITS = 16;

/**
 * sha256 in hex, one-shot: a stream computes the version of its own subset at every edit that
 * touches it (thousands of by-name clients), and createHash's object costs 2-3x the hash.
 */
function sha256Hex(data: string | Uint8Array): string {
  return oneShotHash('sha256', data, 'hex');
}

function shortHash(data: string | Uint8Array): string {
  return sha256Hex(data).slice(0, HASH_HEX_DIGITS);
}

/**
 * The version of a group of resources: a hash over their sorted names and content hashes.
 * A type's version in a snapshot, and the version a stream sends for a subset of it, both
 * come from here, so the same content always carries the same version (across restarts too).
 */
export function resourcesVersion(resources: Iterable<SnapshotResource>): string {
  // A stream's subscribed list is built sorted: no copy and sort for it.
  if (Array.isArray(resources) && isSortedByName(resources as readonly SnapshotResource[])) return versionOfSorted(resources as readonly SnapshotResource[]);
  return versionOfSorted([...resources].sort(byResourceName));
}

const byResourceName = (a: SnapshotResource, b: SnapshotResource): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function isSortedByName(list: readonly SnapshotResource[]): boolean {
  for (let i = 1; i < list.length; i++) if (!(list[i - 1]!.name < list[i]!.name)) return false;
  return true;
}

/** Resources per block of a long list's version (below that, the list is hashed as one block). */
const VERSION_BLOCK = 256;

function blockText(sorted: readonly SnapshotResource[], from: number, to: number): string {
  // One update of one string: 20,000 small updates cost several times more.
  let text = '';
  for (let i = from; i < to; i++) text += `${sorted[i]!.name}\n${sorted[i]!.hash}\n`;
  return text;
}

/** The block hashes of long sorted lists (a set's list): a set patched in a few places rehashes their blocks only. */
const listBlocks = new WeakMap<readonly SnapshotResource[], readonly string[]>();

/**
 * resourcesVersion of resources already sorted by name: a hash over their names and hashes;
 * for more than VERSION_BLOCK of them, a hash over the hashes of consecutive blocks of
 * VERSION_BLOCK (the same function of the list either way, so a set and a stream's subset of
 * the same resources agree). `patched`: the list is `from` with the positions `changed`
 * replaced, and only their blocks are hashed again.
 */
function versionOfSorted(sorted: readonly SnapshotResource[], patched?: { from: readonly SnapshotResource[]; changed: readonly number[] }): string {
  if (sorted.length <= VERSION_BLOCK) return shortHash(blockText(sorted, 0, sorted.length));
  const before = patched && patched.from.length === sorted.length ? listBlocks.get(patched.from) : undefined;
  let blocks: string[];
  if (before) {
    blocks = [...before];
    for (const b of new Set(patched!.changed.map((i) => Math.floor(i / VERSION_BLOCK)))) blocks[b] = blockHash(sorted, b);
  } else {
    blocks = [];
    for (let b = 0; b * VERSION_BLOCK < sorted.length; b++) blocks.push(blockHash(sorted, b));
  }
  return versionOfBlocks(sorted, blocks);
}

function versionOfBlocks(sorted: readonly SnapshotResource[], blocks: string[]): string {
  listBlocks.set(sorted, blocks);
  return shortHash(blocks.join('\n'));
}

/** versionOfSorted of a list built anew, a step per block (a new set of 10,000). */
function* versionOfSortedSteps(sorted: readonly SnapshotResource[]): Steps<string> {
  if (sorted.length <= VERSION_BLOCK) return versionOfSorted(sorted);
  const blocks: string[] = [];
  for (let b = 0; b * VERSION_BLOCK < sorted.length; b++) {
    blocks.push(blockHash(sorted, b));
    yield;
  }
  return versionOfBlocks(sorted, blocks);
}

function blockHash(sorted: readonly SnapshotResource[], block: number): string {
  const text = blockText(sorted, block * VERSION_BLOCK, Math.min(sorted.length, (block + 1) * VERSION_BLOCK));
  return sha256Hex(text);
}

/**
 * Remembers encodings across builds, keyed by the message's JSON: a config change re-encodes
 * only the resources (and virtual hosts) whose content changed. Every entry was produced by
 * the strict `encodeMessage` once, so a hit is as checked as a miss. Entries unused by the
 * latest build are dropped at `endBuild`, so the cache holds about one config's worth.
 *
 * Before the JSON key, a message is looked up by identity: the translation hands out the same
 * message object for a unit whose inputs did not change (translate/unit-memo.ts), and messages
 * are never modified once built, so such a message costs no key at all. Those entries live as
 * long as the message does (WeakMap).
 */
export class EncodeCache {
  private previous = new Map<string, Buffer>();
  private current = new Map<string, Buffer>();
  private previousResources = new Map<string, CachedResource>();
  private currentResources = new Map<string, CachedResource>();
  private readonly byObject = new WeakMap<object, Buffer>();
  private readonly resourceByObject = new WeakMap<object, CachedResource>();
  /** A virtual host's bytes framed as a RouteConfiguration field (tag, length, bytes). */
  readonly framed = new WeakMap<object, Buffer>();
  /** Whole snapshot entries of unchanged messages. */
  readonly entries = new WeakMap<object, SnapshotResource>();
  /** The latest set built per target and type: handed out again when nothing in it changed. */
  readonly lastSets = new Map<string, ResourceSet>();
  /** The message list each of `lastSets` was built from: the same list again is the same set. */
  readonly lastMessages = new Map<string, readonly unknown[]>();
  /** Large route configurations by name as last encoded: the next one is spliced from the hosts that changed. */
  readonly routeParts = new Map<string, RouteConfigurationParts>();
  /** Sets whose list is not in the order of the messages they were built from (sorted after). */
  readonly unaligned = new WeakSet<ResourceSet>();
  /** Names of routeParts written since the last endBuild (the rest are dropped there). */
  readonly routePartsUsed = new Set<string>();
  /**
   * Until the first build ends there is no earlier build whose content a JSON key could find:
   * the first build (a cold start: 60,000 messages at 10,000 services) keys by identity only.
   * Later builds key what identity misses, as before.
   */
  private cold = true;

  encode<K extends EnvoyMessageName>(typeName: K, message: EnvoyMessages[K]): Buffer {
    const known = this.byObject.get(message as object);
    if (known) return known;
    if (this.cold) {
      const bytes = encodeMessage(typeName, message);
      this.byObject.set(message as object, bytes);
      return bytes;
    }
    const key = keyOf(typeName, message);
    if (key === undefined) return encodeMessage(typeName, message);
    const bytes = this.current.get(key) ?? this.previous.get(key) ?? encodeMessage(typeName, message);
    this.current.set(key, bytes);
    this.byObject.set(message as object, bytes);
    return bytes;
  }

  /** A whole xDS resource (its Any bytes and content hash), built by `make` only when its content is new. */
  resource(typeUrl: ResourceTypeUrl, message: unknown, make: () => CachedResource): CachedResource {
    const known = this.resourceByObject.get(message as object);
    if (known) return known;
    if (this.cold) {
      const entry = make();
      this.resourceByObject.set(message as object, entry);
      return entry;
    }
    const key = keyOf(typeUrl, message);
    if (key === undefined) return make();
    const entry = this.currentResources.get(key) ?? this.previousResources.get(key) ?? make();
    this.currentResources.set(key, entry);
    this.resourceByObject.set(message as object, entry);
    return entry;
  }

  /** Call after each complete build (all node kinds): forgets what that build did not use. */
  endBuild(): void {
    this.cold = false;
    for (const name of this.routeParts.keys()) if (!this.routePartsUsed.has(name)) this.routeParts.delete(name);
    this.routePartsUsed.clear();
    this.previous = this.current;
    this.current = new Map();
    this.previousResources = this.currentResources;
    this.currentResources = new Map();
  }
}

interface CachedResource {
  readonly anyBytes: Buffer;
  readonly hash: string;
  readonly refs: readonly string[];
}

function keyOf(prefix: string, message: unknown): string | undefined {
  try {
    return `${prefix}\n${JSON.stringify(message)}`;
  } catch {
    return undefined; // not JSON-able (never expected): no caching
  }
}

const ROUTE_CONFIGURATION = messageOf(ROUTE_TYPE);
const VIRTUAL_HOST = messageOf(VIRTUAL_HOST_TYPE);
let virtualHostsField: number | undefined;

type RouteConfiguration = EnvoyMessages[typeof ROUTE_CONFIGURATION];
type VirtualHost = NonNullable<RouteConfiguration['virtual_hosts']>[number];

/** A route configuration as last encoded under its name: its virtual hosts, their framed bytes and its references. */
export interface RouteConfigurationParts {
  readonly hosts: readonly VirtualHost[];
  readonly chunks: readonly Buffer[];
  /** `chunks` joined BLOCK_HOSTS at a time: a changed host re-joins its block, not the whole configuration. */
  readonly blocks: readonly Buffer[];
  readonly refs: readonly string[];
  readonly head: Buffer;
  readonly hash: string;
}

/** Route configurations with fewer virtual hosts are encoded whole each time (a pass over them costs nothing worth remembering). */
const REMEMBERED_HOSTS = 32;
/** Virtual hosts per joined block of a remembered route configuration. */
const BLOCK_HOSTS = 128;

function joinBlock(chunks: readonly Buffer[], block: number): Buffer {
  return Buffer.concat(chunks.slice(block * BLOCK_HOSTS, (block + 1) * BLOCK_HOSTS));
}

/** A virtual host's bytes framed as a RouteConfiguration field (tag, length, bytes), once per host message. */
function* framedHost(host: VirtualHost, cache: EncodeCache): Steps<Buffer> {
  let chunk = cache.framed.get(host);
  if (!chunk) {
    virtualHostsField ??= lookupEnvoyType(ROUTE_CONFIGURATION).fields.virtual_hosts!.id;
    const bytes = cache.encode(VIRTUAL_HOST, host);
    chunk = framedField(virtualHostsField, bytes);
    cache.framed.set(host, chunk);
    yield;
  }
  return chunk;
}

/**
 * A RouteConfiguration is encoded as its fields without virtual_hosts followed by each virtual
 * host as its own length-delimited field (protobuf allows fields in any order): a route
 * config of 10,000 virtual hosts changed in one is re-encoded for one, not 10,000. When the
 * last one of this name had as many hosts, all but a few of them the same objects, its
 * framed hosts and references are taken over and only the changed hosts are read (a one-route
 * edit of 10,000 services: no pass over the other 9,999). Returns the Any bytes and references.
 */
function* encodeRouteConfiguration(
  typeUrl: ResourceTypeUrl,
  message: RouteConfiguration,
  name: string,
  cache: EncodeCache,
): Steps<{ anyBytes: Buffer; hash: string; refs: readonly string[]; splice?: RouteSplice }> {
  const { virtual_hosts: hosts = [], ...shell } = message;
  const head = cache.encode(ROUTE_CONFIGURATION, shell);
  const before = hosts.length >= REMEMBERED_HOSTS ? cache.routeParts.get(name) : undefined;
  const changed = before ? changedHosts(before.hosts, hosts) : undefined;
  let chunks: Buffer[];
  let refs: readonly string[] | undefined;
  let splice: RouteSplice | undefined;
  if (before && changed) {
    chunks = [...before.chunks];
    for (const i of changed) chunks[i] = yield* framedHost(hosts[i]!, cache);
    if (sameReferences(changed.map((i) => before.hosts[i]!), changed.map((i) => hosts[i]!))) refs = before.refs;
    if (changed.every((i) => hosts[i]!.name === before.hosts[i]!.name)) {
      const raw = (host: VirtualHost) => cache.encode(VIRTUAL_HOST, host);
      const changedHosts = changed.map((i) => Object.freeze({ name: hosts[i]!.name ?? '', before: raw(before.hosts[i]!), after: raw(hosts[i]!) }));
      splice = Object.freeze({ fromHash: before.hash, shellBefore: before.head, shellAfter: head, hosts: Object.freeze(changedHosts) });
    }
  } else {
    chunks = new Array<Buffer>(hosts.length);
    for (let i = 0; i < hosts.length; i++) chunks[i] = yield* framedHost(hosts[i]!, cache);
  }
  refs ??= hosts.length < REMEMBERED_HOSTS ? Object.freeze(referencesOf(typeUrl, message)) : yield* hostReferencesSteps(hosts);
  if (hosts.length < REMEMBERED_HOSTS) {
    const anyBytes = encodeAnyOfParts(typeUrl, [head, ...chunks]);
    return { anyBytes, hash: shortHash(anyBytes), refs };
  }
  let blocks: Buffer[];
  if (before && changed) {
    blocks = [...before.blocks];
    for (const block of new Set(changed.map((i) => Math.floor(i / BLOCK_HOSTS)))) blocks[block] = joinBlock(chunks, block);
  } else {
    blocks = [];
    for (let b = 0; b * BLOCK_HOSTS < chunks.length; b++) {
      blocks.push(joinBlock(chunks, b));
      yield;
    }
  }
  const anyBytes = encodeAnyOfParts(typeUrl, [head, ...blocks]);
  const hash = shortHash(anyBytes);
  cache.routeParts.set(name, { hosts, chunks, blocks, refs, head, hash });
  cache.routePartsUsed.add(name);
  return { anyBytes, hash, refs, ...(splice ? { splice } : {}) };
}

/** referencesOf a route configuration of these virtual hosts, a step per 256 hosts (10,000 of them are a new config's). */
function* hostReferencesSteps(hosts: readonly VirtualHost[]): Steps<readonly string[]> {
  const names = new Set<string>();
  for (let i = 0; i < hosts.length; i++) {
    for (const name of virtualHostReferences(hosts[i]!)) names.add(name);
    if ((i & 255) === 255) yield;
  }
  return Object.freeze([...names].sort());
}

/** Positions where `hosts` holds another object than `before` (at most MAX_PATCHED), or undefined (other length, many changes). */
function changedHosts(before: readonly VirtualHost[], hosts: readonly VirtualHost[]): number[] | undefined {
  if (before.length !== hosts.length) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < hosts.length; i++) {
    if (before[i] !== hosts[i] && changed.push(i) > MAX_PATCHED) return undefined;
  }
  return changed;
}

/** Whether two groups of virtual hosts name the same clusters, each as often (then a route configuration's references stay). */
function sameReferences(a: readonly VirtualHost[], b: readonly VirtualHost[]): boolean {
  const count = new Map<string, number>();
  for (const host of a) for (const name of virtualHostReferences(host)) count.set(name, (count.get(name) ?? 0) + 1);
  for (const host of b) {
    for (const name of virtualHostReferences(host)) {
      const n = count.get(name);
      if (!n) return false;
      count.set(name, n - 1);
    }
  }
  for (const n of count.values()) if (n !== 0) return false;
  return true;
}

/** At most this many changed resources make a set patched from the previous one instead of built anew. */
const MAX_PATCHED = 64;

/**
 * Where `messages` differ from the previous set's entries, position by position: [] when
 * nothing of this type changed, undefined when the lists differ in length or in more than
 * MAX_PATCHED places (then the set is built anew).
 */
function changedPositions(previous: ResourceSet | undefined, messages: readonly unknown[], cache: EncodeCache, before: readonly unknown[] | undefined): number[] | undefined {
  if (!previous || previous.list.length !== messages.length) return undefined;
  // The messages the previous set was built from, position by position (not for a set sorted
  // after it was built): the same message there has the same entry, found without a lookup.
  const aligned = before && !cache.unaligned.has(previous) ? before : undefined;
  const changed: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    if (aligned?.[i] === messages[i]) continue;
    if (cache.entries.get(messages[i] as object) === previous.list[i]) continue;
    if (changed.push(i) > MAX_PATCHED) return undefined;
  }
  return changed;
}

/**
 * The previous set with the resources at `changed` re-encoded: when each keeps its name (a
 * resource edited in place), the order and the uniqueness of names are the previous set's, so
 * the list and the map are copies with those entries replaced, not rebuilt and re-checked.
 * Undefined when a name differs (then the set is built anew). Equal to buildNewSet's set.
 */
function* patchedSet<K extends EnvoyMessageName>(
  typeUrl: ResourceTypeUrl,
  previous: ResourceSet,
  messages: readonly EnvoyMessages[K][],
  changed: readonly number[],
  nameOf: (m: EnvoyMessages[K]) => string | undefined,
  cache: EncodeCache,
): Steps<ResourceSet | undefined> {
  for (const i of changed) if (nameOf(messages[i]!) !== previous.list[i]!.name) return undefined;
  let list: SnapshotResource[] | undefined;
  const names: string[] = [];
  const replaced: number[] = [];
  for (const i of changed) {
    const was = previous.list[i]!;
    const entry = yield* entryOf(typeUrl, messages[i]!, was.name, cache);
    if (entry.hash === was.hash && entry.anyBytes.equals(was.anyBytes)) {
      // A new message with the same content (a unit redone for an unrelated input): the old
      // entry stays, and with it the set when nothing else changed.
      cache.entries.set(messages[i] as object, was);
      continue;
    }
    // Spread, not slice(): slice() of a frozen array takes V8's slow path (~1 ms at 10,000).
    (list ??= [...previous.list])[i] = entry;
    names.push(entry.name);
    replaced.push(i);
  }
  if (!list) return previous;
  Object.freeze(list);
  // Same names at the same positions: the previous set's index serves this one too.
  const resources = new IndexedResources(list, IndexedResources.indexOf(previous.resources, previous.list));
  return Object.freeze({ typeUrl, version: versionOfSorted(list, { from: previous.list, changed: replaced }), resources, list, patchOf: Object.freeze({ from: previous, names: Object.freeze(names) }) });
}

/** The snapshot entry of one message, encoded (or found in the cache) and remembered for the message. */
function* entryOf<K extends EnvoyMessageName>(typeUrl: ResourceTypeUrl, message: EnvoyMessages[K], name: string, cache: EncodeCache): Steps<SnapshotResource> {
  const typeName = messageNameOf(typeUrl) as K;
  const made = (payload: Buffer): CachedResource => {
    const anyBytes = encodeAny(typeUrl, payload);
    return { anyBytes, hash: shortHash(anyBytes), refs: Object.freeze(referencesOf(typeUrl, message)) };
  };
  // A route configuration is spliced from cached virtual hosts (a big one changes often in
  // one place); any other resource is cached whole, Any bytes and hash included.
  if (typeName === ROUTE_CONFIGURATION) {
    const { anyBytes, hash, refs, splice } = yield* encodeRouteConfiguration(typeUrl, message as RouteConfiguration, name, cache);
    const entry: SnapshotResource = Object.freeze({ name, hash, anyBytes, refs, ...(splice ? { splice } : {}) });
    cache.entries.set(message as object, entry);
    return entry;
  }
  const { anyBytes, hash, refs } = cache.resource(typeUrl, message, () => made(encodeMessage(typeName, message)));
  const entry: SnapshotResource = Object.freeze({ name, hash, anyBytes, refs });
  cache.entries.set(message as object, entry);
  return entry;
}

function* buildSet<K extends EnvoyMessageName>(
  typeUrl: ResourceTypeUrl,
  messages: readonly EnvoyMessages[K][],
  nameOf: (m: EnvoyMessages[K]) => string | undefined,
  cache: EncodeCache,
  target: NodeTarget,
): Steps<ResourceSet> {
  const slot = `${target}\n${typeUrl}`;
  const previous = cache.lastSets.get(slot);
  // The same list (the translation's memo hands it out again when nothing in it changed).
  if (previous && cache.lastMessages.get(slot) === messages) return previous;
  const changed = changedPositions(previous, messages, cache, cache.lastMessages.get(slot));
  let set: ResourceSet | undefined = changed?.length === 0 ? previous : undefined;
  if (!set && changed && previous) set = yield* patchedSet(typeUrl, previous, messages, changed, nameOf, cache);
  set ??= asPatchOf(previous, yield* buildNewSet(typeUrl, messages, nameOf, cache));
  cache.lastSets.set(slot, set);
  cache.lastMessages.set(slot, messages);
  return set;
}

/**
 * A set built anew from new message objects (the translation made every resource of the type
 * again: proxyless gRPC route configurations) that holds the previous set's names in the same
 * order, all but a few with the same content: the previous set with those few replaced, as
 * patchedSet would have made it. Streams subscribing by name then see a patch (xds/stream-shares
 * derives their lists from the previous ones) and the unchanged entries keep their identity.
 * Otherwise `built` itself.
 */
function asPatchOf(previous: ResourceSet | undefined, built: ResourceSet): ResourceSet {
  if (!previous || previous.list.length !== built.list.length || previous.version === built.version && previous.list === built.list) return built;
  const replaced: number[] = [];
  for (let i = 0; i < built.list.length; i++) {
    const [was, is] = [previous.list[i]!, built.list[i]!];
    if (was.name !== is.name) return built;
    if (was.hash !== is.hash && replaced.push(i) > MAX_PATCHED) return built;
  }
  if (replaced.length === 0) return previous;
  const list = [...previous.list];
  for (const i of replaced) list[i] = built.list[i]!;
  Object.freeze(list);
  const resources = new IndexedResources(list, IndexedResources.indexOf(previous.resources, previous.list));
  const names = Object.freeze(replaced.map((i) => list[i]!.name));
  // Same names and hashes as `built`: the same version.
  return Object.freeze({ typeUrl: built.typeUrl, version: built.version, resources, list, patchOf: Object.freeze({ from: previous, names }) });
}

function* buildNewSet<K extends EnvoyMessageName>(
  typeUrl: ResourceTypeUrl,
  messages: readonly EnvoyMessages[K][],
  nameOf: (m: EnvoyMessages[K]) => string | undefined,
  cache: EncodeCache,
): Steps<ResourceSet> {
  const typeName = messageNameOf(typeUrl) as K;
  const byName = new Map<string, SnapshotResource>();
  // The translation sorts by name: then the entries need no sort of their own.
  let inOrder = true;
  let last: string | undefined;
  const add = (entry: SnapshotResource) => {
    if (last !== undefined && !(last < entry.name)) inOrder = false;
    last = entry.name;
    byName.set(entry.name, entry);
  };
  for (const [i, message] of messages.entries()) {
    const known = cache.entries.get(message as object);
    if (known) {
      if (byName.has(known.name)) throw new Error(`${typeName}[${i}]: duplicate resource name ${JSON.stringify(known.name)}`);
      add(known);
      continue;
    }
    const name = nameOf(message);
    if (!name) throw new Error(`${typeName}[${i}]: a resource needs a name`);
    if (byName.has(name)) throw new Error(`${typeName}[${i}]: duplicate resource name ${JSON.stringify(name)}`);
    add(yield* entryOf(typeUrl, message, name, cache));
    yield;
  }
  if (inOrder) {
    const list = Object.freeze([...byName.values()]);
    return Object.freeze({ typeUrl, version: yield* versionOfSortedSteps(list), resources: byName, list });
  }
  const list = Object.freeze([...byName.values()].sort(byResourceName));
  const sorted = new Map(list.map((r) => [r.name, r]));
  const set: ResourceSet = Object.freeze({ typeUrl, version: yield* versionOfSortedSteps(list), resources: sorted, list });
  cache.unaligned.add(set);
  return set;
}

/**
 * Encodes every resource through the real Envoy protos (once per content: pass the same
 * `cache` to successive builds). Throws (EncodeError or a plain Error for missing/duplicate
 * names) when the translator produced something invalid.
 */
export function buildSnapshot(resources: EnvoyResources, target: NodeTarget, configVersion: string, cache = new EncodeCache()): Snapshot {
  return runSteps(buildSnapshotSteps(resources, target, configVersion, cache));
}

/** buildSnapshot as steps, one per resource (or virtual host) encoded: for callers that let the event loop in between. */
export function* buildSnapshotSteps(resources: EnvoyResources, target: NodeTarget, configVersion: string, cache = new EncodeCache()): Steps<Snapshot> {
  const sets: Record<ResourceTypeUrl, ResourceSet> = {
    [LISTENER_TYPE]: yield* buildSet<MessageOf<typeof LISTENER_TYPE>>(LISTENER_TYPE, resources.listeners, (m) => m.name, cache, target),
    [ROUTE_TYPE]: yield* buildSet<MessageOf<typeof ROUTE_TYPE>>(ROUTE_TYPE, resources.routes, (m) => m.name, cache, target),
    [CLUSTER_TYPE]: yield* buildSet<MessageOf<typeof CLUSTER_TYPE>>(CLUSTER_TYPE, resources.clusters, (m) => m.name, cache, target),
    [ENDPOINT_TYPE]: yield* buildSet<MessageOf<typeof ENDPOINT_TYPE>>(
      ENDPOINT_TYPE,
      resources.endpoints,
      (m) => m.cluster_name,
      cache,
      target,
    ),
    [SECRET_TYPE]: yield* buildSet<MessageOf<typeof SECRET_TYPE>>(SECRET_TYPE, resources.secrets ?? [], (m) => m.name, cache, target),
  };
  const contentVersion = shortHash(PUSH_ORDER.map((t) => `${t}=${sets[t].version}`).join('\n'));
  return Object.freeze({ kind: targetKind(target), target, configVersion, contentVersion, sets: Object.freeze(sets) });
}
