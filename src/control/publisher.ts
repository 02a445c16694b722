import { yieldToLoop } from '../util/yield-loop';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import type { Snapshot } from '../cache/snapshot';
import type { SnapshotCache } from '../cache/snapshot-cache';
import { createEndpointResolver, type LookupFn } from '../resolve/resolver';
import { createTlsFileSource, EMPTY_TLS, readTlsFiles, TlsFilesError } from '../resolve/tls-files';
import { NODE_KINDS, type NodeKind, type NodeTarget } from '../model/node-targets';
import type { EnvoyResources } from '../envoy/resources';
import type { ResolvedEndpoints, TlsMaterial } from '../model/resolved';
import { formatWarnings, type ConfigWarning } from './config-warnings';
import { TetherError } from '../config/errors';
import type { Rendition } from './rendition';
import { sameSnapshotBytes } from '../cache/snapshot-file';
import { BuildStopped, deferredParts, mergeBuilt, WHOLE, type Built } from './deferred-kinds';
import { Lineage, type Outside, buildTarget, buildInTurns, renditionOf, translationError } from './rendition-build';

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

export interface PrepareOptions {
  /**
   * While this says true (the caller's own I/O is under way: the store writing the version),
   * the build lets the event loop in between its steps, however short, so that the I/O's
   * system calls go on during the build instead of after it.
   */
  ioPending?: () => boolean;
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
  prepare(config: TetherConfig, version: number, options?: PrepareOptions): Promise<PreparedConfig>;
  /**
   * A dry run: the rendition `config` would have as `version`, built like prepare's but
   * changing nothing (the served rendition, what DNS names are re-resolved). Throws like prepare.
   */
  render(config: TetherConfig, version: number): Promise<Rendition>;
  /** The rendition clients are served (undefined before the first publish). */
  served(): Rendition | undefined;
  /**
   * Resolves once the served version is built for every kind: at once, except after the first
   * publish while the kinds it deferred are built (options.deferKinds).
   */
  settled(): Promise<void>;
  /**
   * A restart's head start (server/served-snapshot.ts): serves `snapshot`, a snapshot file this
   * same build wrote for the stored version about to be restored, before that version is
   * validated and built again. The next prepare() of that version compares its fresh build
   * with it byte for byte; the fresh build is what publish() serves either way.
   */
  servePersisted?(snapshot: Snapshot): void;
  close(): void;
}

export interface PublisherOptions {
  cache: SnapshotCache;
  logger: Logger;
  /** DNS lookup for endpoint names (default: getaddrinfo; tests inject one). */
  lookup?: LookupFn;
  /** How often DNS names are re-resolved. Default 30 s. */
  resolveIntervalMs?: number;
  /** How often TLS listeners' certificate files are re-read (rotation). Default 2 s. */
  tlsRecheckMs?: number;
  /** Called each time a config is served: a new version, or the same one re-resolved (metrics). */
  onServed?: (served: ServedConfig) => void;
  /**
   * Kinds the first version is built for only after it is served to the others (a cold start:
   * see "First version, kinds deferred" below). Default none: every kind before anything is served.
   */
  deferKinds?: readonly NodeKind[];
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

