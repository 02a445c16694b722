/**
 * The named parts startTether (tether.ts) is made of: the core every part shares, the
 * config manager over it, the servers, and the handle that closes them in reverse order.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { formatErrors, parseConfigDocument, DEFAULT_CONFIG_YAML } from '../config';
import type { FieldError } from '../config';
import { SnapshotCache } from '../cache/snapshot-cache';
import { openConfigManager, type ConfigManager } from '../control/config-manager';
import { toTetherError } from '../control/errors';
import { createPublisher, type Publisher } from '../control/publisher';
import type { Rendition } from '../control/rendition';
import { countByKind } from '../control/config-warnings';
import { createFileStore } from '../store/file-store';
import { warnExposures } from './startup-checks';
import type { ConfigStore } from '../store/types';
import { ADS_SERVER_OPTIONS, addAdsService } from '../xds/ads-server';
import { combineListeners, createTetherMetrics, startMetricsServer, type MetricsServer, type TetherMetrics } from '../metrics';
import { NODE_KINDS } from '../translate/types';
import { NodeRegistry } from '../xds/node-status';
import { loadConfigKeyFiles, policiesFromConfig, setSecretFileRules, startExtProcServer, type ExtProcServer } from '../extproc';
import type { Logger } from '../log';
import { DEFAULT_ADMIN_PORT, loadAdminToken, serverCredentials, startAdminServer, type AdminServer } from '../admin';

import type { ApplyResult, AdminOptions, Tether, TetherOptions } from './tether';
import { DEFAULT_DATA_DIR, DEFAULT_EXT_PROC_PORT, DEFAULT_METRICS_PORT, DEFAULT_XDS_PORT } from './tether';

const DEFAULT_SOURCE_LABEL = 'built-in default config';

/** Identifies a config file's text, so a restart can tell whether the file changed meanwhile. */
export function fileHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}


