import { type SnapshotResource, resourcesVersion } from '../cache/snapshot';
import { NO_NAMES, type SnapshotShare, type Subscribed } from './stream-shares';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE, type ResourceTypeUrl } from '../envoy/resource-types';
import { closedUnderReferences, covers, isSubscribed, type Subscription } from './subscription';

/** Per resource type, per SotW stream. Holds strings and references into shared snapshots only. */
export interface TypeState extends Subscription {
  /**
   * The client's latest accepted request is unanswered. A type gets at most one response in
   * flight: the next one waits for the client's ACK/NACK (go-control-plane does the same), so
   * a burst of snapshots collapses into one push of the latest.
   */
  ready: boolean;
  /**
   * Answer even if the version is unchanged: the names changed since the last response, or
   * (EDS on Envoy) a cluster was updated and Envoy waits for its endpoints again.
   */
  forceResponse: boolean;
  /** Last version sent, or the version a reconnecting client says it already has. */
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  /** Last version the client rejected; not sent to this stream again until it ACKs another one. */
  nackedVersion?: string;
  /**
   * CDS and EDS: what the client holds, for keeping dropped clusters (see planFor): what the
   * last response carried, or, for CDS after a NACK, what the last ACKed one did (the client
   * kept that).
   */
  lastSent: readonly SnapshotResource[];
  /** CDS only: what the last ACKed response carried. */
  lastAcked: readonly SnapshotResource[];
  /**
   * The plan last made for a set of content version `planVersion` with nothing retained:
   * another set of that version (an edit elsewhere) gives the same plan as long as the names,
   * and for CDS `lastSent`, stay (both clear it), so it is reused without a lookup. A by-name
   * client's state is all its own: per edit it then touches only the types that changed.
   */
  plan: Plan | undefined;
  planVersion: string | undefined;
}

export type TypeStates = ReadonlyMap<ResourceTypeUrl, TypeState>;

/** What one response of a type would carry for one stream now. */
export interface Plan {
  version: string;
  resources: readonly SnapshotResource[];
  /** Dropped clusters kept for make-before-break. */
  retained: number;
  /** The name set's shared entry `resources` and `version` come from (none for a wildcard, or with retained clusters). */
  entry: Subscribed | undefined;
}

export interface Planner {
  (typeUrl: ResourceTypeUrl): Plan;
  /** The snapshot's share the plans come from. */
  readonly share: SnapshotShare;
}

export { NO_NAMES, isSubscribed };

export function newTypeState(): TypeState {
  // One literal, not a spread: V8 keeps every field in the object (a spread adds a backing store).
  return { requested: false, wildcard: false, names: NO_NAMES, ready: false, forceResponse: false, lastSent: [], lastAcked: [], plan: undefined, planVersion: undefined, refsVersion: undefined, refsHeld: undefined, refsTo: undefined };
}

const byName = (a: SnapshotResource, b: SnapshotResource): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Plans for one snapshot and one moment of a stream's state, each computed once. */
export function createPlanner(share: SnapshotShare, types: TypeStates): Planner {
  const plans = new Map<ResourceTypeUrl, Plan>();
  const planOf = ((t: ResourceTypeUrl) => {
    let plan = plans.get(t);
    if (!plan) plans.set(t, (plan = planFor(t, share, types, planOf)));
    return plan;
  }) as Planner;
  (planOf as { share: SnapshotShare }).share = share;
  return planOf;
}

/**
 * What this stream should hold of one type: the whole set for a wildcard, else the
 * subscribed names that exist. Its version is the hash of exactly that, so a change to
 * resources this stream does not subscribe to pushes nothing.
 *
 * Make-before-break for CDS: clusters the client last got that the snapshot has dropped
 * are kept in CDS (a SotW CDS response that omits a cluster deletes it) until the client
 * can no longer be routing to them: see clustersReleasable. Then CDS is sent without them.
 */
