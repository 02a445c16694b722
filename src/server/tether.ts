import { computePool } from '../compute';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { formatErrors, parseConfigDocument, DEFAULT_CONFIG_YAML, type FieldError } from '../config';
import type { TetherConfig } from '../model/types';
import { SnapshotCache } from '../cache/snapshot-cache';
import { openConfigManager, type ConfigManager } from '../control/config-manager';
import { toTetherError, type TetherErrorCode } from '../config/errors';
import { createPublisher } from '../control/publisher';
import type { Rendition } from '../control/rendition';
import { countByKind } from '../control/config-warnings';
import { createFileStore } from '../store/file-store';
import { createEtcdStore } from '../store/etcd-store';
import type { EtcdConnectionOptions } from '../store/etcd-connection';
import { warnExposures } from './startup-checks';
import type { ConfigSourceMode } from '../control/config-source';
import type { ConfigStore, SharedHistory } from '../store/types';
import type { StoreStatus } from '../admin/admin-service';
import type { EndpointLeases } from '../cluster/endpoint-leases';
import type { Leader } from '../cluster/cluster-leader';
import { joinCluster, type Membership } from '../cluster/membership';
import { startSharedDns } from '../cluster/shared-dns';
import { DEFAULT_PORTS } from '../ports';
import { ADS_SERVER_OPTIONS, ADS_SERVICE_NAME, addAdsService } from '../xds/ads-server';
import { HealthImplementation } from 'grpc-health-check';
import { countingLookup } from './instrumentation';
import { readinessChecks } from './readiness';
import { combineListeners, createTetherMetrics, startMetricsServer, type MetricsServer, type TetherMetrics } from '../metrics';
import { NODE_KINDS } from '../model/node-targets';
import { NodeRegistry } from '../xds/node-status';
import { loadConfigKeyFiles, policiesFromConfig, setSecretFileRules, startExtProcServer, type ExtProcServer } from '../extproc';
import type { Logger } from '../log';
import { watchConfigFile } from './config-file-watcher';
import type { WebConsole } from '../console';
import { resolveAdminAuth, startConsole } from './admin-access';
import { DEFAULT_ADMIN_PORT, serverCredentials, startAdminServer, type AdminAuth, type AdminServer, type TlsFiles } from '../admin';

export interface TetherOptions {
  /** Config file to serve and watch; absent → the built-in default config. */
  configPath?: string;
  /**
   * Directory of the config history (file store: every accepted version, fsynced). Default
   * `.tether` in the working directory. A restart serves the version stored here, unless the
   * config file changed while Tether was down. One Tether process per directory.
   */
  dataDir?: string;
  /** How many config versions the history keeps (rollback reaches back that far). Default 50. */
  historyLimit?: number;
  /**
   * Share the config history with other Tether instances in etcd instead of the file store in
   * `dataDir` (README, "Operating several instances"). The data dir then only holds the
   * generated admin token.
   */
  etcd?: EtcdOptions;
  /**
   * The data dir had a history and none of it is intact: start a new one from `configPath`
   * (required then), numbered after the highest version ever seen. Without it Tether refuses
   * to start (StoreHistoryLostError) rather than serve something else over a lost history.
   */
  startNewHistory?: boolean;
  /** Where the xDS (ADS) server listens. Default 0.0.0.0:18000. */
  xdsHost?: string;
  xdsPort?: number;
  /** How often DNS names in endpoints are re-resolved. Default 30 s. */
  resolveIntervalMs?: number;
  /** Inject a DNS lookup (tests). */
  lookup?: (host: string) => Promise<string[]>;
  /** Watch configPath and apply edits live (default true; never with configSource 'api'). */
  watch?: boolean;
  /**
   * Who wins between the config file and the admin API (src/control/config-source.ts):
   * 'auto' (default) refuses a file change that would drop admin edits, 'file' makes the
   * file the only truth, 'api' lets the file only seed an empty history.
   */
  configSource?: ConfigSourceMode;
  /** TLS for the xDS port (mTLS when `ca` is set: proxies must present a client certificate). */
  xdsTls?: TlsFiles;
  /** The admin API; `false` disables it. Default: 127.0.0.1:18001 with a bearer token. */
  admin?: false | AdminOptions;
  /** The Prometheus endpoint (`GET /metrics`). Default: not served (metrics are still kept). */
  metrics?: false | MetricsOptions;
  /**
   * The web console (src/console) under /console/ on the metrics port, with the admin API's
   * token. Default: served whenever the metrics port is; `false` turns it off.
   */
  console?: false | ConsoleServeOptions;
  /**
   * The ext_proc session-key server (src/extproc), serving the `affinity.sessionKey` policies of
   * the config being served, read live: an edit applies to the next request. Default: not
   * served (`tether serve` serves it on 0.0.0.0:18002, where envoy/*.yaml point).
   */
  extProc?: false | ExtProcOptions;
  /**
   * The directory every ext_proc key file (`jwtClaim.verify.hmacSecretFile`, `jwksFile`) must be
   * inside; relative key file paths are relative to it. Default: the config file's directory,
   * else the data dir's parent. The data dir and the admin token file are refused even inside it.
   */
  secretsDir?: string;
  /**
   * Push debounce: after a push, snapshots within this many ms are pushed once, as the
   * latest, at the end of the window; a lone edit goes at once. Default 0 (off).
   */
  pushDebounceMs?: number;
  logger: Logger;
}

