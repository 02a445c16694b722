import type { ResourceSet, SnapshotResource } from '../cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE, SHORT_NAMES, STREAM_PUSH_ORDER, VIRTUAL_HOST_TYPE, WILDCARD_TYPES, type StreamTypeUrl, type ResourceTypeUrl } from '../envoy/resource-types';
import { nodeTarget, wantsVhds } from './node-kind';
import { namespaceOf } from './vhds';
import type { DeltaDiscoveryRequestIn, DeltaDiscoveryResponseOut } from './discovery-codec';
import { XDS_LIMITS } from './limits';
import { AdsStreamBase, type StreamBaseOptions } from './stream-base';
import { NO_NAMES, type SnapshotShare } from './stream-shares';
import { closedUnderReferences, covers, isSubscribed, type Subscription } from './subscription';

export interface DeltaStreamOptions extends StreamBaseOptions {
  send(response: DeltaDiscoveryResponseOut): void;
}

/** A type this stream serves: the snapshot's four, and virtual hosts for a VHDS node. */
type StreamType = StreamTypeUrl;

const PUSH_ORDER_VHDS: readonly StreamType[] = STREAM_PUSH_ORDER;

/**
 * Envoy's VHDS subscription over ADS starts with no names (a wildcard): it wants the virtual
 * hosts of every route config it holds; Envoy sorts them to route configs by name prefix.
 */
const wildcardable = (t: StreamType): boolean => WILDCARD_TYPES.has(t);

const label = (t: StreamType): string => SHORT_NAMES[t];

/** The client does not hold the resource (never got it, or dropped it on unsubscribe). */
const NOT_HELD = '';
/** The client was told the resource does not exist (a removed_resources entry it ACKed). */
const TOLD_ABSENT = '\0absent';

/** Per resource type, per delta stream. Everything large is a reference into a shared snapshot. */
interface DeltaTypeState extends Subscription {
  /** UTF-8 bytes of `names`, for XDS_LIMITS.maxResourceNamesTotalBytes. */
  nameBytes: number;
  /**
   * What the client holds: `held` entries override `base`, a snapshot's resource map the
   * client was last fully in sync with (for names in its subscription). After every sync
   * `held` is emptied again, so an idle stream keeps a reference per type and little else.
   */
  base?: ReadonlyMap<string, SnapshotResource>;
  /**
   * The content version of the set `base` is from: a later set with the same version holds the
   * same names and hashes (sets are rebuilt per snapshot, an edit elsewhere keeps the version),
   * so a client in sync with `base` is in sync with it, without comparing 10,000 entries.
   */
  baseVersion?: string;
  held: ReadonlyMap<string, string>;
  /** Subscriptions or held versions changed since the last sync: diff in full, not from `base`. */
  dirty: boolean;
  /**
   * The response in flight (one per type) and what it changes on the client once ACKed.
   * `syncs`: the set the client is in sync with once it applies the response (it was in sync
   * with `base` and the response carries the whole difference, no removal): an ACK then makes
   * it the base directly, without writing the changes into `held` and diffing them again.
   */
  pending?: { nonce: string; version: string; changes: ReadonlyMap<string, string>; syncs: ResourceSet | undefined };
  /** Nonce of the last response of the type (a resend of the very same shared response needs another). */
  lastNonce?: string;
  /**
   * Versions the client rejected, by name (TOLD_ABSENT for a rejected removal): not resent
   * until the client ACKs a response of the type.
   */
  nacked: ReadonlyMap<string, string>;
}

interface Changes {
  /** Sorted by name. Shared lists (a snapshot-to-snapshot diff) when nothing was filtered out: keys of shared responses. */
  updates: readonly SnapshotResource[];
  removals: readonly string[];
  /** Something differs but the client rejected exactly that version: wait for a new snapshot. */
  blocked: boolean;
  /** Removals held back until no route can still point at them (CDS, EDS). */
  withheld: number;
}

const NEVER = (): boolean => false;
const ALWAYS = (): boolean => true;

const NO_CHANGES: Changes = Object.freeze({ updates: [], removals: [], blocked: false, withheld: 0 }) as Changes;