export class ConfigRejectedError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid config:\n${formatErrors(errors)}`);
    this.name = 'ConfigRejectedError';
  }
}

/** What every part of a running Tether shares: built first, closed last. */
export interface Core {
  readonly options: TetherOptions;
  readonly logger: Logger;
  readonly cache: SnapshotCache;
  readonly registry: NodeRegistry;
  readonly metrics: TetherMetrics;
  readonly store: ConfigStore;
  readonly publisher: Publisher;
  readonly dataDir: string;
  /** The config file, or the built-in default's label. */
  readonly label: string;
  readonly initialText: string;
  readonly initialDocument: ReturnType<typeof parseConfigDocument>;
  /** Closes the cache, the publisher and the store. */
  shutdown(): Promise<void>;
}

/** Servers a running Tether listens with (xDS always, the others as configured). */
export interface Servers {
  readonly xds: grpc.Server;
  readonly xdsPort: number;
  readonly admin?: AdminServer & { tokenFile?: string };
  readonly metrics?: MetricsServer;
  readonly extProc?: ExtProcServer;
}

/** Cache, registry, metrics, store and publisher, with the config file read (not yet applied). */
export async function openCore(options: TetherOptions): Promise<Core> {
  const logger = options.logger;
  const cache = new SnapshotCache({ debounceMs: options.pushDebounceMs ?? 0 });
  const metrics = createTetherMetrics({ logger: logger.child({ component: 'metrics' }) });
  const configPath = options.configPath;
  const label = configPath ?? DEFAULT_SOURCE_LABEL;

  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  // Before anything validates a config: the directory rule is part of what a valid config is.
  setSecretFileRules({
    dir: options.secretsDir ?? (configPath ? path.dirname(path.resolve(configPath)) : path.dirname(dataDir)),
    refuse: [dataDir, ...(options.admin && options.admin.tokenFile ? [options.admin.tokenFile] : [])],
  });
  const initialText = configPath ? fs.readFileSync(configPath, 'utf8') : DEFAULT_CONFIG_YAML;
  const initialDocument = parseConfigDocument(initialText, label);

  if (options.startNewHistory && !configPath) throw new Error('starting a new config history needs a config file (--config FILE)');
  const store: ConfigStore = await createFileStore({
    dir: dataDir,
    ...(options.historyLimit !== undefined ? { retain: options.historyLimit } : {}),
    ...(options.startNewHistory ? { startNewHistory: true } : {}),
    logger,
  });
  const publisher = createPublishing(options, cache, metrics);
  return {
    options,
    logger,
    cache,
    registry: new NodeRegistry(),
    metrics,
    store,
    publisher,
    dataDir,
    label,
    initialText,
    initialDocument,
    async shutdown() {
      cache.close();
      publisher.close();
      await store.close();
    },
  };
}

/**
 * The publisher; with the ext_proc server, key files are read before a version goes out
 * (asynchronously, never failing the version): a new or rotated file is in memory for the
 * version's first request; one that cannot be read keeps the keys loaded before, or leaves
 * just its JWT source unable to verify.
 */
function createPublishing(options: TetherOptions, cache: SnapshotCache, metrics: TetherMetrics): Publisher {
  const logger = options.logger;
  const publisher = createPublisher({
    cache,
    logger,
    onServed: (served) => metrics.servedConfigWarnings(countByKind(served.warnings)),
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.resolveIntervalMs !== undefined ? { resolveIntervalMs: options.resolveIntervalMs } : {}),
  });
  if (!options.extProc) return publisher;
  const extProcLogger = logger.child({ component: 'extproc' });
  return {
    ...publisher,
    prepare: async (config, version) => {
      await loadConfigKeyFiles(config, extProcLogger);
      return publisher.prepare(config, version);
    },
  };
}

/**
 * Metrics see each push before the streams do (watchers run in order), so convergence is
 * timed from the moment a version goes out to the moment each node has applied it.
 */
export function watchPushes({ cache, metrics, publisher, options }: Core): void {
  let sharesOf: unknown;
  for (const kind of NODE_KINDS) {
    cache.watch(kind, (snapshot) => {
      metrics.configPublished(snapshot.configVersion, kind);
      metrics.snapshotPublished(snapshot);
      // Session shares cost CPU (exact rings): computed only when the endpoint is served.
      // publisher.served() is updated once every kind is set: read it after this turn.
      if (options.metrics) setImmediate(() => {
        const served = publisher.served();
        if (served && served !== sharesOf) {
          sharesOf = served;
          metrics.servedConfigChanged(served);
        }
      });
    });
  }
}

/** The config manager over the store, seeded with (or updated from) the config file. */
export async function openManager(core: Core): Promise<ConfigManager> {
  const { options, logger, store, publisher, label, initialText, initialDocument } = core;
  const configPath = options.configPath;
  try {
    if (!initialDocument.ok && !(await store.current())) throw new ConfigRejectedError(initialDocument.errors);
    if (!initialDocument.ok) {
      logger.error({ source: label, errors: initialDocument.errors }, `config file rejected; serving the stored version:\n${formatErrors(initialDocument.errors)}`);
    }
    return await openConfigManager({
      store,
      publisher,
      logger,
      ...(configPath ? { configSource: { mode: options.configSource ?? 'auto', file: configPath } } : {}),
      // A file that does not parse seeds nothing and, without a fileHash, replaces nothing.
      initial: initialDocument.ok
        ? {
            document: initialDocument.document,
            source: configPath ? 'file' : 'default',
            description: label,
            ...(configPath ? { fileHash: fileHash(initialText) } : {}),
          }
        : { document: {}, source: 'file', description: label },
    });
  } catch (err) {
    await core.shutdown();
    if (err instanceof ConfigRejectedError) throw err;
    const e = toTetherError(err);
    throw e.code === 'INVALID_ARGUMENT' ? new ConfigRejectedError(e.fieldErrors) : e;
  }
}

/** Tether.applyText: config text from the file watcher or a caller, through the manager. */
export function textApplier({ options, logger }: Core, manager: ConfigManager): (text: string, source: string) => Promise<ApplyResult> {
  const configPath = options.configPath;
  return async (text, source) => {
    const fromFile = configPath !== undefined && source === configPath;
    const parsed = parseConfigDocument(text, source);
    let errors: FieldError[];
    if (parsed.ok) {
      try {
        const result = await manager.apply(parsed.document, {
          source: fromFile ? 'file' : 'apply',
          description: source,
          ...(fromFile ? { fileHash: fileHash(text) } : {}),
        });
        return { ok: true, version: String(result.version), changed: result.changed };
      } catch (err) {
        const e = toTetherError(err);
        errors = e.fieldErrors.length > 0 ? e.fieldErrors : [{ path: '', message: e.message }];
      }
    } else {
      errors = parsed.errors;
    }
    logger.error({ source, errors }, `config rejected; still serving version ${manager.current().version}:\n${formatErrors(errors)}`);
    return { ok: false, errors };
  };
}

/** The xDS server, then metrics, ext_proc and admin as configured; on any failure everything started is stopped. */
export async function startServers(core: Core, manager: ConfigManager): Promise<Servers> {
  const { options, logger, cache, registry, metrics, publisher, dataDir } = core;
  const xds = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, ...ADS_SERVER_OPTIONS });
  addAdsService(xds, { cache, logger: logger.child({ component: 'xds' }), status: combineListeners(registry, metrics.listener) });
  const xdsHost = options.xdsHost ?? '0.0.0.0';
  let admin: (AdminServer & { tokenFile?: string }) | undefined;
  let metricsServer: MetricsServer | undefined;
  let extProc: ExtProcServer | undefined;
  try {
    const xdsPort = await new Promise<number>((resolve, reject) =>
      xds.bindAsync(`${xdsHost}:${options.xdsPort ?? DEFAULT_XDS_PORT}`, serverCredentials(options.xdsTls), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    if (options.metrics) {
      metricsServer = await startMetricsServer({
        host: options.metrics.host ?? '0.0.0.0',
        port: options.metrics.port ?? DEFAULT_METRICS_PORT,
        metrics,
        logger,
      });
    }
    if (options.extProc) {
      extProc = await startExtProcServer({
        host: options.extProc.host ?? '0.0.0.0',
        port: options.extProc.port ?? DEFAULT_EXT_PROC_PORT,
        services: policiesFromConfig(() => manager.current().config),
        logger,
      });
    }
    if (options.admin !== false) {
      admin = await startAdmin(options.admin ?? {}, dataDir, { manager, registry, cache, served: () => publisher.served(), logger, lookup: options.lookup });
    }
    warnExposures(
      {
        ...(options.admin !== false ? { admin: { host: options.admin?.host ?? '127.0.0.1', tls: !!options.admin?.tls } } : {}),
        dataDir,
        ...(admin?.tokenFile ? { tokenFile: admin.tokenFile } : {}),
      },
      logger,
    );
    return { xds, xdsPort, ...(admin ? { admin } : {}), ...(metricsServer ? { metrics: metricsServer } : {}), ...(extProc ? { extProc } : {}) };
  } catch (err) {
    xds.forceShutdown();
    await metricsServer?.close();
    await extProc?.close(0);
    await manager.close();
    await core.shutdown();
    throw err;
  }
}

/** The Tether handle: its ports and parts, and close() in the reverse order of start. */
export function handle(core: Core, manager: ConfigManager, servers: Servers, applyText: Tether['applyText'], stopWatching: () => void): Tether {
  return {
    xdsPort: servers.xdsPort,
    adminPort: servers.admin?.port,
    metricsPort: servers.metrics?.port,
    extProcPort: servers.extProc?.port,
    cache: core.cache,
    registry: core.registry,
    metrics: core.metrics,
    manager,
    current: () => {
      const { config, version } = manager.current();
      return { config, version: String(version) };
    },
    applyText,
    async close() {
      stopWatching();
      await servers.admin?.close();
      await servers.metrics?.close();
      // In-flight requests keep their decisions briefly; Envoy fails open (or closed) after that.
      await servers.extProc?.close(1000);
      await manager.close();
      // ADS streams never end on their own, so a graceful shutdown would wait forever.
      servers.xds.forceShutdown();
      await core.shutdown();
    },
  };
}

async function startAdmin(
  options: AdminOptions,
  dataDir: string,
  parts: {
    manager: ConfigManager;
    registry: NodeRegistry;
    cache: SnapshotCache;
    served: () => Rendition | undefined;
    logger: Logger;
    lookup: TetherOptions['lookup'];
  },
): Promise<AdminServer & { tokenFile?: string }> {
  const { manager, registry, cache, served, logger, lookup } = parts;
  let auth = options.auth;
  let tokenFile: string | undefined;
  if (!auth) {
    const token = loadAdminToken({ dataDir, ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}) });
    // Say where the token is, never what it is.
    logger.info(
      { source: token.source, ...(token.path ? { path: token.path } : {}), created: token.created ?? false },
      token.source === 'env' ? 'admin API token from TETHER_ADMIN_TOKEN' : `admin API token in ${token.path}`,
    );
    auth = { mode: 'token', tokens: [token.token] };
    tokenFile = token.path;
  }
  const server = await startAdminServer({
    manager,
    registry,
    snapshots: cache,
    served,
    logger,
    auth,
    ...(lookup ? { lookup } : {}),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? DEFAULT_ADMIN_PORT,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return Object.assign(server, tokenFile ? { tokenFile } : {});
}

