/**
 * A build cut into parts by node kind, for a cold start: the first version is built, made
 * durable and served to the kinds clients need first (Envoy), and only then built for the
 * deferred kinds (gRPC), in event-loop turns (publisher.ts, "First version, kinds deferred").
 * The parts together are exactly the whole build: same steps, same encode cache, and the
 * merged result in the whole build's order.
 */
import type { Snapshot } from '../cache/snapshot';
import type { EnvoyResources } from '../envoy/resources';
import { NODE_KINDS, type NodeKind, type NodeTarget } from '../model/node-targets';
import type { Steps } from '../util/steps';
import type { ConfigWarning } from './config-warnings';

/** What one build (or part of one) produced. */
export interface Built {
  snapshots: Map<NodeKind, Snapshot>;
  resources: Map<NodeKind, EnvoyResources>;
  /** Snapshots of the older Envoy API levels that nodes asked for (not shown in diffs). */
  levels: Map<NodeTarget, Snapshot>;
  warnings: ConfigWarning[];
}

/** Which part of a build to run: its node kinds, whether the older Envoy levels, whether it completes the build. */
export interface BuildPart {
  kinds: readonly NodeKind[];
  levels: boolean;
  /** The build's last part: the encode cache then forgets what the build did not use. */
  ends: boolean;
}

export const WHOLE: BuildPart = { kinds: NODE_KINDS, levels: true, ends: true };

/** The two parts of a build that defers `deferred`: the rest (with the older Envoy levels) first. */
export function deferredParts(deferred: readonly NodeKind[]): { first: BuildPart; rest: BuildPart } {
  return {
    first: { kinds: NODE_KINDS.filter((k) => !deferred.includes(k)), levels: true, ends: false },
    rest: { kinds: NODE_KINDS.filter((k) => deferred.includes(k)), levels: false, ends: true },
  };
}

/**
 * Both parts as the whole build would have them: kinds in NODE_KINDS order, warnings of the
 * kinds in that order, then the older levels' (as buildSteps pushes them).
 */
export function mergeBuilt(first: Built, rest: Built): Built {
  const rank = (w: ConfigWarning) => {
    const i = (NODE_KINDS as readonly string[]).indexOf(w.nodeKind);
    return i < 0 ? NODE_KINDS.length : i;
  };
  const inOrder = <V>(a: Map<NodeKind, V>, b: Map<NodeKind, V>) =>
    new Map(NODE_KINDS.flatMap((k): Array<[NodeKind, V]> => (a.has(k) ? [[k, a.get(k)!]] : b.has(k) ? [[k, b.get(k)!]] : [])));
  return {
    snapshots: inOrder(first.snapshots, rest.snapshots),
    resources: inOrder(first.resources, rest.resources),
    levels: new Map([...first.levels, ...rest.levels]),
    // A stable sort: within a kind (and among the levels) the order is the build's own.
    warnings: [...first.warnings, ...rest.warnings].sort((a, b) => rank(a) - rank(b)),
  };
}

export class BuildStopped extends Error {
  constructor() {
    super('the publisher was closed');
    this.name = 'BuildStopped';
  }
}

/** `steps`, throwing BuildStopped at the first step after `stopped()` turns true (a deferred part outliving close()). */
export function* stoppable<T>(steps: Steps<T>, stopped: () => boolean): Steps<T> {
  let r = steps.next();
  while (!r.done) {
    if (stopped()) throw new BuildStopped();
    yield;
    r = steps.next();
  }
  return r.value;
}