/** `list` itself when `keep` keeps every entry (shared lists stay shared), else the kept entries. */
function keepIf<T>(list: readonly T[], keep: (x: T) => boolean): readonly T[] {
  const i = list.findIndex((x) => !keep(x));
  if (i < 0) return list;
  return [...list.slice(0, i), ...list.slice(i + 1).filter(keep)];
}

/** `base` is `set`'s resources, or those of an earlier set of the same content version. */
const baseIs = (st: DeltaTypeState, set: ResourceSet): boolean => st.base === set.resources || (st.baseVersion !== undefined && st.baseVersion === set.version);

/**
 * The empty `held` and `nacked` of every state (a Map of its own, even empty, costs about 200
 * bytes, and a stream has two per type): replaced by a Map of the state's own on the first write.
 */
const NO_ENTRIES: ReadonlyMap<string, string> = new Map();
const heldOf = (st: DeltaTypeState): Map<string, string> => (st.held === NO_ENTRIES ? (st.held = new Map()) : st.held) as Map<string, string>;
const nackedOf = (st: DeltaTypeState): Map<string, string> => (st.nacked === NO_ENTRIES ? (st.nacked = new Map()) : st.nacked) as Map<string, string>;

function newState(): DeltaTypeState {
  return { requested: false, wildcard: false, names: NO_NAMES, nameBytes: 0, held: NO_ENTRIES, dirty: true, nacked: NO_ENTRIES, refsVersion: undefined, refsHeld: undefined, refsTo: undefined };
}

/**
 * One incremental (delta) ADS stream. Same push discipline as SotW (one response in flight
 * per type, types in make-before-break order, a type waits until the earlier ones are ACKed
 * except EDS, which follows CDS at once, a rejected version is never resent, a removed
 * cluster stays until no route can use it),
 * but each response carries only the resources that changed for this client, each with its
 * own version (its content hash), and `removed_resources` for the ones gone. A client that
 * reconnects with `initial_resource_versions` is sent only what differs from those.
 *
 * Subscription changes are honoured on every request, even one with a stale nonce; the
 * ACK/NACK part of a request counts only for the latest response of its type.
 */
export class DeltaStream extends AdsStreamBase<DeltaStreamOptions> {
  private nonceCounter = 0;
  private readonly types = new Map<StreamType, DeltaTypeState>();
  /** The node asked for VHDS (xds/vhds.ts): RDS carries stubs, virtual hosts go by VHDS. */
  private vhds?: boolean;

  constructor(options: DeltaStreamOptions) {
    super(options, 'delta');
  }

  handleRequest(request: DeltaDiscoveryRequestIn): void {
    this.guarded(() => this.onRequest(request));
  }

  private onRequest(req: DeltaDiscoveryRequestIn): void {
    if (!this.startIfNeeded(req.node)) return;
    // Only current-API Envoys: VHDS over ADS needs Envoy ≥ 1.3x (router/vhds.cc).
    this.vhds ??= !!req.node && this.kind === 'envoy' && nodeTarget(req.node) === 'envoy' && wantsVhds(req.node);
    const typeUrl: StreamType | undefined = this.vhds && req.type_url === VIRTUAL_HOST_TYPE ? VIRTUAL_HOST_TYPE : this.servedType(req.type_url);
    if (!typeUrl) return;
    let st = this.types.get(typeUrl);
    if (!st) this.types.set(typeUrl, (st = newState()));
    if (!this.updateSubscription(typeUrl, st, req)) return;
    if (req.response_nonce !== '') {
      if (st.pending && req.response_nonce === st.pending.nonce) this.onReply(typeUrl, st, st.pending, req);
      else if (this.logEnabled('debug')) this.log.debug({ typeUrl: label(typeUrl), nonce: req.response_nonce }, 'stale nonce: subscription changes applied, ACK/NACK ignored');
    }
    this.evaluate();
  }

