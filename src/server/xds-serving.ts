/**
 * The xDS port: the ADS service over the snapshot cache, reporting to the node registry and
 * the metrics, and grpc.health.v1 ('' and the ADS service), SERVING once bound and serving a
 * config.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { serverCredentials } from '../admin/tls';
import type { SnapshotCache } from '../cache/snapshot-cache';
import type { Logger } from '../log';
import { combineListeners, type TetherMetrics } from '../metrics';
import { ADS_SERVER_OPTIONS, ADS_SERVICE_NAME, addAdsService } from '../xds/ads-server';
import type { NodeRegistry } from '../xds/node-status';
import { DEFAULT_XDS_PORT, type TetherOptions } from './tether-options';

export interface XdsServing {
  readonly port: number;
  readonly host: string;
  /** What the health service answers (NOT_SERVING until told otherwise). */
  setServing(serving: boolean): void;
  /** ADS streams never end on their own, so a graceful shutdown would wait forever. */
  forceShutdown(): void;
}

export async function startXdsServer(
  options: TetherOptions,
  parts: { cache: SnapshotCache; registry: NodeRegistry; metrics: TetherMetrics; logger: Logger },
): Promise<XdsServing> {
  const { cache, registry, metrics, logger } = parts;
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
  try {
    xdsPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${xdsHost}:${options.xdsPort ?? DEFAULT_XDS_PORT}`, serverCredentials(options.xdsTls), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return {
    port: xdsPort,
    host: xdsHost,
    setServing: setXdsServing,
    forceShutdown: () => server.forceShutdown(),
  };
}