export interface EtcdOptions {
  connection: EtcdConnectionOptions;
  /** How often each instance reads the head to check contact (and catch up). Default 1000 ms. */
  probeIntervalMs?: number;
  /** This instance's name in status (unique per instance). Default `<hostname>:<xds port>`. */
  instance?: string;
  /** How long (s) an instance's node status outlives it in etcd (its lease TTL). Default 10. */
  nodeStatusTtlSeconds?: number;
  /** How long (s) a dead leader keeps the role (its election lease). Default 5. */
  leaderTtlSeconds?: number;
  /** How often (ms) the leader expires lease registrations. Default 1000. */
  leaderIntervalMs?: number;
}

export interface AdminOptions {
  /** Default 127.0.0.1: the admin API changes routing, so exposing it is a deliberate choice. */
  host?: string;
  /** Default 18001; 0 → ephemeral. */
  port?: number;
  /**
   * Default: a bearer token from `tokenFile`, else TETHER_ADMIN_TOKEN, else `<dataDir>/admin-token`
   * (generated, mode 0600, on first start). `{ mode: 'none' }` turns auth off.
   */
  auth?: AdminAuth;
  tokenFile?: string;
  tls?: TlsFiles;
}

export interface MetricsOptions {
  /** Default 0.0.0.0 (Prometheus scrapes from elsewhere). */
  host?: string;
  /** Default 18003; 0 → ephemeral. */
  port?: number;
}

export interface ConsoleServeOptions {
  /** Clients on a loopback address need no token (demos: `--console-open`). */
  open?: boolean;
  /** The built page; default dist/console in the package root. */
  assetsDir?: string;
}

export interface ExtProcOptions {
  /** Default 0.0.0.0 (Envoy reaches it over the network, like xDS). */
  host?: string;
  /** Default 18002; 0 → ephemeral. */
  port?: number;
}

export type ApplyResult = { ok: true; version: string; changed: boolean } | { ok: false; errors: FieldError[] };

export interface Tether {
  readonly xdsPort: number;
  /** Undefined when the admin API is disabled. */
  readonly adminPort: number | undefined;
  /** Undefined when the metrics endpoint is not served. */
  readonly metricsPort: number | undefined;
  /** Undefined when the ext_proc server is not served. */
  readonly extProcPort: number | undefined;
  readonly cache: SnapshotCache;
  readonly registry: NodeRegistry;
  /** Prometheus metrics (served on metricsPort when enabled). */
  readonly metrics: TetherMetrics;
  /** Every config change goes through here (admin API, config file, applyText). */
  readonly manager: ConfigManager;
  /** The config being served and its version (the store's version number, as a string). */
  current(): { config: TetherConfig; version: string };
  /**
   * Validates and applies a config file's text; on any error nothing changes. Text from the
   * configured file (`source` equal to configPath) is recorded as source "file".
   */
  applyText(text: string, source: string): Promise<ApplyResult>;
  close(): Promise<void>;
}

