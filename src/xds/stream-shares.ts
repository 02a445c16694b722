import type { Snapshot, SnapshotResource } from '../cache/snapshot';
import { resourcesVersion } from '../cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from '../envoy/resource-types';
import { encodeDeltaDiscoveryResponse, encodeDeltaResource, encodeDiscoveryResponse } from './discovery-codec';
import { VhdsViews, namespaceOf, type VhdsView } from './vhds';
import { covers, type Subscription } from './subscription';

/**
 * What the streams of one ADS server share, so that thousands of streams in the same state do
 * the work of one: interned subscription name sets, and per snapshot a `SnapshotShare` holding
 * everything derived from that snapshot (sorted subscriptions, diffs, encoded responses). A
 * share lives as long as some stream still holds its snapshot; nothing here is module-level.
 */
export class StreamShares {
  private readonly snapshots = new WeakMap<Snapshot, SnapshotShare>();
  private readonly interned = new Map<string, WeakRef<ReadonlySet<string>>>();
  private readonly internCleanup = new FinalizationRegistry<string>((key) => {
    if (!this.interned.get(key)?.deref()) this.interned.delete(key);
  });
  private readonly hashes = new WeakMap<readonly SnapshotResource[], ReadonlyMap<string, string>>();
  /** Least recently used first (see subscribedOf). */
  private readonly subscribedLists = new Map<string, WeakMap<ReadonlySet<string>, Subscribed>>();
  private responseCounter = 0;
  /** VHDS forms of route sets (per route set, so snapshots that share one share its view). */
  readonly vhdsViews = new VhdsViews();

  /** `controlPlane`: the pre-encoded envoy.config.core.v3.ControlPlane every response carries. */
  constructor(readonly controlPlane?: Buffer) {}

  of(snapshot: Snapshot): SnapshotShare {
    let share = this.snapshots.get(snapshot);
    if (!share) this.snapshots.set(snapshot, (share = new SnapshotShare(snapshot, this)));
    return share;
  }

  /**
   * Subscribed lists by (type, content version of the type's set): a snapshot whose set of a
   * type has the version of an earlier one (an edit elsewhere; sets are rebuilt per snapshot)
   * takes the earlier lists: same names, same content hashes, so the same bytes and version.
   * Proxyless clients each subscribe to their own names, and computing every stream's list of
   * every type per snapshot was most of a push. The last few versions are kept.
   */
  /** The lists kept for (type, version), if any, without touching their age (subscribedOf does). */
  subscribedAt(typeUrl: ResourceTypeUrl, version: string): WeakMap<ReadonlySet<string>, Subscribed> | undefined {
    return this.subscribedLists.get(`${typeUrl}\n${version}`);
  }

  subscribedOf(typeUrl: ResourceTypeUrl, version: string): WeakMap<ReadonlySet<string>, Subscribed> {
    const key = `${typeUrl}\n${version}`;
    let byNames = this.subscribedLists.get(key);
    if (byNames) this.subscribedLists.delete(key);
    else byNames = new WeakMap();
    this.subscribedLists.set(key, byNames);
    if (this.subscribedLists.size > SUBSCRIBED_VERSIONS_KEPT) this.subscribedLists.delete(this.subscribedLists.keys().next().value!);
    return byNames;
  }

  /** Streams subscribing to the same names share one frozen Set (memory, and memo hits): equal names ⇔ the same set. */
  internNames(names: Iterable<string>): ReadonlySet<string> {
    const sorted = [...new Set(names)].sort();
    if (sorted.length === 0) return NO_NAMES;
    const key = sorted.join('\n');
    const existing = this.interned.get(key)?.deref();
    if (existing) return existing;
    const set: ReadonlySet<string> = Object.freeze(new Set(sorted));
    this.interned.set(key, new WeakRef(set));
    this.internCleanup.register(set, key);
    return set;
  }

  /** name → content hash of a sent list (lists are shared by streams, so is this map). */
  hashesOf(list: readonly SnapshotResource[]): ReadonlyMap<string, string> {
    let m = this.hashes.get(list);
    if (!m) this.hashes.set(list, (m = new Map(list.map((r) => [r.name, r.hash]))));
    return m;
  }

  /**
   * A nonce for a new shared response. Unique within the server, so a stream never gets the
   * same nonce for two different responses; a stream resending the very same response gets a
   * variant of its own (see SnapshotShare.sotwResponse callers).
   */
  nextNonce(): string {
    return `s${++this.responseCounter}`;
  }
}

