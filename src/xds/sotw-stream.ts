import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  PUSH_ORDER,
  SHORT_NAMES,
  WILDCARD_TYPES,
 
  type ResourceTypeUrl,
} from '../envoy/resource-types';
import type { DiscoveryRequestIn, DiscoveryResponseOut } from './discovery-codec';
import { AdsStreamBase, type StreamBaseOptions } from './stream-base';
import type { SnapshotShare } from './stream-shares';
import {
  NO_NAMES,
  createPlanner,
  isApplied,
  isSubscribed,
  newTypeState,
  type Plan,
  type TypeState,
} from './stream-plan';

export interface SotwStreamOptions extends StreamBaseOptions {
  send(response: DiscoveryResponseOut): void;
}

/**
 * One SotW ADS stream: subscriptions, ACK/NACK bookkeeping and the push decisions. It knows
 * the cache's watch interface and a `send` function, nothing of gRPC calls.
 */
export class SotwStream extends AdsStreamBase<SotwStreamOptions> {
  private nonceCounter = 0;
  private readonly types = new Map<ResourceTypeUrl, TypeState>();

  constructor(options: SotwStreamOptions) {
    super(options, 'sotw');
  }

  handleRequest(request: DiscoveryRequestIn): void {
    this.guarded(() => this.onRequest(request));
  }

  private onRequest(req: DiscoveryRequestIn): void {
    if (!this.startIfNeeded(req.node)) return;
    const typeUrl = this.servedType(req.type_url);
    if (!typeUrl) return;
    const st = this.stateOf(typeUrl);
    const nonce = req.response_nonce;
    // SotW: a request answering an older response is ignored entirely, subscription included.
    // Nothing is lost: the client answers our newest response with its full, current names.
    if (nonce !== '' && st.sentNonce !== undefined && nonce !== st.sentNonce) {
      if (this.logEnabled('debug')) this.log.debug({ typeUrl: SHORT_NAMES[typeUrl], nonce, latest: st.sentNonce }, 'stale nonce ignored');
      return;
    }
    if (st.sentNonce !== undefined && nonce === st.sentNonce) {
      this.onReply(typeUrl, st, req);
    } else if (!st.requested && req.version_info !== '') {
      // A client reconnecting (e.g. after our restart) says what it has: versions come from
      // content, so if that is still current nothing needs pushing.
      st.sentVersion = st.ackedVersion = req.version_info;
      this.report((s) => s.acked(this.options.streamId, typeUrl, req.version_info));
    }
    this.subscribe(typeUrl, st, req.resource_names);
    st.ready = true;
    this.evaluate();
  }

  private onReply(typeUrl: ResourceTypeUrl, st: TypeState, req: DiscoveryRequestIn): void {
    const version = st.sentVersion ?? '';
    if (req.error_detail) {
      st.nackedVersion = version;
      // Clusters that came only in the rejected response are not the client's to keep: without
      // this, a config dropping them would retain them and reproduce the rejected version.
      st.lastSent = st.lastAcked;
      st.plan = undefined;
      this.reportNack(typeUrl, version, req.response_nonce, req.error_detail, { clientVersion: req.version_info });
    } else if (req.version_info === version) {
      st.ackedVersion = version;
      st.lastAcked = st.lastSent;
      // The node has moved on: a version it rejected before may be right now (a content hash
      // recurs when a later config's resources happen to match), so it may be sent again.
      st.nackedVersion = undefined;
      if (this.logEnabled('debug')) this.log.debug({ typeUrl: SHORT_NAMES[typeUrl], version, nonce: req.response_nonce }, 'xDS ACK');
      this.report((s) => s.acked(this.options.streamId, typeUrl, version));
    }
  }

  private subscribe(typeUrl: ResourceTypeUrl, st: TypeState, names: readonly string[]): void {
    const wildcard = WILDCARD_TYPES.has(typeUrl) && (names.length === 0 || names.includes('*'));
    // An ACK repeats the whole subscription: keep the current (interned) set when it is unchanged.
    const same = !wildcard && names.length === st.names.size && names.every((n) => st.names.has(n));
    const nameSet = wildcard ? NO_NAMES : same ? st.names : this.shares.internNames(names);
    // Name sets are interned: equal names ⇔ the same set.
    const changed = wildcard !== st.wildcard || nameSet !== st.names;
    if (st.requested && changed) st.forceResponse = true;
    st.wildcard = wildcard;
    if (changed) {
      st.names = nameSet;
      st.plan = undefined;
    }
    st.requested = true;
  }

