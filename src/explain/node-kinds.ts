/**
 * Which kinds of node explain and what-if answer for when the caller names none. Envoy nodes
 * see only the services on a listener, so a config without listeners serves them nothing,
 * and answering for them would report "nothing moves" about sessions that cannot exist. So
 * the default follows the nodes that are there (the connected ones), else what the config
 * actually serves, and what-if says when a kind it reports is served no route at all.
 */
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import type { WireResources } from './wire';

/** "requested": named by the caller; "connected": the connected nodes'; "served": what the config serves. */
export type KindsFrom = 'requested' | 'connected' | 'served';

/** Whether nodes of a kind get any route from these resources. */
export function servesRoutes(resources: WireResources): boolean {
  return resources.routes.some((config) => config.virtual_hosts.some((vh) => vh.routes.length > 0));
}

/** Distinct kinds, in NODE_KINDS order (Envoy first). */
export function kindsOf(kinds: Iterable<NodeKind>): NodeKind[] {
  const set = new Set(kinds);
  return NODE_KINDS.filter((k) => set.has(k));
}

/**
 * What-if: the requested kind; else the connected nodes' kinds; else every kind served a
 * route before or after the change (`serves`); Envoy when nothing is served either way.
 */
export function whatIfKinds(requested: NodeKind | undefined, connected: readonly NodeKind[], serves: (kind: NodeKind) => boolean): { kinds: NodeKind[]; from: KindsFrom } {
  if (requested) return { kinds: [requested], from: 'requested' };
  const live = kindsOf(connected);
  if (live.length > 0) return { kinds: live, from: 'connected' };
  const served = NODE_KINDS.filter(serves);
  return { kinds: served.length > 0 ? served : ['envoy'], from: 'served' };
}

/**
 * Explain answers for one kind: the requested one; else the first connected kind that is
 * served the service (`serves`), else the first kind served it; `others` are the kinds the
 * caller may want instead (connected or served too), for a note.
 */
export function explainKind(
  requested: NodeKind | undefined,
  connected: readonly NodeKind[],
  serves: (kind: NodeKind) => boolean,
): { kind: NodeKind; from: KindsFrom; others: NodeKind[] } {
  if (requested) return { kind: requested, from: 'requested', others: [] };
  const live = kindsOf(connected).filter(serves);
  const served = NODE_KINDS.filter(serves);
  const [kind, from] = live.length > 0 ? [live[0]!, 'connected' as const] : [served[0] ?? 'envoy', 'served' as const];
  const others = (live.length > 0 ? live : served).filter((k) => k !== kind);
  return { kind, from, others };
}
