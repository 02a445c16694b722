/**
 * The publisher as `tether serve` runs it: DNS through the shared answers (several instances)
 * or the options' lookup, counted for metrics; ext_proc key files read before a version goes
 * out; and the metrics told of every push, before the streams are.
 */
import type { SnapshotCache } from '../cache/snapshot-cache';
import { countByKind } from '../control/config-warnings';
import { createPublisher, type Publisher } from '../control/publisher';
import { loadConfigKeyFiles } from '../extproc';
import type { Logger } from '../log';
import type { TetherMetrics } from '../metrics';
import { NODE_KINDS } from '../model/node-targets';
import { countingLookup } from './instrumentation';
import type { OpenedStore } from './store-opening';
import type { TetherOptions } from './tether-options';

export function createServingPublisher(
  options: TetherOptions,
  parts: { cache: SnapshotCache; metrics: TetherMetrics; opened: OpenedStore; logger: Logger },
): Publisher {
  const { cache, metrics, logger } = parts;
  const { sharedDns, lookup } = parts.opened;
  const basePublisher = createPublisher({
    cache,
    logger,
    onServed: (served) => metrics.servedConfigWarnings(countByKind(served.warnings)),
    // A cold start serves Envoys first; gRPC nodes get the first version once it is built for
    // them too, in event-loop turns right after (publisher.ts, "First version, kinds deferred").
    deferKinds: ['grpc'],
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
        prepare: async (config, version, prepareOptions) => {
          await loadConfigKeyFiles(config, extProcLogger);
          return basePublisher.prepare(config, version, prepareOptions);
        },
      }
    : basePublisher;
  watchPushes(cache, metrics, publisher, !!options.metrics);
  return publisher;
}

/**
 * Metrics see each push before the streams do (watchers run in order), so convergence is
 * timed from the moment a version goes out to the moment each node has applied it.
 */
function watchPushes(cache: SnapshotCache, metrics: TetherMetrics, publisher: Publisher, sessionShares: boolean): void {
  let sharesOf: unknown;
  for (const kind of NODE_KINDS) {
    cache.watch(kind, (snapshot) => {
      metrics.configPublished(snapshot.configVersion, kind);
      metrics.snapshotPublished(snapshot);
      // Session shares cost CPU (exact rings): computed only when the endpoint is served.
      // publisher.served() is updated once every kind is set: read it after this turn.
      if (sessionShares) setImmediate(() => {
        const served = publisher.served();
        if (served && served !== sharesOf) {
          sharesOf = served;
          metrics.servedConfigChanged(served);
        }
      });
    });
  }
}
