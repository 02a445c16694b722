import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { buildSnapshot, EncodeCache, type Snapshot } from '../cache/snapshot';
import type { SnapshotCache } from '../cache/snapshot-cache';
import { createEndpointResolver, type LookupFn } from '../resolve/resolver';
import { translateWithWarnings } from '../translate';
import { NODE_KINDS, type EnvoyResources, type NodeKind, type ResolvedEndpoints } from '../translate/types';
import { formatWarnings, type ConfigWarning } from './config-warnings';
import { TetherError } from './errors';

/** A config translated, resolved and encoded for every kind of node, not yet served. */
export interface PreparedConfig {
  readonly version: number;
  /** What each kind of node would be sent (for diffs). */
  readonly resources: ReadonlyMap<NodeKind, EnvoyResources>;
  /** The encoded snapshots publish() would serve (for diffs). */
  readonly snapshots: ReadonlyMap<NodeKind, Snapshot>;
  /** What the translation left out or replaced, per kind (config-warnings.ts). */
  readonly warnings: readonly ConfigWarning[];
  /** Makes every kind's snapshot current at once. Call at most once, and only for the latest prepare. */
  publish(): void;
  /** Not publishing after all (dry run, failed commit): DNS re-resolution goes back to the served config. */
  discard(): Promise<void>;
}

export interface ServedConfig {
  readonly config: TetherConfig;
  readonly version: number;
  readonly resources: ReadonlyMap<NodeKind, EnvoyResources>;
  readonly snapshots: ReadonlyMap<NodeKind, Snapshot>;
  readonly warnings: readonly ConfigWarning[];
}

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
  served(): ServedConfig | undefined;
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
  warnings: ConfigWarning[];
}

/** Every kind or nothing: a kind that fails to translate or encode fails the whole config. */
function build(config: TetherConfig, endpoints: ResolvedEndpoints, version: number, cache: EncodeCache): Built {
  const built: Built = { snapshots: new Map(), resources: new Map(), warnings: [] };
  try {
    for (const kind of NODE_KINDS) {
      const { resources, warnings } = translateWithWarnings(config, endpoints, kind);
      built.resources.set(kind, resources);
      for (const w of warnings) built.warnings.push({ nodeKind: kind, ...w });
      // The registry compares a node's applied version with this string.
      built.snapshots.set(kind, buildSnapshot(resources, kind, String(version), cache));
    }
  } finally {
    cache.endBuild();
  }
  return built;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { cache, logger } = options;
  /** Encodings of the last build: a change re-encodes only what it changed. */
  const encodeCache = new EncodeCache();
  let served: (ServedConfig & { endpoints: ResolvedEndpoints }) | undefined;
  /** The config the resolver is currently resolving (served, or one being prepared). */
  let resolving: TetherConfig | undefined;

  const serve = (config: TetherConfig, version: number, endpoints: ResolvedEndpoints, built: Built) => {
    for (const [kind, snapshot] of built.snapshots) {
      try {
        cache.set(kind, snapshot);
      } catch (err) {
        // The snapshot is stored before watchers run; one failing stream must not stop the other kind.
        logger.error({ kind, version, err: (err as Error).message }, 'a snapshot watcher failed');
      }
    }
    served = { config, version, endpoints, resources: built.resources, snapshots: built.snapshots, warnings: built.warnings };
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
      serve(config, version, endpoints, build(config, endpoints, version, encodeCache));
      logger.info({ version }, 'endpoints re-resolved; pushed');
    } catch (err) {
      logger.error({ version, err: (err as Error).message }, 'could not publish re-resolved endpoints; keeping previous');
    }
  };

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
        built = build(config, endpoints, version, encodeCache);
      } catch (err) {
        await restore();
        throw new TetherError('INVALID_ARGUMENT', `could not translate config: ${(err as Error).message}`, [
          { path: '', message: `could not translate config: ${(err as Error).message}` },
        ]);
      }
      let settled = false;
      return {
        version,
        resources: built.resources,
        snapshots: built.snapshots,
        warnings: built.warnings,
        publish() {
          if (settled) throw new Error(`config version ${version} was already published or discarded`);
          settled = true;
          serve(config, version, endpoints, built);
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
    served: () => served,
    close: () => resolver.close(),
  };
}