export const DEFAULT_XDS_PORT = DEFAULT_PORTS.xds;
export const DEFAULT_METRICS_PORT = DEFAULT_PORTS.metrics;
export const DEFAULT_EXT_PROC_PORT = DEFAULT_PORTS.extProc;
export const DEFAULT_DATA_DIR = '.tether';

const DEFAULT_SOURCE_LABEL = 'built-in default config';

/** Identifies a config file's text, so a restart can tell whether the file changed meanwhile. */
export function fileHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Starts Tether: config history (store) → config manager → publisher (resolve, translate,
 * snapshot cache) → ADS streams. The config file (or the built-in default) seeds an empty
 * history; afterwards the history's current version is what is served.
 */
export async function startTether(options: TetherOptions): Promise<Tether> {
  const logger = options.logger;
  const cache = new SnapshotCache({ debounceMs: options.pushDebounceMs ?? 0 });
  const registry = new NodeRegistry();
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
  if (options.startNewHistory && options.etcd) throw new Error('--start-new-history is for a file store; an etcd history is repaired in etcd');
  const etcdStore = options.etcd
    ? await createEtcdStore({
        connection: options.etcd.connection,
        ...(options.historyLimit !== undefined ? { retain: options.historyLimit } : {}),
        ...(options.etcd.probeIntervalMs !== undefined ? { probeIntervalMs: options.etcd.probeIntervalMs } : {}),
        logger,
      })
    : undefined;
  // Several instances: only the elected one asks DNS; everyone serves its answers (shared-dns.ts).
  let leaderRef: Leader | undefined;
  const sharedDns = etcdStore
    ? await startSharedDns({ namespace: etcdStore.namespace, isLeader: () => leaderRef?.isLeader() ?? false, ...(options.lookup ? { lookup: options.lookup } : {}), logger }).catch(async (err: unknown) => {
        await etcdStore.close();
        throw err;
      })
    : undefined;
  const lookup = sharedDns?.lookup ?? options.lookup;
  const store: ConfigStore =
    etcdStore ??
    (await createFileStore({
        dir: path.resolve(options.dataDir ?? DEFAULT_DATA_DIR),
        ...(options.historyLimit !== undefined ? { retain: options.historyLimit } : {}),
        ...(options.startNewHistory ? { startNewHistory: true } : {}),
        logger,
      }));
  const basePublisher = createPublisher({
    cache,
    logger,
    onServed: (served) => metrics.servedConfigWarnings(countByKind(served.warnings)),
    lookup: countingLookup((reason) => metrics.configState.dnsFailed(reason), lookup),
    // The shared answers are a memory read: re-read them often so instances converge quickly.
    ...(sharedDns ? { resolveIntervalMs: Math.min(options.resolveIntervalMs ?? 1000, 1000) } : options.resolveIntervalMs !== undefined ? { resolveIntervalMs: options.resolveIntervalMs } : {}),
  });
  // Key files are read before a version goes out (asynchronously, never failing the version):
  // a new or rotated file is in memory for the version's first request; one that cannot be
  // read keeps the keys loaded before, or leaves just its JWT source unable to verify.
  const extProcLogger = logger.child({ component: 'extproc' });
  const publisher: typeof basePublisher = options.extProc
    ? {
        ...basePublisher,
        prepare: async (config, version) => {
          await loadConfigKeyFiles(config, extProcLogger);
          return basePublisher.prepare(config, version);
        },
      }
    : basePublisher;
  const shutdown = async () => {
    cache.close();
    publisher.close();
    await sharedDns?.close();
    await store.close();
  };
  // Metrics see each push before the streams do (watchers run in order), so convergence is
  // timed from the moment a version goes out to the moment each node has applied it.
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

  let manager: ConfigManager;
  try {
    if (!initialDocument.ok && !(await store.current())) throw new ConfigRejectedError(initialDocument.errors);
    if (!initialDocument.ok) {
      logger.error({ source: label, errors: initialDocument.errors }, `config file rejected; serving the stored version:\n${formatErrors(initialDocument.errors)}`);
    }
    manager = await openConfigManager({
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
    await shutdown();
    if (err instanceof ConfigRejectedError) throw err;
    const e = toTetherError(err);
    throw e.code === 'INVALID_ARGUMENT' ? new ConfigRejectedError(e.fieldErrors) : e;
  }

  metrics.configState.bind({
    current: () => {
      const { version, createdAt } = manager.current();
      return { version, createdAt };
    },
    nodes: () => registry.list(),
  });
  const countRejected = (code: Parameters<typeof metrics.configState.editRejected>[0], from: 'api' | 'file') => metrics.configState.editRejected(code, from);

  const applyText = async (text: string, source: string): Promise<ApplyResult> => {
    const fromFile = configPath !== undefined && source === configPath;
    const parsed = parseConfigDocument(text, source);
    let errors: FieldError[];
    let lastError: unknown;
    if (parsed.ok) {
      try {
        const result = await manager.apply(parsed.document, {
          source: fromFile ? 'file' : 'apply',
          description: source,
          ...(fromFile ? { fileHash: fileHash(text) } : {}),
        });
        return { ok: true, version: String(result.version), changed: result.changed };
      } catch (err) {
        lastError = err;
        const e = toTetherError(err);
        errors = e.fieldErrors.length > 0 ? e.fieldErrors : [{ path: '', message: e.message }];
      }
    } else {
      errors = parsed.errors;
    }
    countRejected(parsed.ok ? toTetherError(lastError).code : 'INVALID_ARGUMENT', fromFile ? 'file' : 'api');
    logger.error({ source, errors }, `config rejected; still serving version ${manager.current().version}:\n${formatErrors(errors)}`);
    return { ok: false, errors };
  };

  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, ...ADS_SERVER_OPTIONS });
  addAdsService(server, { cache, logger: logger.child({ component: 'xds' }), status: combineListeners(registry, metrics.listener) });
  // grpc.health.v1 on the xDS port ('' and the ADS service), SERVING once bound and serving a config.
  const xdsHealth = new HealthImplementation({ '': 'NOT_SERVING', [ADS_SERVICE_NAME]: 'NOT_SERVING' });
  xdsHealth.addToServer(server);
  const setXdsServing = (serving: boolean) => {
    for (const name of ['', ADS_SERVICE_NAME]) xdsHealth.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };
  const xdsHost = options.xdsHost ?? '0.0.0.0';
  let xdsPort: number;
  let admin: (AdminServer & { tokenFile?: string }) | undefined;
  let metricsServer: MetricsServer | undefined;
  let webConsole: WebConsole | undefined;
  let access: ReturnType<typeof resolveAdminAuth> | undefined;
  const adminAccess = () => (access ??= resolveAdminAuth(options.admin, dataDir, logger));
  let extProc: ExtProcServer | undefined;
  let cluster: Membership | undefined;
  try {
    xdsPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${xdsHost}:${options.xdsPort ?? DEFAULT_XDS_PORT}`, serverCredentials(options.xdsTls), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    if (options.metrics) {
      webConsole = options.console === false ? undefined : startConsole(options, manager, registry, store, adminAccess(), logger);
      metricsServer = await startMetricsServer({
        host: options.metrics.host ?? '0.0.0.0',
        port: options.metrics.port ?? DEFAULT_METRICS_PORT,
        metrics,
        logger,
        readiness: readinessChecks({ snapshot: (kind) => cache.get(kind), dataDir }),
        ...(webConsole ? { mounts: [webConsole] } : {}),
      });
      if (webConsole) {
        const host = options.metrics.host ?? '0.0.0.0';
        const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
        logger.info({ url: `http://${shown}:${metricsServer.port}${webConsole.prefix}/`, open: options.console ? options.console.open === true : false }, 'web console (read-only) on the metrics port');
      }
    }
    if (options.extProc) {
      extProc = await startExtProcServer({
        host: options.extProc.host ?? '0.0.0.0',
        port: options.extProc.port ?? DEFAULT_EXT_PROC_PORT,
        services: policiesFromConfig(() => manager.current().config),
        logger,
        observer: metrics.extProc.observer,
      });
      const service = extProc.service;
      metrics.extProc.bind(() => service.stats());
    }
    if (etcdStore && sharedDns) {
      cluster = await joinCluster({
        store: etcdStore,
        registry,
        manager,
        sharedDns,
        xdsPort,
        ...(options.etcd?.instance ? { instance: options.etcd.instance } : {}),
        ...(options.etcd?.nodeStatusTtlSeconds !== undefined ? { nodeStatusTtlSeconds: options.etcd.nodeStatusTtlSeconds } : {}),
        ...(options.etcd?.leaderTtlSeconds !== undefined ? { leaderTtlSeconds: options.etcd.leaderTtlSeconds } : {}),
        ...(options.etcd?.leaderIntervalMs !== undefined ? { leaderIntervalMs: options.etcd.leaderIntervalMs } : {}),
        ...(options.resolveIntervalMs !== undefined ? { resolveIntervalMs: options.resolveIntervalMs } : {}),
        logger,
      });
      leaderRef = cluster.leader;
    }
    const storeStatus = (): StoreStatus =>
      etcdStore
        ? { store: etcdStore.shared.description, stale: etcdStore.shared.health().detail, instance: cluster?.view.instance ?? '' }
        : { store: dataDir, stale: '', instance: '' };
    if (options.admin !== false) {
      admin = await startAdmin(options.admin ?? {}, adminAccess(), manager, cluster?.view ?? registry, cache, logger, lookup, store, (code) => countRejected(code, 'api'), {
        storeStatus,
        served: () => publisher.served(),
        ...(etcdStore ? { storeHealth: etcdStore.shared } : {}),
        ...(cluster ? { leases: cluster.leases } : {}),
      });
    }
    warnExposures(
      {
        ...(options.admin !== false ? { admin: { host: options.admin?.host ?? '127.0.0.1', tls: !!options.admin?.tls } } : {}),
        dataDir: path.resolve(options.dataDir ?? DEFAULT_DATA_DIR),
        ...(admin?.tokenFile ? { tokenFile: admin.tokenFile } : {}),
      },
      logger,
    );
  } catch (err) {
    server.forceShutdown();
    webConsole?.close();
    await cluster?.close();
    await metricsServer?.close();
    await extProc?.close(0);
    await manager.close();
    await shutdown();
    throw err;
  }
  setXdsServing(true);
  logger.info(
    { xdsPort, host: xdsHost, tls: options.xdsTls ? (options.xdsTls.ca ? 'mtls' : 'tls') : 'off', config: label, version: manager.current().version },
    'tether xDS server listening',
  );

  const watcher =
    configPath && options.watch !== false && options.configSource !== 'api'
      ? watchConfigFile(configPath, {
          logger,
          initialText,
          onChange: (text) => void applyText(text, configPath),
        })
      : undefined;

  return {
    xdsPort,
    adminPort: admin?.port,
    metricsPort: metricsServer?.port,
    extProcPort: extProc?.port,
    cache,
    registry,
    metrics,
    manager,
    current: () => {
      const { config, version } = manager.current();
      return { config, version: String(version) };
    },
    applyText,
    async close() {
      setXdsServing(false);
      watcher?.close();
      await admin?.close();
      webConsole?.close();
      await cluster?.close();
      await metricsServer?.close();
      // In-flight requests keep their decisions briefly; Envoy fails open (or closed) after that.
      await extProc?.close(1000);
      await manager.close();
      // ADS streams never end on their own, so a graceful shutdown would wait forever.
      server.forceShutdown();
      await shutdown();
      // The compute worker (src/compute) idles unref'd, but a job may still be running.
      await computePool().close();
    },
  };
}

async function startAdmin(
  options: AdminOptions,
  access: { auth: AdminAuth; tokenFile?: string },
  manager: ConfigManager,
  registry: NodeRegistry,
  cache: SnapshotCache,
  logger: Logger,
  lookup: TetherOptions['lookup'],
  history: ConfigStore,
  editRejected: (code: TetherErrorCode) => void,
  store: { storeStatus: () => StoreStatus; storeHealth?: SharedHistory; leases?: EndpointLeases; served?: () => Rendition | undefined },
): Promise<AdminServer & { tokenFile?: string }> {
  const { auth, tokenFile } = access;
  const server = await startAdminServer({
    manager,
    registry,
    snapshots: cache,
    history,
    editRejected,
    logger,
    auth,
    ...(lookup ? { lookup } : {}),
    ...store,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? DEFAULT_ADMIN_PORT,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return Object.assign(server, tokenFile ? { tokenFile } : {});
}

export class ConfigRejectedError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid config:\n${formatErrors(errors)}`);
    this.name = 'ConfigRejectedError';
  }
}