  /** Sets every built snapshot; `whole`: the rendition is complete, it becomes served(). */
  const serve = (rendition: Rendition, built: Built, whole = true) => {
    const { config, version } = rendition;
    const outside: Outside = { endpoints: rendition.endpoints, tls: rendition.tls };
    // A level first asked for while this config was being prepared: build it now.
    for (const level of levels) {
      if (built.levels.has(level)) continue;
      try {
        built.levels.set(level, buildTarget(config, outside, version, lineage, level).snapshot);
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
    if (!whole) return;
    served = rendition;
    options.onServed?.(served);
  };

  const resolver = createEndpointResolver({
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.resolveIntervalMs !== undefined ? { intervalMs: options.resolveIntervalMs } : {}),
    logger: logger.child({ component: 'resolver' }),
    onChange: (endpoints) => void republish({ endpoints }, 'endpoints re-resolved'),
  });
  const tlsFiles = createTlsFileSource({
    ...(options.tlsRecheckMs !== undefined ? { intervalMs: options.tlsRecheckMs } : {}),
    logger: logger.child({ component: 'tls-files' }),
    onChange: (tls) => void republish({ tls }, 'TLS certificate files changed'),
  });

  /**
   * The served config again, with new endpoints (a periodic re-resolution) or certificates
   * (same version, new content): built in event-loop turns (translating and encoding each kind
   * is tens of ms at 2,000 endpoints), served only if nothing newer (another config, a later
   * re-resolution) came in the meantime.
   */
  let refreshes = 0;
  /** Endpoints and certificates newer than the served ones, while a republish is being built. */
  let pending: { config: TetherConfig; outside: Outside } | undefined;
  const republish = async (change: Partial<Outside>, what: string) => {
    await completing;
    // While another config is being prepared, its publish() picks up the new addresses.
    if (!served || resolving !== served.config) return;
    const { config, version } = served;
    // A later republish supersedes an unfinished one: it must carry that one's change too.
    const outside = { ...(pending?.config === config ? pending.outside : { endpoints: served.endpoints, tls: served.tls }), ...change };
    pending = { config, outside };
    const refresh = ++refreshes;
    try {
      const built = await buildInTurns(config, outside, version, lineage, levels);
      if (refresh !== refreshes || served?.config !== config || resolving !== config) return;
      pending = undefined;
      serve(renditionOf(config, version, outside, built), built);
      logger.info({ version }, `${what}; pushed`);
    } catch (err) {
      logger.error({ version, err: (err as Error).message }, `could not publish after ${what}; keeping previous`);
    }
  };

  cache.setDemandHandler((target) => {
    if ((NODE_KINDS as readonly string[]).includes(target) || levels.has(target)) return;
    levels.add(target);
    if (!served) return; // the first publish builds it
    const { config, version } = served;
    const outside: Outside = { endpoints: served.endpoints, tls: served.tls };
    try {
      cache.set(target, buildTarget(config, outside, version, lineage, target).snapshot);
      logger.info({ target, version }, 'built the config for an older Envoy API level');
    } catch (err) {
      logger.error({ target, version, err: (err as Error).message }, 'could not translate for an older Envoy level; its nodes get no config');
    }
  });

  const resolve = (config: TetherConfig): Promise<ResolvedEndpoints> => {
    resolving = config;
    return resolver.setConfig(config);
  };

  /** TLS files that cannot be read or do not check out are errors of the fields naming them. */
  const readTls = async (config: TetherConfig): Promise<TlsMaterial> => {
    if (!config.listeners.some((l) => l.tls !== undefined) && !served?.config.listeners.some((l) => l.tls !== undefined)) return EMPTY_TLS;
    try {
      return await tlsFiles.setConfig(config);
    } catch (err) {
      if (err instanceof TlsFilesError) throw TetherError.invalid(err.problems);
      throw err;
    }
  };

  const restore = async () => {
    if (served && resolving !== served.config) {
      await resolve(served.config).catch(() => undefined);
      await tlsFiles.setConfig(served.config).catch(() => undefined);
    }
  };

  /** After a version is served whole: its warnings logged, and what changed meanwhile outside it picked up. */
  const afterServed = (rendition: Rendition, built: Built, outside: Outside) => {
    const { config, version } = rendition;
    // Once per version (re-resolutions of the same version do not repeat it).
    if (built.warnings.length > 0) {
      logger.warn(
        { version, warnings: built.warnings },
        `config version ${version} is served with ${built.warnings.length} translation warning${built.warnings.length === 1 ? '' : 's'}:\n${formatWarnings(built.warnings)}`,
      );
    }
    // A re-resolution (or a re-read certificate) that finished after prepare() was skipped by republish(); use it now.
    const latest = { endpoints: resolver.current(), tls: tlsFiles.current() };
    if (resolving === config && (latest.endpoints !== outside.endpoints || (latest.tls !== outside.tls && latest.tls !== EMPTY_TLS))) void republish(latest, 'endpoints or certificates changed while publishing');
  };

  // ---- First version, kinds deferred (options.deferKinds; deferred-kinds.ts) ----
  // A cold start builds, commits and serves its first version to the kinds not deferred (Envoy)
  // and builds the deferred ones (gRPC) after that, in event-loop turns: at 10,000 services each
  // kind is about a second of CPU, which Envoys no longer wait for. Until then a deferred kind's
  // nodes wait for their first snapshot (as any node does that connects before a config is
  // served; /readyz says nothing is served to them yet) and served() stays undefined; prepare,
  // render and re-resolutions wait for the rest, so every later version is built whole, on a
  // whole previous one. A deferred kind that fails to build is logged and gets nothing; the
  // partial rendition is then the served one, and the next version builds every kind again.
  const parts = deferredParts(options.deferKinds ?? []);
  /** A persisted snapshot served ahead of its version's first build (servePersisted). */
  let provisional: Snapshot | undefined;
  /** Compares the fresh build with the persisted snapshot served for its version; returns the fresh snapshot when equal. */
  const checkProvisional = (version: number, built: Built): Snapshot | undefined => {
    const early = provisional;
    if (!early || early.configVersion !== String(version)) return undefined;
    provisional = undefined;
    const fresh = built.snapshots.get(early.kind);
    if (fresh && sameSnapshotBytes(early, fresh)) {
      logger.info({ version, kind: early.kind }, 'the snapshot served from the persisted file equals a fresh build of the version');
      return fresh;
    }
    logger.error(
      { version, kind: early.kind, persisted: early.contentVersion, fresh: fresh?.contentVersion },
      `the snapshot served from the persisted file differs from a fresh build of version ${version}: serving the fresh build (a bug, or something outside the config changed, such as DNS answers or certificate files)`,
    );
    return undefined;
  };
  let completing: Promise<void> | undefined;
  let closed = false;
  const deferring = () => served === undefined && completing === undefined && parts.rest.kinds.length > 0;
  const complete = async (first: Rendition, firstBuilt: Built, outside: Outside) => {
    // publish() returns first: the manager records the version before this part runs.
    await yieldToLoop();
    const { config, version } = first;
    try {
      const rest = await buildInTurns(config, outside, version, lineage, levels, false, parts.rest, () => closed);
      if (closed) return;
      const built = mergeBuilt(firstBuilt, rest);
      const rendition = renditionOf(config, version, outside, built);
      serve(rendition, built);
      logger.info({ version, kinds: parts.rest.kinds }, 'the first version is built for every kind');
      afterServed(rendition, built, outside);
    } catch (err) {
      if (err instanceof BuildStopped) return;
      logger.error({ version, kinds: parts.rest.kinds, err: (err as Error).message }, 'could not build the first version for these kinds; their nodes get no config until the next version');
      served = first;
      options.onServed?.(first);
    }
  };

  return {
    async prepare(config, version, prepareOptions) {
      await completing;
      const defer = deferring();
      const endpoints = await resolve(config);
      let outside: Outside;
      try {
        outside = { endpoints, tls: await readTls(config) };
      } catch (err) {
        await restore();
        throw err;
      }
      let built: Built;
      try {
        built = await buildInTurns(config, outside, version, lineage, levels, false, defer ? parts.first : WHOLE, undefined, prepareOptions?.ioPending);
      } catch (err) {
        await restore();
        throw translationError(err);
      }
      const verified = checkProvisional(version, built);
      let settled = false;
      const rendition = renditionOf(config, version, outside, built);
      return {
        version,
        rendition,
        resources: built.resources,
        snapshots: built.snapshots,
        warnings: built.warnings,
        publish() {
          if (settled) throw new Error(`config version ${version} was already published or discarded`);
          settled = true;
          // Equal bytes: the cache holds the fresh build instead (streams are told nothing).
          if (verified) cache.adopt(verified.target, verified);
          if (defer) {
            serve(rendition, built, false);
            completing = complete(rendition, built, outside);
            return;
          }
          serve(rendition, built);
          afterServed(rendition, built, outside);
        },
        async discard() {
          if (settled) return;
          settled = true;
          await restore();
        },
      };
    },
    async render(config, version) {
      await completing;
      const endpoints = await resolver.resolveOnce(config);
      let tls: TlsMaterial = EMPTY_TLS;
      try {
        if (config.listeners.some((l) => l.tls !== undefined)) tls = await readTlsFiles(config);
      } catch (err) {
        if (err instanceof TlsFilesError) throw TetherError.invalid(err.problems);
        throw err;
      }
      const outside: Outside = { endpoints, tls };
      try {
        return renditionOf(config, version, outside, await buildInTurns(config, outside, version, lineage, new Set(), true));
      } catch (err) {
        throw translationError(err);
      }
    },
    served: () => served,
    servePersisted(snapshot) {
      if (served || provisional) throw new Error('a persisted snapshot is served only before the first version');
      provisional = snapshot;
      cache.set(snapshot.target, snapshot);
    },
    settled: async () => {
      await completing;
    },
    close: () => {
      closed = true;
      cache.setDemandHandler(undefined);
      resolver.close();
      tlsFiles.close();
    },
  };
}