  /**
   * Make-before-break: types go in PUSH_ORDER (CDS, EDS, LDS, RDS), and a type is pushed only
   * once every earlier type the stream subscribes to is ACKed at its current version. So a
   * listener or route never reaches a client before the clusters and endpoints it needs,
   * even when the client rejects those: after a NACK the later types stay at what the
   * client last applied until a new snapshot fixes the rejected type. Costs one round trip
   * per changed type (a few ms on a LAN); a change confined to one type pays nothing.
   *
   * One exception: EDS follows a CDS response without waiting for its ACK. Envoy holds its
   * CDS ACK until every cluster that response added or changed has warmed, and a cluster
   * warms only on its endpoints; waiting for the ACK would stall each such edit for Envoy's
   * initial_fetch_timeout (15 s; measured on Envoy 1.40).
   */
  protected evaluate(): void {
    const snapshot = this.snapshot;
    if (!snapshot || this.closed) return;
    const planOf = createPlanner(this.shares.of(snapshot), this.types);
    let blocked: ResourceTypeUrl | undefined;
    let clustersInFlight = false;
    // False once a type is seen not ACKed at its plan (isApplied would say so too): a push, or
    // an ACK that completes nothing, then skips isApplied's second walk over the types.
    let maybeApplied = true;
    for (const typeUrl of PUSH_ORDER) {
      const st = this.types.get(typeUrl);
      if (!isSubscribed(st)) continue;
      if (clustersInFlight && typeUrl !== ENDPOINT_TYPE) break;
      const plan = planOf(typeUrl);
      // The node rejected exactly what it should hold now: resending would only be NACKed again.
      if (st.nackedVersion === plan.version) {
        blocked = typeUrl;
        break;
      }
      if (st.sentVersion !== plan.version || st.forceResponse) {
        if (!st.ready) {
          maybeApplied = false;
          break;
        }
        this.send(typeUrl, st, plan, planOf.share);
      }
      if (st.ackedVersion === plan.version && st.sentVersion === plan.version) continue;
      maybeApplied = false;
      if (typeUrl === CLUSTER_TYPE && st.sentVersion === plan.version && st.nackedVersion !== plan.version) {
        clustersInFlight = true;
        continue;
      }
      break;
    }
    this.reportBlocked(snapshot, blocked);
    if (maybeApplied) this.reportApplied(snapshot, () => isApplied(this.types, planOf));
  }

  private send(typeUrl: ResourceTypeUrl, st: TypeState, plan: Plan, share: SnapshotShare): void {
    // Streams in the same state send one shared response (same nonce, same bytes); a stream
    // resending exactly its last response needs a nonce of its own for it.
    const shared = share.sotwResponse(typeUrl, plan.resources, plan.version, plan.entry);
    let { nonce, wire } = shared;
    if (nonce === st.sentNonce) {
      nonce = `${shared.nonce}.${++this.nonceCounter}`;
      wire = share.encodeSotw(typeUrl, plan.resources, plan.version, nonce);
    }
    st.sentVersion = plan.version;
    st.sentNonce = nonce;
    st.ready = false;
    st.forceResponse = false;
    if (typeUrl === CLUSTER_TYPE) {
      // Envoy re-warms an updated cluster and waits for its ClusterLoadAssignment, but does
      // not ask for it again (envoy#13009, go-control-plane#245): resend EDS after such a CDS.
      const eds = this.types.get(ENDPOINT_TYPE);
      if (this.kind === 'envoy' && eds && share.updatedBetween(st.lastSent, plan.resources)) eds.forceResponse = true;
    }
    // What the client holds of these types decides when dropped clusters may go (stream-plan.ts).
    if (typeUrl === CLUSTER_TYPE || typeUrl === ENDPOINT_TYPE) {
      // A CDS plan depends on it (dropped clusters are kept): planned afresh.
      if (st.lastSent !== plan.resources) st.plan = undefined;
      st.lastSent = plan.resources;
    }
    this.options.send({
      version_info: plan.version,
      type_url: typeUrl,
      nonce,
      resources: plan.resources,
      control_plane: this.shares.controlPlane,
      wire,
    });
    // Thousands of streams push at once: the line's fields are built only if it can be written.
    if (this.pushLogged) this.logPush(typeUrl, { version: plan.version, nonce, resources: plan.resources.length, ...(plan.retained ? { retained: plan.retained } : {}) });
    this.report((s) => s.responseSent(this.options.streamId, typeUrl, plan.version, nonce));
  }

  private stateOf(typeUrl: ResourceTypeUrl): TypeState {
    let st = this.types.get(typeUrl);
    if (!st) {
      st = newTypeState();
      this.types.set(typeUrl, st);
    }
    return st;
  }
}
