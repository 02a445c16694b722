/**
 * What SotW and delta streams both keep of a type's subscription, and the questions both ask
 * of it. Each protocol adds its own bookkeeping (stream-plan.ts's TypeState, delta-stream.ts's
 * DeltaTypeState) on top of this shape.
 */
import type { SnapshotResource } from '../cache/snapshot';
import { PUSH_ORDER, REFERENCED_TYPE, type ResourceTypeUrl } from '../envoy/resource-types';

export interface Subscription {
  /** The client has asked for the type. */
  requested: boolean;
  /** It subscribes to every resource of the type (LDS and CDS only, or VHDS's namespaces). */
  wildcard: boolean;
  /**
   * The names asked for explicitly: interned by StreamShares.internNames and replaced, never
   * mutated, so equal names are the same set and a set keys the share's memo tables.
   */
  names: ReadonlySet<string>;
  /**
   * The last reference check of this type that passed (see closedUnderReferences): the content
   * version of what the client held, the subscription it held it under, and the referenced
   * type's subscription (name sets, or the sentinels below). Each is immutable (versions are
   * content hashes, name sets interned), so an equal key is an equal answer. Three fields, not
   * an object: an idle by-name stream keeps them for each type.
   */
  refsVersion: string | undefined;
  refsHeld: ReadonlySet<string> | undefined;
  refsTo: ReadonlySet<string> | undefined;
}

/** Asked for, and for something: a wildcard or at least one name. */
export function isSubscribed<S extends Subscription>(st: S | undefined): st is S {
  return !!st && st.requested && (st.wildcard || st.names.size > 0);
}

/** Whether `name` is within the subscription (by wildcard or by name). */
export function covers(st: Subscription | undefined, name: string): boolean {
  return !!st && st.requested && (st.wildcard || st.names.has(name));
}

/** Whether every name `resources` refer to is within `st` (SnapshotShare.refsSubscribed: memoised per list). */
export interface ReferenceChecks {
  refsSubscribed(resources: readonly SnapshotResource[], st: Subscription | undefined): boolean;
}

/**
 * Subscriptions closed under references: every route config a held listener names is
 * subscribed, every cluster a held route names, and so on (`held`: what the client holds or
 * is to hold of a subscribed type; `heldVersion`: the content version of exactly that list).
 * False when nothing is subscribed. Each check is shared by the streams holding the same list
 * (SnapshotShare.refsSubscribed), and a type whose held version and referenced subscription
 * are those of its last passed check is not checked again: a one-route edit re-checks the
 * routes only, not the listeners and clusters, whose objects a by-name stream holds alone
 * (cold memory: most of an ACK's time went to reading them).
 */
export function closedUnderReferences(
  share: ReferenceChecks,
  subscriptionOf: (typeUrl: ResourceTypeUrl) => Subscription | undefined,
  held: (typeUrl: ResourceTypeUrl, st: Subscription) => readonly SnapshotResource[],
  heldVersion: (typeUrl: ResourceTypeUrl, st: Subscription) => string,
): boolean {
  let any = false;
  for (const typeUrl of PUSH_ORDER) {
    const st = subscriptionOf(typeUrl);
    if (!isSubscribed(st)) continue;
    any = true;
    const referenced = REFERENCED_TYPE[typeUrl];
    if (!referenced) continue;
    const dst = subscriptionOf(referenced);
    // What refsSubscribed reads of the referenced subscription, and the list's subscription.
    const to = !dst?.requested ? NOT_REQUESTED : dst.wildcard ? EVERY_NAME : dst.names;
    const heldUnder = st.wildcard ? EVERY_NAME : st.names;
    const version = heldVersion(typeUrl, st);
    if (st.refsVersion === version && st.refsHeld === heldUnder && st.refsTo === to) continue;
    if (!share.refsSubscribed(held(typeUrl, st), dst)) return false;
    st.refsVersion = version;
    st.refsHeld = heldUnder;
    st.refsTo = to;
  }
  return any;
}

/** Memo keys for a subscription not asked for, and for a wildcard one. */
const NOT_REQUESTED: ReadonlySet<string> = Object.freeze(new Set<string>());
const EVERY_NAME: ReadonlySet<string> = Object.freeze(new Set<string>());
