import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { buildSnapshot, EncodeCache, type Snapshot } from '../cache/snapshot';
import type { SnapshotCache } from '../cache/snapshot-cache';
import { createEndpointResolver, type LookupFn } from '../resolve/resolver';
import { translateWithWarnings, UnitMemo } from '../translate';
import { NODE_KINDS, type EnvoyResources, type NodeKind, type ResolvedEndpoints } from '../translate/types';
import { NODE_TARGETS, type NodeTarget } from '../translate/targets';
import { formatWarnings, type ConfigWarning } from './config-warnings';
import { TetherError } from './errors';
import { makeRendition, type Rendition } from './rendition';

/** A config translated, resolved and encoded for every kind of node, not yet served. */
export interface PreparedConfig {
  readonly version: number;
  /** What publish() would serve. */
  readonly rendition: Rendition;
  /** What each kind of node would be sent (for diffs). */
  readonly resources: ReadonlyMap<NodeKind, EnvoyResources>;
  /** The encoded snapshots publish() would serve (for diffs). */
  readonly snapshots: ReadonlyMap<NodeKind, Snapshot>;
  /** What the translation left out or replaced, per target (config-warnings.ts). */
  readonly warnings: readonly ConfigWarning[];
  /** Makes every kind's snapshot current at once. Call at most once, and only for the latest prepare. */
  publish(): void;
  /** Not publishing after all (dry run, failed commit): DNS re-resolution goes back to the served config. */
  discard(): Promise<void>;
}

/** The rendition being served. */
export type ServedConfig = Rendition;

/**
 * The path from a validated config to the snapshot cache: resolve DNS names, translate for
 * each kind of node, encode once (buildSnapshot). Two steps so that a caller can make a
 * version durable between building it and serving it, and so that nothing is served unless
 * every kind built. It also re-publishes the served config when its DNS names resolve to
 * new addresses (same config version, new content).
 */
export interface Publisher {
  /** Throws TetherError INVALID_ARGUMENT when the config cannot be translated or encoded. */
  prepare(config: TetherConfig, version: number): Promise<PreparedConfig>;
  /**
   * A dry run: the rendition `config` would have as `version`, built like prepare's but
   * changing nothing (the served rendition, what DNS names are re-resolved). Throws like prepare.
   */
  render(config: TetherConfig, version: number): Promise<Rendition>;
  /** The rendition clients are served (undefined before the first publish). */
  served(): Rendition | undefined;
  close(): void;
}

export interface PublisherOptions {
  cache: SnapshotCache;
  logger: Logger;
  /** DNS lookup for endpoint names (default: getaddrinfo; tests inject one). */
  lookup?: LookupFn;
  /** How often DNS names are re-resolved. Default 30 s. */
  resolveIntervalMs?: number;
  /** Called each time a config is served: a new version, or the same one re-resolved (metrics). */
  onServed?: (served: ServedConfig) => void;
}

interface Built {
  snapshots: Map<NodeKind, Snapshot>;
  resources: Map<NodeKind, EnvoyResources>;
  /** Snapshots of the older Envoy API levels that nodes asked for (not shown in diffs). */
  levels: Map<NodeTarget, Snapshot>;
  warnings: ConfigWarning[];
}

/**
 * What carries over from one rendition to the next: per target the translation of every
 * unchanged service and backend (UnitMemo), and the encodings of every unchanged message
 * (EncodeCache). Both only ever return what a full rebuild would produce.
 */
class Lineage {
  readonly encodeCache = new EncodeCache();
  private readonly memos = new Map<NodeTarget, UnitMemo>();

  memo(target: NodeTarget): UnitMemo {
    let memo = this.memos.get(target);
    if (!memo) this.memos.set(target, (memo = new UnitMemo()));
    return memo;
  }
}

function buildTarget(config: TetherConfig, endpoints: ResolvedEndpoints, version: number, lineage: Lineage, target: NodeTarget) {
  const cache = lineage.encodeCache;
  const { resources, warnings } = translateWithWarnings(config, endpoints, target, lineage.memo(target));
  // The registry compares a node's applied version with this string.
  return { resources, warnings, snapshot: buildSnapshot(resources, target, String(version), cache) };
}

/**
 * Whether an older Envoy level would be served this config differently (ring-mode sticky
 * splits without use_hash_policy, session cookies without attributes): only then is it worth
 * translating for that level just to report its warnings in validate/apply.
 */
function usesNewerEnvoyApi(config: TetherConfig): boolean {
  return config.services.some(
    (s) =>
      s.routes.some((r) => r.stickySplit?.mode === 'ring') ||
      (s.affinity?.strong?.session.kind === 'cookie' && (s.affinity.strong.session.secure === true || s.affinity.strong.session.sameSite !== undefined)),
  );
}

/**
 * Every kind or nothing: a kind that fails to translate or encode fails the whole config. So
 * does an older Envoy level once a node of that level has connected (`levels`): its nodes must
 * not be left on an older config than the rest.
 */
function build(config: TetherConfig, endpoints: ResolvedEndpoints, version: number, lineage: Lineage, levels: ReadonlySet<NodeTarget>, dryRun = false): Built {
  const built: Built = { snapshots: new Map(), resources: new Map(), levels: new Map(), warnings: [] };
  try {
    for (const kind of NODE_KINDS) {
      const { resources, snapshot, warnings } = buildTarget(config, endpoints, version, lineage, kind);
      built.resources.set(kind, resources);
      built.snapshots.set(kind, snapshot);
      for (const w of warnings) built.warnings.push({ nodeKind: kind, ...w });
    }
    const older = new Set<NodeTarget>([...levels, ...(usesNewerEnvoyApi(config) ? NODE_TARGETS.filter((t) => !(NODE_KINDS as readonly string[]).includes(t)) : [])]);
    for (const level of older) {
      const target = buildTarget(config, endpoints, version, lineage, level);
      if (levels.has(level)) built.levels.set(level, target.snapshot);
      for (const w of target.warnings) built.warnings.push({ nodeKind: level, ...w });
    }
  } finally {
    // A dry run keeps the served build's encodings (it is not the next build).
    if (!dryRun) lineage.encodeCache.endBuild();
  }
  return built;
}