function planFor(typeUrl: ResourceTypeUrl, share: SnapshotShare, types: TypeStates, planOf: Planner): Plan {
  const set = share.snapshot.sets[typeUrl];
  const st = types.get(typeUrl) as TypeState;
  if (st.plan !== undefined && st.planVersion === set.version) return st.plan;
  // A wildcard stream shares the snapshot's own sorted list; streams subscribing to the same
  // names (interned sets) share one list and version per snapshot.
  const named = st.wildcard ? undefined : share.subscribed(typeUrl, st.names);
  let resources: readonly SnapshotResource[] = named ? named.resources : set.list;
  let retained = 0;
  let dropped: readonly SnapshotResource[] = NO_RESOURCES;
  if (typeUrl === CLUSTER_TYPE && st.lastSent.length > 0) {
    // Usually nothing was dropped: that check is shared by the streams holding the same list.
    dropped = share.missingFrom(CLUSTER_TYPE, st.lastSent).filter((r) => covers(st, r.name));
    if (dropped.length > 0 && !clustersReleasable(share, st, types, planOf)) {
      resources = [...resources, ...dropped].sort(byName);
      retained = dropped.length;
    }
  }
  // One shape for every plan (entry undefined or not): evaluate sees one hidden class.
  if (retained > 0) return { version: resourcesVersion(resources), resources, retained, entry: undefined };
  const plan: Plan = { version: named ? named.version : set.version, resources, retained, entry: named };
  // Releasing dropped clusters depends on other types' state: such a plan is made afresh each time.
  if (dropped.length === 0) {
    st.plan = plan;
    st.planVersion = set.version;
  }
  return plan;
}

const NO_RESOURCES: readonly SnapshotResource[] = Object.freeze([]);

/**
 * Dropped clusters may go once the stream has ACKed the current LDS and RDS (or does not
 * subscribe to them), and has ACKed a CDS response holding the current version of every
 * cluster its current routes name, and an EDS response holding those clusters' endpoints
 * (when it subscribes to EDS). The cluster and endpoint parts matter for clients that subscribe
 * to clusters by name (gRPC): they ask for a route's new cluster, then its endpoints, only after
 * getting the route, and until they hold both they still route by the old cluster (grpc-js-xds
 * publishes a route only with every cluster it names resolved, endpoints included).
 */
function clustersReleasable(share: SnapshotShare, cds: TypeState, types: TypeStates, planOf: Planner): boolean {
  for (const t of [LISTENER_TYPE, ROUTE_TYPE] as const) {
    const st = types.get(t);
    if (isSubscribed(st) && st.ackedVersion !== planOf(t).version) return false;
  }
  if (!isSubscribed(types.get(ROUTE_TYPE))) return true;
  if (cds.ackedVersion !== cds.sentVersion) return false;
  const routes = planOf(ROUTE_TYPE).resources;
  if (!share.routedDelivered('clusters', routes, cds.lastSent)) return false;
  const eds = types.get(ENDPOINT_TYPE);
  if (!isSubscribed(eds)) return true;
  if (eds.ackedVersion !== eds.sentVersion) return false;
  // Route, cluster and sent lists are shared by streams: thousands in the same state check it once.
  return share.routedDelivered('endpoints', routes, eds.lastSent);
}

/**
 * True once every subscribed type is ACKed at its planned version and the subscriptions are
 * closed under references (every route config a held listener names is subscribed, and so
 * on). The second rule keeps a node that is still subscribing, e.g. has ACKed CDS but not
 * yet asked for a new cluster's endpoints, from being reported as done.
 */
export function isApplied(types: TypeStates, planOf: Planner): boolean {
  for (const typeUrl of PUSH_ORDER) {
    const st = types.get(typeUrl);
    if (!isSubscribed(st)) continue;
    const plan = planOf(typeUrl);
    if (st.forceResponse || st.ackedVersion !== plan.version || st.sentVersion !== plan.version) return false;
  }
  return closedUnderReferences(planOf.share, (t) => types.get(t), (t) => planOf(t).resources, (t) => planOf(t).version);
}