  /** False (and the stream failed) when the subscription would exceed XDS_LIMITS. */
  private updateSubscription(typeUrl: StreamType, st: DeltaTypeState, req: DeltaDiscoveryRequestIn): boolean {
    const changing = req.resource_names_subscribe.length > 0 || req.resource_names_unsubscribe.length > 0;
    const names = changing ? new Set(st.names) : st.names;
    let nameBytes = st.nameBytes;
    const initial = req.initial_resource_versions;
    if (!st.requested) {
      st.requested = true;
      for (const [name, version] of Object.entries(initial)) heldOf(st).set(name, version);
      st.dirty = true;
      // The first request of a wildcard type without names subscribes to everything (legacy wildcard).
      if (req.resource_names_subscribe.length === 0 && wildcardable(typeUrl)) st.wildcard = true;
    }
    for (const name of req.resource_names_subscribe) {
      if (name === '*') {
        if (wildcardable(typeUrl)) st.wildcard = true;
        continue;
      }
      if (names.has(name)) continue;
      // A name the client did not hold through a wildcard: it holds nothing of it yet (unless
      // it said so in initial_resource_versions).
      if (typeUrl === VIRTUAL_HOST_TYPE) this.forgetNamespace(st, name);
      else if (!st.wildcard && !Object.hasOwn(initial, name)) this.forget(st, name);
      (names as Set<string>).add(name);
      nameBytes += Buffer.byteLength(name);
    }
    for (const name of req.resource_names_unsubscribe) {
      if (name === '*') {
        st.wildcard = false;
        continue;
      }
      if ((names as Set<string>).delete(name)) nameBytes -= Buffer.byteLength(name);
      if (st.nacked.has(name)) nackedOf(st).delete(name);
      // The client drops it; under a wildcard it is still in scope, so it gets it again.
      if (typeUrl === VIRTUAL_HOST_TYPE) this.forgetNamespace(st, name);
      else this.forget(st, name);
    }
    if (names.size > XDS_LIMITS.maxResourceNames || nameBytes > XDS_LIMITS.maxResourceNamesTotalBytes) {
      const what = names.size > XDS_LIMITS.maxResourceNames ? `${names.size} names` : `${nameBytes} bytes of names`;
      this.refuse(
        'resource_names_subscribe',
        `the subscription to ${label(typeUrl)} would hold ${what}, more than the ${XDS_LIMITS.maxResourceNames} names or ${XDS_LIMITS.maxResourceNamesTotalBytes} bytes allowed`,
      );
      return false;
    }
    st.nameBytes = nameBytes;
    if (!changing) return true;
    st.dirty = true;
    if (typeUrl === ROUTE_TYPE) this.routeNamesChanged(st.names, names);
    if (names.size !== st.names.size || [...names].some((n) => !st.names.has(n))) st.names = this.shares.internNames(names);
    return true;
  }

  /**
   * The client does not hold `name`. Only an entry that overrides `base` is kept, so names
   * subscribed and dropped again leave nothing behind (held stays within names + base).
   */
  private forget(st: DeltaTypeState, name: string): void {
    if (st.base?.has(name)) heldOf(st).set(name, NOT_HELD);
    else if (st.held.has(name)) heldOf(st).delete(name);
  }

  /** VHDS: a wildcard VirtualHost subscription follows RDS; a route config added or dropped starts empty. */
  private routeNamesChanged(before: ReadonlySet<string>, after: ReadonlySet<string>): void {
    const vh = this.types.get(VIRTUAL_HOST_TYPE);
    if (!vh) return;
    vh.dirty = true;
    for (const name of before) if (!after.has(name)) this.forgetNamespace(vh, name);
    for (const name of after) if (!before.has(name)) this.forgetNamespace(vh, name);
  }

  /** VHDS: a route config's namespace was (un)subscribed; the client holds none of its virtual hosts. */
  private forgetNamespace(st: DeltaTypeState, namespace: string): void {
    for (const name of new Set([...(st.base?.keys() ?? []), ...st.held.keys()])) {
      if (namespaceOf(name) === namespace) this.forget(st, name);
    }
  }

