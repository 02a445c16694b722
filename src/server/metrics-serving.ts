/**
 * The metrics port: Prometheus `GET /metrics`, the probes `/healthz` and `/readyz`, and the web
 * console mounted beside them; and the config-state gauges bound to the manager and registry.
 */
import type { AdminAuth } from '../admin';
import type { SnapshotCache } from '../cache/snapshot-cache';
import type { WebConsole } from '../console';
import type { ConfigManager } from '../control/config-manager';
import type { Logger } from '../log';
import { startMetricsServer, type MetricsServer, type TetherMetrics } from '../metrics';
import type { ConfigStore } from '../store/types';
import type { NodeRegistry } from '../xds/node-status';
import { startConsole } from './admin-access';
import { readinessChecks } from './readiness';
import { DEFAULT_METRICS_PORT, type MetricsOptions, type TetherOptions } from './tether-options';

/** The config-state gauges read the manager's current version and the registry's nodes. */
export function bindConfigState(metrics: TetherMetrics, manager: ConfigManager, registry: NodeRegistry): void {
  metrics.configState.bind({
    current: () => {
      const { version, createdAt } = manager.current();
      return { version, createdAt };
    },
    nodes: () => registry.list(),
  });
}

export interface MetricsServing {
  metricsServer: MetricsServer;
  webConsole?: WebConsole;
}

export async function startMetricsAndConsole(
  options: TetherOptions & { metrics: MetricsOptions },
  parts: {
    metrics: TetherMetrics;
    manager: ConfigManager;
    registry: NodeRegistry;
    store: ConfigStore;
    cache: SnapshotCache;
    dataDir: string;
    /** The admin API's auth, which the console shares (resolved only when the console is served). */
    adminAccess: () => { auth: AdminAuth };
    logger: Logger;
  },
): Promise<MetricsServing> {
  const { metrics, manager, registry, store, cache, dataDir, adminAccess, logger } = parts;
  const webConsole = options.console === false ? undefined : startConsole(options, manager, registry, store, adminAccess(), logger);
  let metricsServer: MetricsServer;
  try {
    metricsServer = await startMetricsServer({
      host: options.metrics.host ?? '0.0.0.0',
      port: options.metrics.port ?? DEFAULT_METRICS_PORT,
      metrics,
      logger,
      readiness: readinessChecks({ snapshot: (kind) => cache.get(kind), dataDir }),
      ...(webConsole ? { mounts: [webConsole] } : {}),
    });
  } catch (err) {
    webConsole?.close();
    throw err;
  }
  if (webConsole) {
    const host = options.metrics.host ?? '0.0.0.0';
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    logger.info({ url: `http://${shown}:${metricsServer.port}${webConsole.prefix}/`, open: options.console ? options.console.open === true : false }, 'web console (read-only) on the metrics port');
  }
  return { metricsServer, ...(webConsole ? { webConsole } : {}) };
}