export const NO_NAMES: ReadonlySet<string> = Object.freeze(new Set<string>());
const NO_RESOURCES: readonly SnapshotResource[] = Object.freeze([]);
/**
 * Lists of at most this many resources (a proxyless client's own subscription: a few names)
 * are checked directly rather than through a per-snapshot memo: no stream shares such a list,
 * so a memo entry would be made per stream and never hit, at the cost of a WeakMap entry.
 */
const SMALL_LIST = 16;
/** (type, version) pairs whose subscribed lists StreamShares keeps: a few snapshots of four types. */
const SUBSCRIBED_VERSIONS_KEPT = 16;
/** Memo keys for a subscription that is a wildcard, or not requested at all (routedCovered). */
const EVERY_NAME: ReadonlySet<string> = Object.freeze(new Set<string>());
const NOT_REQUESTED: ReadonlySet<string> = Object.freeze(new Set<string>());

/** A SotW response shared by every stream that sends it: the same nonce, the same bytes. */
export interface SharedSotwResponse {
  readonly nonce: string;
  readonly wire: Buffer;
}

/** A delta response shared likewise, with what it changes on a client once ACKed (name → version, '' removed). */
export interface SharedDeltaResponse {
  readonly nonce: string;
  readonly wire: Buffer;
  readonly changes: ReadonlyMap<string, string>;
  /** Its encoded envoy.service.discovery.v3.Resource entries (what `wire` carries), one list for every stream. */
  readonly resources: readonly { resourceBytes: Buffer }[];
}

/**
 * One name set's subscribed resources of a type at one content version of the type's set, and
 * their version. `response`: the SotW response carrying them, encoded once for every stream
 * that sends it (same names, same bytes: it holds for any snapshot whose set has this version).
 */
export interface Subscribed {
  readonly resources: readonly SnapshotResource[];
  readonly version: string;
  response?: SharedSotwResponse;
}

interface PatchedLists {
  readonly lists: WeakMap<ReadonlySet<string>, Subscribed>;
  readonly replaced: ReadonlyMap<string, SnapshotResource>;
}

/** Everything streams derive from one snapshot, computed once for all of them. */
export class SnapshotShare {
  private readonly subscribedMemo = new Map<ResourceTypeUrl, WeakMap<ReadonlySet<string>, Subscribed>>();
  private readonly patches = new Map<ResourceTypeUrl, PatchedLists | null>();
  private readonly refsMemo = new WeakMap<readonly SnapshotResource[], WeakMap<ReadonlySet<string>, boolean>>();
  private readonly coveredMemo = new WeakMap<readonly SnapshotResource[], WeakMap<ReadonlySet<string>, WeakMap<ReadonlySet<string>, boolean>>>();
  private readonly routedMemo = { clusters: new WeakMap<readonly SnapshotResource[], WeakMap<readonly SnapshotResource[], boolean>>(), endpoints: new WeakMap() };
  /** Keyed by the set diffed to (a type of this snapshot, or a VHDS view of it), then by the map diffed from. */
  private readonly diffs = new WeakMap<ReadonlyMap<string, SnapshotResource>, WeakMap<ReadonlyMap<string, SnapshotResource>, SetDiff>>();
  private readonly updated = new WeakMap<readonly SnapshotResource[], WeakMap<readonly SnapshotResource[], boolean>>();
  private readonly missing = new Map<ResourceTypeUrl, WeakMap<readonly SnapshotResource[], readonly SnapshotResource[]>>();
  private readonly deltaResources = new Map<SnapshotResource, { resourceBytes: Buffer }>();
  private readonly sotwResponses = new WeakMap<readonly SnapshotResource[], Map<string, SharedSotwResponse>>();
  private readonly deltaResponses = new WeakMap<readonly SnapshotResource[], WeakMap<readonly string[], Map<string, SharedDeltaResponse>>>();
  private vhds?: VhdsView;
  private readonly namespaceLists = new WeakMap<readonly unknown[], WeakMap<ReadonlySet<string>, readonly unknown[]>>();

  constructor(
    readonly snapshot: Snapshot,
    readonly shares: StreamShares,
  ) {}

  /** The subscribed resources of one type, sorted, and their version; once per (type, interned name set). */
  subscribed(typeUrl: ResourceTypeUrl, names: ReadonlySet<string>): Subscribed {
    let byNames = this.subscribedMemo.get(typeUrl);
    if (!byNames) this.subscribedMemo.set(typeUrl, (byNames = this.shares.subscribedOf(typeUrl, this.snapshot.sets[typeUrl].version)));
    const known = byNames.get(names);
    if (known) return known;
    const entry = this.patchedSubscription(typeUrl, names) ?? this.lookUp(typeUrl, names);
    byNames.set(names, entry);
    return entry;
  }