  private onReply(typeUrl: StreamType, st: DeltaTypeState, pending: NonNullable<DeltaTypeState['pending']>, req: DeltaDiscoveryRequestIn): void {
    st.pending = undefined;
    if (req.error_detail) {
      for (const [name, version] of pending.changes) nackedOf(st).set(name, version);
      this.reportNack(typeUrl, pending.version, pending.nonce, req.error_detail);
      return;
    }
    if (pending.syncs && !st.dirty && st.held.size === 0) {
      // Nothing changed since the send (a subscription change makes the state dirty or holds names).
      st.base = pending.syncs.resources;
      st.baseVersion = pending.syncs.version;
    } else {
      for (const [name, version] of pending.changes) heldOf(st).set(name, version);
    }
    // The node has moved on: a version it rejected before may be right now (a content hash
    // recurs when a later config's resource happens to match), so it may be sent again.
    st.nacked = NO_ENTRIES;
    if (this.logEnabled('debug')) this.log.debug({ typeUrl: label(typeUrl), version: pending.version, nonce: pending.nonce }, 'xDS ACK');
    this.report((s) => s.acked(this.options.streamId, typeUrl, pending.version));
  }

  protected evaluate(): void {
    const snapshot = this.snapshot;
    if (!snapshot || this.closed) return;
    const share = this.shares.of(snapshot);
    // Asked only when a removal of something the client holds is pending (rare).
    let releasable: boolean | undefined;
    const withhold = () => !(releasable ??= this.clusterRemovalsReleasable());
    let applied = true;
    let blocked: StreamType | undefined;
    // EDS may follow a CDS response before its ACK (see SotwStream.evaluate: Envoy holds that
    // ACK until the clusters it changed have their endpoints); later types wait for both.
    let clustersInFlight = false;
    for (const typeUrl of this.vhds ? PUSH_ORDER_VHDS : PUSH_ORDER) {
      const st = this.types.get(typeUrl);
      if (!isSubscribed(st)) continue;
      if (clustersInFlight && typeUrl !== ENDPOINT_TYPE) break;
      if (st.pending) {
        applied = false;
        if (typeUrl === CLUSTER_TYPE) {
          clustersInFlight = true;
          continue;
        }
        break;
      }
      const set = this.setOf(share, typeUrl);
      // A removed cluster, and its endpoints, stay on the client until no route can use them;
      // endpoints behind clusters in flight go out as updates only (Envoy drops a removed
      // cluster's endpoints itself).
      const holdRemovals = clustersInFlight ? ALWAYS : typeUrl === CLUSTER_TYPE || typeUrl === ENDPOINT_TYPE ? withhold : NEVER;
      // In sync with `base` before: changesFor diffs `base` against `set` (see `pending.syncs`).
      const inSync = !st.dirty && st.held.size === 0 && st.base !== undefined;
      const changes = this.changesFor(share, st, set, holdRemovals, typeUrl === VIRTUAL_HOST_TYPE);
      if (changes.updates.length > 0 || changes.removals.length > 0) {
        if ((typeUrl === ROUTE_TYPE || typeUrl === VIRTUAL_HOST_TYPE) && !this.clustersReady(changes.updates)) {
          applied = false;
          break;
        }
        const syncs = inSync && !changes.blocked && changes.withheld === 0 && changes.removals.length === 0 && typeUrl !== VIRTUAL_HOST_TYPE ? set : undefined;
        this.send(share, typeUrl, st, set, changes, syncs);
        applied = false;
        if (typeUrl === CLUSTER_TYPE) {
          clustersInFlight = true;
          continue;
        }
        break;
      }
      if (changes.blocked) {
        blocked = typeUrl;
        applied = false;
        break;
      }
      if (changes.withheld > 0) {
        applied = false;
        continue;
      }
      this.compact(st, set, typeUrl === VIRTUAL_HOST_TYPE);
    }
    this.reportBlocked(snapshot, blocked);
    if (applied) this.reportApplied(snapshot, () => this.referencesSubscribed());
  }

