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
 * is to hold of a subscribed type). False when nothing is subscribed. Each check is shared by
 * the streams holding the same list (SnapshotShare.refsSubscribed).
 */
export function closedUnderReferences(
  share: ReferenceChecks,
  subscriptionOf: (typeUrl: ResourceTypeUrl) => Subscription | undefined,
  held: (typeUrl: ResourceTypeUrl, st: Subscription) => readonly SnapshotResource[],
): boolean {
  let any = false;
  for (const typeUrl of PUSH_ORDER) {
    const st = subscriptionOf(typeUrl);
    if (!isSubscribed(st)) continue;
    any = true;
    const referenced = REFERENCED_TYPE[typeUrl];
    if (!referenced) continue;
    if (!share.refsSubscribed(held(typeUrl, st), subscriptionOf(referenced))) return false;
  }
  return any;
}
