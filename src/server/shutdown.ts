/**
 * Stopping what startTether started, in an order that never leaves a part running on one that
 * is gone: the parts that take requests first, the config manager, then the xDS streams, and
 * the cache, publisher and store last.
 */
import type { SnapshotCache } from '../cache/snapshot-cache';
import type { Membership } from '../cluster/membership';
import { computePool } from '../compute';
import type { WebConsole } from '../console';
import type { ConfigManager } from '../control/config-manager';
import type { Publisher } from '../control/publisher';
import type { ExtProcServer } from '../extproc';
import type { AdminServer } from '../admin';
import type { MetricsServer } from '../metrics';
import type { OpenedStore } from './store-opening';
import type { XdsServing } from './xds-serving';

/** Whatever has started so far; startTether fills it in as each part starts. */
export interface StartedParts {
  cache: SnapshotCache;
  publisher: Publisher;
  opened: OpenedStore;
  manager?: ConfigManager;
  xds?: XdsServing;
  webConsole?: WebConsole;
  metricsServer?: MetricsServer;
  extProc?: ExtProcServer;
  cluster?: Membership;
  admin?: AdminServer & { tokenFile?: string };
  watcher?: { close(): void };
  /** Writes the served Envoy snapshot for the next start (served-snapshot.ts). */
  persistServed?: () => Promise<void>;
}

/** The cache, the publisher (its DNS re-resolution) and the store. */
async function closeCore(parts: StartedParts): Promise<void> {
  parts.cache.close();
  parts.publisher.close();
  await parts.opened.close();
}

/** A start that failed part-way: stop what did start, at once (nothing has been served yet). */
export async function abortStart(parts: StartedParts): Promise<void> {
  parts.xds?.forceShutdown();
  parts.webConsole?.close();
  await parts.cluster?.close();
  await parts.metricsServer?.close();
  await parts.extProc?.close(0);
  await parts.manager?.close();
  await closeCore(parts);
}

/** Tether.close(): health goes NOT_SERVING first, in-flight ext_proc requests get a second. */
export async function closeTether(parts: StartedParts): Promise<void> {
  parts.xds?.setServing(false);
  parts.watcher?.close();
  await parts.admin?.close();
  parts.webConsole?.close();
  await parts.cluster?.close();
  await parts.metricsServer?.close();
  // In-flight requests keep their decisions briefly; Envoy fails open (or closed) after that.
  await parts.extProc?.close(1000);
  await parts.manager?.close();
  // ADS streams never end on their own, so a graceful shutdown would wait forever.
  parts.xds?.forceShutdown();
  // After the last edit (the manager is closed), while the store's lock is still held.
  await parts.persistServed?.();
  await closeCore(parts);
  // The compute worker (src/compute) idles unref'd, but a job may still be running.
  await computePool().close();
}
