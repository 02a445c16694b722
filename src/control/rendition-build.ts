/**
 * How the publisher builds a rendition: per node kind the translation and the encoding of a
 * config in steps, carried over from the previous rendition (Lineage), with the event loop let
 * in between slices (and the caller's pending I/O: PrepareOptions.ioPending).
 */
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { yieldToLoop } from '../util/yield-loop';
import type { TetherConfig } from '../model/types';
import { buildSnapshot, buildSnapshotSteps, EncodeCache } from '../cache/snapshot';
import { runStepsInTurns, SLICE_MS, type Steps } from '../util/steps';
import { translateSteps, translateWithWarnings, UnitMemo } from '../translate';
import { changedPositions } from '../translate/unit-memo';
import { NODE_KINDS, NODE_TARGETS, type NodeTarget } from '../model/node-targets';
import type { ResolvedEndpoints, TlsMaterial } from '../model/resolved';
import { TetherError } from '../config/errors';
import { makeRendition, type Rendition } from './rendition';
import { BuildStopped, stoppable, WHOLE, type BuildPart, type Built } from './deferred-kinds';

/**
 * What carries over from one rendition to the next: per target the translation of every
 * unchanged service and backend (UnitMemo), and the encodings of every unchanged message
 * (EncodeCache). Both only ever return what a full rebuild would produce.
 */
export class Lineage {
  readonly encodeCache = new EncodeCache();
  private readonly memos = new Map<NodeTarget, UnitMemo>();
  /** The services last checked for newer Envoy API features, and how many use them (usesNewerEnvoyApi). */
  newerApiCount: { services: readonly object[]; count: number } | undefined;

  memo(target: NodeTarget): UnitMemo {
    let memo = this.memos.get(target);
    if (!memo) this.memos.set(target, (memo = new UnitMemo()));
    return memo;
  }
}

/** What a config is translated with besides itself: its resolved endpoints and TLS files. */
export interface Outside {
  endpoints: ResolvedEndpoints;
  tls: TlsMaterial;
}

function translateFor(config: TetherConfig, outside: Outside, lineage: Lineage, target: NodeTarget) {
  // The memo keys units by model objects and the endpoint lists they read; the listeners'
  // secrets (the only readers of `tls`) are translated afresh every time.
  return translateWithWarnings(config, outside.endpoints, target, outside.tls, lineage.memo(target));
}

export function buildTarget(config: TetherConfig, outside: Outside, version: number, lineage: Lineage, target: NodeTarget) {
  const { resources, warnings } = translateFor(config, outside, lineage, target);
  // The registry compares a node's applied version with this string.
  return { resources, warnings, snapshot: buildSnapshot(resources, target, String(version), lineage.encodeCache) };
}

/**
 * Whether an older Envoy level would be served this config differently (ring-mode sticky
 * splits without use_hash_policy, session cookies without attributes): only then is it worth
 * translating for that level just to report its warnings in validate/apply.
 */
/** Per service model (the same object while the service is unchanged): whether it needs a newer Envoy API. */
const newerApi = new WeakMap<object, boolean>();

function serviceUsesNewerApi(s: TetherConfig['services'][number]): boolean {
  let uses = newerApi.get(s);
  if (uses === undefined) {
    uses =
      s.routes.some((r) => r.stickySplit?.mode === 'ring') ||
      (s.affinity?.strong?.session.kind === 'cookie' && (s.affinity.strong.session.secure === true || s.affinity.strong.session.sameSite !== undefined));
    newerApi.set(s, uses);
  }
  return uses;
}

/** Whether a service needs a newer Envoy API, counted from the lineage's last count: an edit of a few services recounts those. */
function usesNewerEnvoyApi(config: TetherConfig, lineage: Lineage): boolean {
  const before = lineage.newerApiCount;
  const changed = before ? changedPositions(before.services, config.services) : undefined;
  let count: number;
  if (before && changed) {
    count = before.count;
    for (const i of changed) count += Number(serviceUsesNewerApi(config.services[i]!)) - Number(serviceUsesNewerApi(before.services[i] as TetherConfig['services'][number]));
  } else {
    count = 0;
    for (const s of config.services) if (serviceUsesNewerApi(s)) count++;
  }
  lineage.newerApiCount = { services: config.services, count };
  return count > 0;
}