const renditionOf = (config: TetherConfig, version: number, endpoints: ResolvedEndpoints, built: Built): Rendition =>
  makeRendition({ config, version, endpoints, resources: built.resources, snapshots: built.snapshots, warnings: built.warnings });

function translationError(err: unknown): TetherError {
  const message = `could not translate config: ${(err as Error).message}`;
  return new TetherError('INVALID_ARGUMENT', message, [{ path: '', message }]);
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { cache, logger } = options;
  /** Translations and encodings of the last build: a change redoes only what it changed. */
  const lineage = new Lineage();
  let served: Rendition | undefined;
  /** The config the resolver is currently resolving (served, or one being prepared). */
  let resolving: TetherConfig | undefined;
  /**
   * Older Envoy API levels some node has needed: built lazily, on the first such node, then with
   * every config (at most two extra translations, only where such Envoys exist).
   */
  const levels = new Set<NodeTarget>();

  const serve = (rendition: Rendition, built: Built) => {
    const { config, version, endpoints } = rendition;
    // A level first asked for while this config was being prepared: build it now.
    for (const level of levels) {
      if (built.levels.has(level)) continue;
      try {
        built.levels.set(level, buildTarget(config, endpoints, version, lineage, level).snapshot);
      } catch (err) {
        logger.error({ target: level, version, err: (err as Error).message }, 'could not translate for an older Envoy level; its nodes keep their config');
      }
    }
    for (const [kind, snapshot] of [...built.snapshots, ...built.levels]) {
      try {
        cache.set(kind, snapshot);
      } catch (err) {
        // The snapshot is stored before watchers run; one failing stream must not stop the other kind.
        logger.error({ kind, version, err: (err as Error).message }, 'a snapshot watcher failed');
      }
    }
    served = rendition;
    options.onServed?.(served);
  };

  const resolver = createEndpointResolver({
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.resolveIntervalMs !== undefined ? { intervalMs: options.resolveIntervalMs } : {}),
    logger: logger.child({ component: 'resolver' }),
    onChange: (endpoints) => republish(endpoints),
  });

  const republish = (endpoints: ResolvedEndpoints) => {
    // While another config is being prepared, its publish() picks up the new addresses.
    if (!served || resolving !== served.config) return;
    const { config, version } = served;
    try {
      const built = build(config, endpoints, version, lineage, levels);
      serve(renditionOf(config, version, endpoints, built), built);
      logger.info({ version }, 'endpoints re-resolved; pushed');
    } catch (err) {
      logger.error({ version, err: (err as Error).message }, 'could not publish re-resolved endpoints; keeping previous');
    }
  };

  cache.setDemandHandler((target) => {
    if ((NODE_KINDS as readonly string[]).includes(target) || levels.has(target)) return;
    levels.add(target);
    if (!served) return; // the first publish builds it
    const { config, version, endpoints } = served;
    try {
      cache.set(target, buildTarget(config, endpoints, version, lineage, target).snapshot);
      logger.info({ target, version }, 'built the config for an older Envoy API level');
    } catch (err) {
      logger.error({ target, version, err: (err as Error).message }, 'could not translate for an older Envoy level; its nodes get no config');
    }
  });

  const resolve = (config: TetherConfig): Promise<ResolvedEndpoints> => {
    resolving = config;
    return resolver.setConfig(config);
  };

  const restore = async () => {
    if (served && resolving !== served.config) await resolve(served.config).catch(() => undefined);
  };

  return {
    async prepare(config, version) {
      const endpoints = await resolve(config);
      let built: Built;
      try {
        built = build(config, endpoints, version, lineage, levels);
      } catch (err) {
        await restore();
        throw translationError(err);
      }
      let settled = false;
      const rendition = renditionOf(config, version, endpoints, built);
      return {
        version,
        rendition,
        resources: built.resources,
        snapshots: built.snapshots,
        warnings: built.warnings,
        publish() {
          if (settled) throw new Error(`config version ${version} was already published or discarded`);
          settled = true;
          serve(rendition, built);
          // Once per version (re-resolutions of the same version do not repeat it).
          if (built.warnings.length > 0) {
            logger.warn(
              { version, warnings: built.warnings },
              `config version ${version} is served with ${built.warnings.length} translation warning${built.warnings.length === 1 ? '' : 's'}:\n${formatWarnings(built.warnings)}`,
            );
          }
          // A re-resolution that finished after prepare() was skipped by republish(); use it now.
          const latest = resolver.current();
          if (resolving === config && latest !== endpoints) republish(latest);
        },
        async discard() {
          if (settled) return;
          settled = true;
          await restore();
        },
      };
    },
    async render(config, version) {
      const endpoints = await resolver.resolveOnce(config);
      try {
        return renditionOf(config, version, endpoints, build(config, endpoints, version, lineage, new Set(), true));
      } catch (err) {
        throw translationError(err);
      }
    },
    served: () => served,
    close: () => {
      cache.setDemandHandler(undefined);
      resolver.close();
    },
  };
}