  /**
   * Routes go out only once the client holds, at their current versions, the clusters they
   * name and those clusters' endpoints, for every cluster its CDS subscription covers (Envoy:
   * all; a proxyless gRPC client asks for a route's clusters only after getting the route).
   * Otherwise a route could send traffic to a cluster that is still warming.
   */
  private clustersReady(routes: readonly SnapshotResource[]): boolean {
    const snapshot = this.snapshot!;
    const cds = this.types.get(CLUSTER_TYPE);
    const eds = this.types.get(ENDPOINT_TYPE);
    // Usually the client holds this snapshot's clusters and endpoints exactly: then only the
    // subscriptions decide, and streams with the same ones share the answer.
    const inSync = (st: DeltaTypeState | undefined, set: ResourceSet) => !st || (!st.pending && st.held.size === 0 && baseIs(st, set));
    if (inSync(cds, snapshot.sets[CLUSTER_TYPE]) && inSync(eds, snapshot.sets[ENDPOINT_TYPE])) {
      return this.shares.of(snapshot).routedCovered(routes, isSubscribed(cds) ? cds : undefined, eds);
    }
    const current = (st: DeltaTypeState | undefined, set: ResourceSet, name: string): boolean => {
      const r = set.resources.get(name);
      return !r || (!!st && !st.pending && this.heldVersion(st, name) === r.hash);
    };
    for (const route of routes) {
      for (const cluster of route.refs) {
        if (!isSubscribed(cds) || !covers(cds, cluster)) continue;
        if (!current(cds, snapshot.sets[CLUSTER_TYPE], cluster)) return false;
        for (const endpoints of snapshot.sets[CLUSTER_TYPE].resources.get(cluster)?.refs ?? []) {
          if (!covers(eds, endpoints)) return false;
          if (!current(eds, snapshot.sets[ENDPOINT_TYPE], endpoints)) return false;
        }
      }
    }
    return true;
  }

  /**
   * Clusters a client no longer needs may go once its listeners and routes are in sync and it
   * holds, at their current versions, the clusters its routes name and (if it subscribes to
   * EDS) their endpoints. The last part is for clients that subscribe to clusters by name: they
   * ask for a route's new cluster, then its endpoints, only after getting the route, and route
   * by the old cluster until they hold both (see clustersReleasable in stream-plan.ts).
   */
  private clusterRemovalsReleasable(): boolean {
    const snapshot = this.snapshot!;
    for (const t of this.vhds ? ([LISTENER_TYPE, ROUTE_TYPE, VIRTUAL_HOST_TYPE] as const) : ([LISTENER_TYPE, ROUTE_TYPE] as const)) {
      const st = this.types.get(t);
      if (!isSubscribed(st)) continue;
      if (st.pending) return false;
      const share = this.shares.of(snapshot);
      const c = this.changesFor(share, st, this.setOf(share, t), NEVER, t === VIRTUAL_HOST_TYPE);
      if (c.updates.length > 0 || c.removals.length > 0 || c.blocked) return false;
    }
    const rds = this.types.get(ROUTE_TYPE);
    const cds = this.types.get(CLUSTER_TYPE);
    if (!isSubscribed(rds) || !cds) return true;
    const eds = this.types.get(ENDPOINT_TYPE);
    const held = (st: DeltaTypeState, set: ResourceSet, name: string): boolean => {
      const r = set.resources.get(name);
      return !r || this.heldVersion(st, name) === r.hash;
    };
    for (const name of rds.names) {
      for (const cluster of this.routeRefs(name)) {
        if (!held(cds, snapshot.sets[CLUSTER_TYPE], cluster)) return false;
        if (!isSubscribed(eds)) continue;
        for (const endpoints of snapshot.sets[CLUSTER_TYPE].resources.get(cluster)?.refs ?? []) {
          if (!held(eds, snapshot.sets[ENDPOINT_TYPE], endpoints)) return false;
        }
      }
    }
    return true;
  }

  /** The resources of a type this stream is served: for a VHDS node, RDS stubs and the virtual hosts. */
  private setOf(share: SnapshotShare, typeUrl: StreamType): ResourceSet {
    if (typeUrl === VIRTUAL_HOST_TYPE) return share.vhdsView().virtualHosts;
    if (typeUrl === ROUTE_TYPE && this.vhds) return share.vhdsView().routes;
    return share.snapshot.sets[typeUrl];
  }

  /** The clusters route config `name` names (through its virtual hosts, for a VHDS node). */
  private routeRefs(name: string): readonly string[] {
    const snapshot = this.snapshot!;
    if (!this.vhds) return snapshot.sets[ROUTE_TYPE].resources.get(name)?.refs ?? [];
    return this.shares.of(snapshot).vhdsView().virtualHosts.list.filter((r) => namespaceOf(r.name) === name).flatMap((r) => r.refs);
  }