  /**
   * The list of a set patched from an earlier one (a one-route edit: same names, a few resources
   * replaced) derived from the earlier set's list for the same names, without looking each name
   * up in a map of 10,000: the earlier entry itself when none of its resources was replaced.
   */
  private patchedSubscription(typeUrl: ResourceTypeUrl, names: ReadonlySet<string>): Subscribed | undefined {
    const patch = this.patchOf(typeUrl);
    const before = patch?.lists.get(names);
    if (!patch || !before) return undefined;
    // Usually one name was replaced: asked of the stream's own small set, not of each resource.
    let hit = false;
    for (const name of patch.replaced.keys()) if (names.has(name)) hit = true;
    if (!hit) return before;
    const resources = Object.freeze(before.resources.map((r) => patch.replaced.get(r.name) ?? r));
    return { resources, version: resourcesVersion(resources) };
  }

  /** For a set patched from an earlier one: the earlier set's subscribed lists, and the resources replaced by name; once per type. */
  private patchOf(typeUrl: ResourceTypeUrl): PatchedLists | undefined {
    let out = this.patches.get(typeUrl);
    if (out === undefined) {
      const set = this.snapshot.sets[typeUrl];
      const lists = set.patchOf && this.shares.subscribedAt(typeUrl, set.patchOf.from.version);
      const replaced = new Map<string, SnapshotResource>();
      for (const name of set.patchOf?.names ?? []) {
        const r = set.resources.get(name);
        if (r) replaced.set(name, r);
      }
      out = lists ? { lists, replaced } : null;
      this.patches.set(typeUrl, out);
    }
    return out ?? undefined;
  }

  private lookUp(typeUrl: ResourceTypeUrl, names: ReadonlySet<string>): Subscribed {
    const resources = this.snapshot.sets[typeUrl].resources;
    // Interned sets iterate in name order (internNames sorts): the list comes out sorted, and
    // resourcesVersion hashes it without a copy. A set that is not (never expected) is sorted here.
    const out: SnapshotResource[] = [];
    let last = '';
    let sorted = true;
    for (const name of names) {
      if (name < last) sorted = false;
      last = name;
      const r = resources.get(name);
      if (r) out.push(r);
    }
    if (!sorted) out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { resources: Object.freeze(out), version: resourcesVersion(out) };
  }

  /**
   * True if every resource of `resources` refers only to names subscribed in `dst` (undefined:
   * nothing of that type is subscribed). Once per (resource list, name set).
   */
  refsSubscribed(resources: readonly SnapshotResource[], dst: Subscription | undefined): boolean {
    if (dst?.requested && dst.wildcard) return true;
    const names = dst?.requested ? dst.names : NO_NAMES;
    // A by-name client's few resources are checked directly: a memo entry per stream costs more.
    if (resources.length <= SMALL_LIST) return resources.every((r) => r.refs.every((ref) => names.has(ref)));
    let byNames = this.refsMemo.get(resources);
    const known = byNames?.get(names);
    if (known !== undefined) return known;
    const ok = resources.every((r) => r.refs.every((ref) => names.has(ref)));
    if (!byNames) this.refsMemo.set(resources, (byNames = new WeakMap()));
    byNames.set(names, ok);
    return ok;
  }

  /**
   * Every cluster the routes name (`clusters`: `sent` is a CDS response), or every
   * ClusterLoadAssignment those clusters name (`endpoints`: `sent` is an EDS response), was
   * delivered at this snapshot's version. Once per (route list, sent list).
   */
  routedDelivered(what: 'clusters' | 'endpoints', routes: readonly SnapshotResource[], sent: readonly SnapshotResource[]): boolean {
    const memo = this.routedMemo[what] as WeakMap<readonly SnapshotResource[], WeakMap<readonly SnapshotResource[], boolean>>;
    let bySent = memo.get(routes);
    const known = bySent?.get(sent);
    if (known !== undefined) return known;
    const clusters = this.snapshot.sets[CLUSTER_TYPE].resources;
    const current = what === 'clusters' ? clusters : this.snapshot.sets[ENDPOINT_TYPE].resources;
    const delivered = this.shares.hashesOf(sent);
    const isCurrent = (name: string): boolean => {
      const r = current.get(name);
      return !r || delivered.get(name) === r.hash;
    };
    // A cluster's refs are the names of its endpoints (its EDS service_name).
    const ok = routes.every((route) => route.refs.every((cluster) => (what === 'clusters' ? [cluster] : (clusters.get(cluster)?.refs ?? [])).every(isCurrent)));
    if (!bySent) memo.set(routes, (bySent = new WeakMap()));
    bySent.set(sent, ok);
    return ok;
  }