/**
 * Every kind or nothing: a kind that fails to translate or encode fails the whole config. So
 * does an older Envoy level once a node of that level has connected (`levels`): its nodes must
 * not be left on an older config than the rest. One step per target, so that prepare() can
 * let the event loop in between them (each is tens of ms for a 2,000-endpoint backend).
 */
function buildSteps(config: TetherConfig, outside: Outside, version: number, lineage: Lineage, levels: ReadonlySet<NodeTarget>, part: BuildPart = WHOLE) {
  const built: Built = { snapshots: new Map(), resources: new Map(), levels: new Map(), warnings: [] };
  const cache = lineage.encodeCache;
  // Translating and encoding are separate steps, each cut into slices itself (per service or
  // backend, per resource encoded: a whole config of 10,000 services is seconds of both).
  const steps: Array<() => Steps<void> | void> = part.kinds.flatMap((kind) => [
    function* () {
      // Same inputs as translateFor's.
      const { resources, warnings } = yield* translateSteps(config, outside.endpoints, kind, outside.tls, lineage.memo(kind));
      built.resources.set(kind, resources);
      for (const w of warnings) built.warnings.push({ nodeKind: kind, ...w });
    },
    // The registry compares a node's applied version with this string.
    function* () {
      built.snapshots.set(kind, yield* buildSnapshotSteps(built.resources.get(kind)!, kind, String(version), cache));
    },
  ]);
  const older = new Set<NodeTarget>(!part.levels ? [] : [...levels, ...(usesNewerEnvoyApi(config, lineage) ? NODE_TARGETS.filter((t) => !(NODE_KINDS as readonly string[]).includes(t)) : [])]);
  for (const level of older) {
    steps.push(() => {
      const target = buildTarget(config, outside, version, lineage, level);
      if (levels.has(level)) built.levels.set(level, target.snapshot);
      for (const w of target.warnings) built.warnings.push({ nodeKind: level, ...w });
    });
  }
  return { built, steps };
}

export async function buildInTurns(
  config: TetherConfig,
  outside: Outside,
  version: number,
  lineage: Lineage,
  levels: ReadonlySet<NodeTarget>,
  dryRun = false,
  part: BuildPart = WHOLE,
  stopped?: () => boolean,
  ioPending?: () => boolean,
): Promise<Built> {
  const { built, steps } = buildSteps(config, outside, version, lineage, levels, part);
  // One run, one slice clock for every step: the loop gets in whenever a slice is used up,
  // also between two steps, but a small build (an edit of a small config: well under a
  // millisecond per step) runs through without waiting a loop turn after each of its steps.
  function* all(): Steps<void> {
    for (const step of steps) {
      if (stopped?.()) throw new BuildStopped();
      const sliced = step();
      if (sliced) yield* stopped ? stoppable(sliced, stopped) : sliced;
      yield;
    }
  }
  try {
    await runStepsInTurns(all(), ioPending ? IO_SLICE_MS : SLICE_MS, ioPending ? ioTurns(ioPending) : yieldToLoop);
  } finally {
    // A dry run keeps the served build's encodings (it is not the next build).
    if (!dryRun && part.ends) lineage.encodeCache.endBuild();
  }
  return built;
}

/** How often a build checks whether to let the caller's pending I/O in (PrepareOptions.ioPending). */
const IO_SLICE_MS = 0.2;

/**
 * The pause of a build cut into IO_SLICE_MS slices: while the I/O is pending, one setImmediate
 * (from the second pause on it comes back through the loop's poll phase, where the I/O's
 * completions are handled: half the cost of a full yieldToLoop, paid every 0.2 ms); else a
 * full turn only once a whole SLICE_MS has run since the last one (as without I/O).
 */
function ioTurns(ioPending: () => boolean): () => Promise<void> {
  let lastTurn = performance.now();
  return async () => {
    if (performance.now() - lastTurn >= SLICE_MS) {
      await yieldToLoop();
      lastTurn = performance.now();
    } else if (ioPending()) {
      await setImmediatePromise();
    }
  };
}

export const renditionOf = (config: TetherConfig, version: number, outside: Outside, built: Built): Rendition =>
  makeRendition({ config, version, endpoints: outside.endpoints, tls: outside.tls, resources: built.resources, snapshots: built.snapshots, warnings: built.warnings });

export function translationError(err: unknown): TetherError {
  const message = `could not translate config: ${(err as Error).message}`;
  return new TetherError('INVALID_ARGUMENT', message, [{ path: '', message }]);
}