  private heldVersion(st: DeltaTypeState, name: string): string {
    const v = st.held.get(name);
    if (v !== undefined) return v;
    return st.base?.get(name)?.hash ?? NOT_HELD;
  }

  /**
   * What the client lacks of `set` (this snapshot's set of a type, or for a VHDS node its VHDS
   * view's stubs or virtual hosts) within its subscription.
   */
  private changesFor(share: SnapshotShare, st: DeltaTypeState, set: ResourceSet, withholdRemovals: () => boolean, namespaced = false): Changes {
    // VHDS subscribes by route config name: every virtual host named `<route config>/...`.
    const routeNames = this.types.get(ROUTE_TYPE)?.names ?? NO_NAMES;
    const inScope = namespaced
      ? (name: string) => st.names.has(namespaceOf(name)) || (st.wildcard && routeNames.has(namespaceOf(name)))
      : (name: string) => st.wildcard || st.names.has(name);
    if (!st.dirty && st.held.size === 0 && st.base) {
      // In sync with `base` until now: the difference is the snapshot-to-snapshot diff, shared by every such stream.
      if (baseIs(st, set)) return NO_CHANGES;
      const d = share.diffBetween(set.resources, st.base);
      if (st.wildcard && !namespaced) return this.filter(st, d.updates, d.removals, withholdRemovals);
      // VHDS scoped by one interned set (the route configs, or the namespaces asked for): a shared filtered list.
      const namespaces = namespaced ? (!st.wildcard ? st.names : st.names.size === 0 ? routeNames : undefined) : undefined;
      if (namespaces) {
        return this.filter(
          st,
          share.inNamespaces(d.updates, namespaces, (r) => r.name),
          share.inNamespaces(d.removals, namespaces, (name) => name),
          withholdRemovals,
        );
      }
      return this.filter(
        st,
        keepIf(d.updates, (r) => inScope(r.name)),
        keepIf(d.removals, inScope),
        withholdRemovals,
      );
    }
    const updates: SnapshotResource[] = [];
    const removals: string[] = [];
    const consider = (name: string, explicit: boolean) => {
      const r = set.resources.get(name);
      const held = this.heldVersion(st, name);
      if (r) {
        if (held !== r.hash) updates.push(r);
      } else if (held !== TOLD_ABSENT && (held !== NOT_HELD || explicit)) {
        // A resource the client holds is gone; or a name it asked for does not exist.
        removals.push(name);
      }
    };
    if (namespaced) {
      for (const r of set.list) if (inScope(r.name)) consider(r.name, false);
      const heldNames = new Set([...(st.base?.keys() ?? []), ...st.held.keys()]);
      for (const name of heldNames) if (!set.resources.has(name) && inScope(name)) consider(name, false);
      return this.filter(st, updates, removals, withholdRemovals);
    }
    for (const name of st.names) consider(name, true);
    if (st.wildcard) {
      for (const r of set.list) if (!st.names.has(r.name)) consider(r.name, false);
      const heldNames = new Set([...(st.base?.keys() ?? []), ...st.held.keys()]);
      for (const name of heldNames) if (!set.resources.has(name) && !st.names.has(name)) consider(name, false);
    }
    updates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removals.sort();
    return this.filter(st, updates, removals, withholdRemovals);
  }

  /** Drops what the client rejected and removals still withheld; sorted lists in, sorted lists out. */
  private filter(st: DeltaTypeState, updates: readonly SnapshotResource[], removals: readonly string[], withholdRemovals: () => boolean): Changes {
    let blocked = false;
    let withheld = 0;
    const u = keepIf(updates, (r) => {
      if (st.nacked.get(r.name) !== r.hash) return true;
      blocked = true;
      return false;
    });
    const rm = keepIf(removals, (name) => {
      if (st.nacked.get(name) === TOLD_ABSENT) {
        blocked = true;
        return false;
      }
      const held = this.heldVersion(st, name);
      if (held !== NOT_HELD && held !== TOLD_ABSENT && withholdRemovals()) {
        withheld++;
        return false;
      }
      return true;
    });
    return { updates: u, removals: rm, blocked, withheld };
  }