  /**
   * Every cluster `routes` name that `cds` covers has each of its endpoint names covered by
   * `eds` (undefined: not subscribed). Subscriptions only, for clients holding this snapshot's
   * clusters and endpoints exactly (DeltaStream.clustersReady); once per (routes, cds, eds).
   */
  routedCovered(routes: readonly SnapshotResource[], cds: Subscription | undefined, eds: Subscription | undefined): boolean {
    const keyOf = (st: Subscription | undefined) => (!st?.requested ? NOT_REQUESTED : st.wildcard ? EVERY_NAME : st.names);
    let byCds = this.coveredMemo.get(routes);
    let byEds = byCds?.get(keyOf(cds));
    const known = byEds?.get(keyOf(eds));
    if (known !== undefined) return known;
    const clusters = this.snapshot.sets[CLUSTER_TYPE].resources;
    const ok = routes.every((route) => route.refs.every((cluster) => !covers(cds, cluster) || (clusters.get(cluster)?.refs ?? []).every((endpoints) => covers(eds, endpoints))));
    if (!byCds) this.coveredMemo.set(routes, (byCds = new WeakMap()));
    if (!byEds) byCds.set(keyOf(cds), (byEds = new WeakMap()));
    byEds.set(keyOf(eds), ok);
    return ok;
  }

  /**
   * What changed from `before` (a resource map of an earlier snapshot) to this snapshot's set
   * of the type, both lists sorted by name; once per (type, before).
   */
  diffFrom(typeUrl: ResourceTypeUrl, before: ReadonlyMap<string, SnapshotResource>): SetDiff {
    return this.diffBetween(this.snapshot.sets[typeUrl].resources, before);
  }

  /**
   * The same for any resource map derived from this snapshot (`after`: the VHDS view's stubs or
   * virtual hosts); once per (after, before).
   */
  diffBetween(after: ReadonlyMap<string, SnapshotResource>, before: ReadonlyMap<string, SnapshotResource>): SetDiff {
    let byBefore = this.diffs.get(after);
    let d = byBefore?.get(before);
    if (d) return d;
    const updates: SnapshotResource[] = [];
    const removals: string[] = [];
    // Both maps iterate in name order (ResourceSet.resources is sorted).
    for (const [name, r] of after) if (before.get(name)?.hash !== r.hash) updates.push(r);
    for (const name of before.keys()) if (!after.has(name)) removals.push(name);
    removals.sort();
    d = { updates: Object.freeze(updates), removals: Object.freeze(removals) };
    if (!byBefore) this.diffs.set(after, (byBefore = new WeakMap()));
    byBefore.set(before, d);
    return d;
  }

  /** True if `next` holds a resource that `previous` had with other content; once per pair of (shared) lists. */
  updatedBetween(previous: readonly SnapshotResource[], next: readonly SnapshotResource[]): boolean {
    if (previous.length === 0) return false;
    let byNext = this.updated.get(previous);
    const known = byNext?.get(next);
    if (known !== undefined) return known;
    const before = this.shares.hashesOf(previous);
    const out = next.some((r) => before.has(r.name) && before.get(r.name) !== r.hash);
    if (!byNext) this.updated.set(previous, (byNext = new WeakMap()));
    byNext.set(next, out);
    return out;
  }

  /** The resources of `list` (sent from an earlier snapshot) that this snapshot's set of the type lacks; once per list. */
  missingFrom(typeUrl: ResourceTypeUrl, list: readonly SnapshotResource[]): readonly SnapshotResource[] {
    const current = this.snapshot.sets[typeUrl].resources;
    // A by-name client's list (its own) is checked directly: a memo entry per stream costs more.
    if (list.length <= SMALL_LIST) return list.every((r) => current.has(r.name)) ? NO_RESOURCES : Object.freeze(list.filter((r) => !current.has(r.name)));
    let byList = this.missing.get(typeUrl);
    let out = byList?.get(list);
    if (out) return out;
    out = Object.freeze(list.filter((r) => !current.has(r.name)));
    if (!byList) this.missing.set(typeUrl, (byList = new WeakMap()));
    byList.set(list, out);
    return out;
  }

  /** envoy.service.discovery.v3.Resource around a resource of this snapshot, encoded once. */
  deltaResource(r: SnapshotResource): { resourceBytes: Buffer } {
    let out = this.deltaResources.get(r);
    if (!out) this.deltaResources.set(r, (out = { resourceBytes: encodeDeltaResource(r.name, r.hash, r.anyBytes) }));
    return out;
  }

