/**
 * Starts Tether from its named parts, in order: the config history (store-opening.ts), the
 * publisher (publishing.ts), the config manager seeded from the config file
 * (config-seeding.ts), the xDS port (xds-serving.ts), the metrics port and web console
 * (metrics-serving.ts), ext_proc (ext-proc-serving.ts), the other instances on etcd, the
 * admin API (admin-serving.ts) and the config file watcher; shutdown.ts stops them.
 */
import * as path from 'node:path';
import { SnapshotCache } from '../cache/snapshot-cache';
import { createTetherMetrics } from '../metrics';
import { NodeRegistry } from '../xds/node-status';
import { warnExposures } from './startup-checks';
import { watchConfigFile } from './config-file-watcher';
import type { resolveAdminAuth } from './admin-access';
import { openStore, joinInstances, storeStatusOf } from './store-opening';
import { createServingPublisher } from './publishing';
import { openSeededManager, readInitialConfig } from './config-seeding';
import { createApplyText } from './apply-text';
import { startXdsServer } from './xds-serving';
import { startExtProc } from './ext-proc-serving';
import { abortStart, closeTether, type StartedParts } from './shutdown';
import { DEFAULT_DATA_DIR, type Tether, type TetherOptions } from './tether-options';
import * as fs from 'node:fs';
import { yieldToLoop } from '../util/yield-loop';
import { headStartFrom, persistServedSnapshot, servedSnapshotPath, tetherBuildId } from './served-snapshot';

export * from './tether-options';

/*
 * The admin API, the metrics port and the web console start once the first version is served:
 * their modules (grpc reflection, the admin protos and handlers, the console) are loaded then,
 * not before (~0.2 s of a new process's start ahead of its first snapshot).
 */
const adminAccessModule = () => import('./admin-access');
const metricsServingModule = () => import('./metrics-serving');
const adminServingModule = () => import('./admin-serving');
export { ConfigRejectedError, fileHash } from './config-seeding';

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
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const initial = readInitialConfig(options, dataDir);

  // A restart's head start (served-snapshot.ts; with a file store: instances sharing etcd serve
  // each other's Envoys) needs this build's identity: read while the store opens.
  const build = !options.etcd && fs.existsSync(servedSnapshotPath(dataDir)) ? tetherBuildId() : undefined;
  build?.catch(() => undefined); // no identity: no head start (headStartFrom)
  const opened = await openStore(options, logger);
  const { store, etcdStore, lookup } = opened;
  // A large file the history needs is read on a worker thread while the xDS port loads its protos.
  await initial.prefetch?.(store).catch(() => undefined);
  const publisher = createServingPublisher(options, { cache, metrics, opened, logger });
  const parts: StartedParts = { cache, publisher, opened };

  const abort = async (err: unknown): Promise<never> => {
    await abortStart(parts);
    throw err;
  };
  // A restart may serve Envoys the snapshot it persisted at shutdown (served-snapshot.ts)
  // while it validates and builds the stored version again (manager.ready(), awaited below).
  const headStart = build ? headStartFrom(dataDir, publisher, logger.child({ component: 'served-snapshot' }), build) : undefined;
  if (!store.shared) parts.persistServed = () => persistServedSnapshot(dataDir, publisher, store, logger.child({ component: 'served-snapshot' }));
  // The xDS port is bound while the first version is validated and built: an Envoy that
  // connects meanwhile waits on the cache and gets the version the moment it is published,
  // instead of after whatever the start does next.
  const xdsStarting = startXdsServer(options, { cache, registry, metrics, logger });
  xdsStarting.catch(() => undefined); // a failed bind is reported below, once the manager is open
  const manager = (parts.manager = await openSeededManager(initial, options, { store, publisher, logger, ...(headStart ? { headStart } : {}) }).catch(async (err: unknown) => {
    parts.xds = await xdsStarting.catch(() => undefined);
    return abort(err);
  }));
  const xds = (parts.xds = await xdsStarting.catch(abort));
  // The Envoys that waited for the first version get it (and send their next requests) before
  // the rest of the start holds the loop (loading the admin API's and the console's modules and
  // protos: ~0.2 s in one turn).
  await yieldToLoop();
  const [metricsServing, adminAccessParts] = await Promise.all([metricsServingModule(), adminAccessModule()]).catch(abort);
  metricsServing.bindConfigState(metrics, manager, registry);
  const countRejected = (code: Parameters<typeof metrics.configState.editRejected>[0], from: 'api' | 'file') => metrics.configState.editRejected(code, from);
  const applyText = createApplyText({ manager, configPath, countRejected, logger });

  let access: ReturnType<typeof resolveAdminAuth> | undefined;
  const adminAccess = () => (access ??= adminAccessParts.resolveAdminAuth(options.admin, dataDir, logger));
  // Nothing below reads the config before the first version is validated and served whole.
  await manager.ready().catch(abort);
  try {
    if (options.metrics) {
      Object.assign(parts, await metricsServing.startMetricsAndConsole({ ...options, metrics: options.metrics }, { metrics, manager, registry, store, cache, dataDir, adminAccess, logger }));
    }
    if (options.extProc) parts.extProc = await startExtProc(options.extProc, { manager, metrics, logger });
    const cluster = (parts.cluster = await joinInstances(opened, options, { registry, manager, xdsPort: xds.port, logger }));
    if (options.admin !== false) {
      parts.admin = await (await adminServingModule()).startAdmin(options.admin ?? {}, adminAccess(), manager, cluster?.view ?? registry, cache, logger, lookup, store, (code) => countRejected(code, 'api'), {
        storeStatus: storeStatusOf(opened, dataDir, cluster),
        served: () => publisher.served(),
        ...(etcdStore ? { storeHealth: etcdStore.shared } : {}),
        ...(cluster ? { leases: cluster.leases } : {}),
      });
    }
    warnExposures(
      {
        ...(options.admin !== false ? { admin: { host: options.admin?.host ?? '127.0.0.1', tls: !!options.admin?.tls } } : {}),
        dataDir,
        ...(parts.admin?.tokenFile ? { tokenFile: parts.admin.tokenFile } : {}),
      },
      logger,
    );
  } catch (err) {
    await abort(err);
  }
  // The port has served Envoys since it was bound; a cold start's first version is built for
  // gRPC nodes meanwhile (publishing.ts): started means every kind is served.
  await publisher.settled();
  xds.setServing(true);
  logger.info(
    { xdsPort: xds.port, host: xds.host, tls: options.xdsTls ? (options.xdsTls.ca ? 'mtls' : 'tls') : 'off', config: initial.label, version: manager.current().version },
    'tether xDS server listening',
  );

  if (configPath && options.watch !== false && options.configSource !== 'api') {
    parts.watcher = watchConfigFile(configPath, {
      logger,
      initialText: initial.text,
      onChange: (text) => void applyText(text, configPath),
    });
  }

  return {
    xdsPort: xds.port,
    adminPort: parts.admin?.port,
    metricsPort: parts.metricsServer?.port,
    extProcPort: parts.extProc?.port,
    cache,
    registry,
    metrics,
    manager,
    current: () => {
      const { config, version } = manager.current();
      return { config, version: String(version) };
    },
    applyText,
    close: () => closeTether(parts),
  };
}