  /** In sync with `set`: remember it as the base and forget per-name entries. */
  private compact(st: DeltaTypeState, set: ResourceSet, namespaced: boolean): void {
    if (!st.dirty && st.held.size === 0 && baseIs(st, set)) {
      // The same content: only the newer map is kept (the earlier snapshot's can go).
      st.base = set.resources;
      return;
    }
    const held = new Map<string, string>();
    // Names asked for that do not exist stay "told absent"; everything else is in `set`.
    // (VHDS names are namespaces, not resources.)
    if (!namespaced) for (const name of st.names) if (!set.resources.has(name)) held.set(name, TOLD_ABSENT);
    st.base = set.resources;
    st.baseVersion = set.version;
    st.held = held.size > 0 ? held : NO_ENTRIES;
    st.dirty = held.size > 0;
  }

  /**
   * Envoy rebuilds a changed cluster, and the new one warms only on a ClusterLoadAssignment,
   * which it does not ask for again (its subscription did not change): mark the endpoints of
   * every cluster this CDS response changes as not held, so EDS resends them unchanged.
   */
  private rewarmChangedClusters(cds: DeltaTypeState, updates: readonly SnapshotResource[]): void {
    const eds = this.types.get(ENDPOINT_TYPE);
    if (this.kind !== 'envoy' || !isSubscribed(eds)) return;
    for (const cluster of updates) {
      const before = this.heldVersion(cds, cluster.name);
      if (before === NOT_HELD || before === TOLD_ABSENT || before === cluster.hash) continue;
      for (const name of cluster.refs) {
        if (!covers(eds, name)) continue;
        heldOf(eds).set(name, NOT_HELD);
        eds.dirty = true;
      }
    }
  }

  /** VHDS responses (stubs, virtual hosts) are shared too: their lists come from the share's vhdsView(). */
  private send(share: SnapshotShare, typeUrl: StreamType, st: DeltaTypeState, set: ResourceSet, changes: Changes, syncs: ResourceSet | undefined): void {
    if (typeUrl === CLUSTER_TYPE) this.rewarmChangedClusters(st, changes.updates);
    // Streams in the same state send one shared response (same nonce, same bytes, same change list).
    let response = share.deltaResponse(typeUrl, changes.updates, changes.removals, set.version, TOLD_ABSENT);
    if (response.nonce === st.lastNonce) {
      response = share.encodeDelta(typeUrl, changes.updates, changes.removals, set.version, `${response.nonce}.${++this.nonceCounter}`, TOLD_ABSENT);
    }
    const nonce = response.nonce;
    st.lastNonce = nonce;
    st.pending = { nonce, version: set.version, changes: response.changes, syncs };
    this.options.send({
      system_version_info: set.version,
      type_url: typeUrl,
      nonce,
      resources: response.resources,
      removed_resources: changes.removals,
      control_plane: this.shares.controlPlane,
      wire: response.wire,
    });
    this.logPush(typeUrl, { version: set.version, nonce, resources: changes.updates.length, removed: changes.removals.length, ...(changes.withheld ? { withheld: changes.withheld } : {}) });
    this.report((s) => s.responseSent(this.options.streamId, typeUrl, set.version, nonce));
  }

  /** Subscriptions closed under references: every route config a held listener names is subscribed, and so on. */
  private referencesSubscribed(): boolean {
    const share = this.shares.of(this.snapshot!);
    const held = (typeUrl: ResourceTypeUrl, st: Subscription): readonly SnapshotResource[] => {
      const set = this.setOf(share, typeUrl);
      return st.wildcard ? set.list : [...st.names].flatMap((n) => set.resources.get(n) ?? []);
    };
    // The held list is the set's resources under the subscription's names: the set's content
    // version (with the names, part of the memo's key) stands for it.
    if (!closedUnderReferences(share, (t) => this.types.get(t), held, (t) => this.setOf(share, t).version)) return false;
    // VHDS: the virtual hosts of every route config held are subscribed too.
    const rds = this.types.get(ROUTE_TYPE);
    if (this.vhds && isSubscribed(rds)) {
      const vhds = this.types.get(VIRTUAL_HOST_TYPE);
      for (const name of rds.names) if (!covers(vhds, name)) return false;
    }
    return true;
  }
}