  /**
   * The SotW response carrying `resources` at `version`: one nonce and one encoding for every
   * stream that sends it (streams in the same state send the same bytes; only grpc-js's framing
   * copies them per stream).
   */
  sotwResponse(typeUrl: ResourceTypeUrl, resources: readonly SnapshotResource[], version: string, entry?: Subscribed): SharedSotwResponse {
    // A name set's list keeps its response on its entry: a by-name client's list is its own, and
    // a memo entry per stream per snapshot would cost more than the lookup saves.
    if (entry) return (entry.response ??= this.newSotwResponse(typeUrl, entry.resources, entry.version));
    let byVersion = this.sotwResponses.get(resources);
    const known = byVersion?.get(version);
    if (known) return known;
    const out = this.newSotwResponse(typeUrl, resources, version);
    if (!byVersion) this.sotwResponses.set(resources, (byVersion = new Map()));
    byVersion.set(version, out);
    return out;
  }

  private newSotwResponse(typeUrl: ResourceTypeUrl, resources: readonly SnapshotResource[], version: string): SharedSotwResponse {
    const nonce = this.shares.nextNonce();
    return { nonce, wire: this.encodeSotw(typeUrl, resources, version, nonce) };
  }

  /** The same response under a nonce of its own (a stream resending exactly what it sent last). */
  encodeSotw(typeUrl: ResourceTypeUrl, resources: readonly SnapshotResource[], version: string, nonce: string): Buffer {
    return encodeDiscoveryResponse({ version_info: version, type_url: typeUrl, nonce, resources, control_plane: this.shares.controlPlane });
  }

  /** The VHDS form of this snapshot's route configurations (xds/vhds.ts). */
  vhdsView(): VhdsView {
    return (this.vhds ??= this.shares.vhdsViews.of(this.snapshot.sets[ROUTE_TYPE]));
  }

  /**
   * The entries of a shared VHDS list (virtual hosts, or names of removed ones) whose route
   * config (namespace) is in `namespaces`, an interned name set: once per (list, set), so VHDS
   * streams with the same scope still send one shared response. The list itself if all are in.
   */
  inNamespaces<T>(list: readonly T[], namespaces: ReadonlySet<string>, nameOf: (x: T) => string): readonly T[] {
    let byNames = this.namespaceLists.get(list);
    const known = byNames?.get(namespaces) as readonly T[] | undefined;
    if (known) return known;
    const keep = (x: T) => namespaces.has(namespaceOf(nameOf(x)));
    const out = list.every(keep) ? list : Object.freeze(list.filter(keep));
    if (!byNames) this.namespaceLists.set(list, (byNames = new WeakMap()));
    byNames.set(namespaces, out);
    return out;
  }

  /**
   * The delta response carrying `updates` and `removals` at `version`, shared like sotwResponse
   * (lists are keys by identity; a list belongs to one type: diffs are per target set, other
   * lists are built per call). `typeUrl` may be VirtualHost: VHDS lists come from vhdsView().
   */
  deltaResponse(typeUrl: string, updates: readonly SnapshotResource[], removals: readonly string[], version: string, removedMarker: string): SharedDeltaResponse {
    let byRemovals = this.deltaResponses.get(updates);
    let byVersion = byRemovals?.get(removals);
    const known = byVersion?.get(version);
    if (known) return known;
    const out = this.encodeDelta(typeUrl, updates, removals, version, this.shares.nextNonce(), removedMarker);
    if (!byRemovals) this.deltaResponses.set(updates, (byRemovals = new WeakMap()));
    if (!byVersion) byRemovals.set(removals, (byVersion = new Map()));
    byVersion.set(version, out);
    return out;
  }

  encodeDelta(typeUrl: string, updates: readonly SnapshotResource[], removals: readonly string[], version: string, nonce: string, removedMarker: string): SharedDeltaResponse {
    const changes = new Map<string, string>();
    for (const r of updates) changes.set(r.name, r.hash);
    for (const name of removals) changes.set(name, removedMarker);
    const resources = Object.freeze(updates.map((r) => this.deltaResource(r)));
    const wire = encodeDeltaDiscoveryResponse({
      system_version_info: version,
      type_url: typeUrl,
      nonce,
      resources,
      removed_resources: removals,
      control_plane: this.shares.controlPlane,
    });
    return { nonce, wire, changes, resources };
  }
}

export interface SetDiff {
  readonly updates: readonly SnapshotResource[];
  readonly removals: readonly string[];
}
