/** Every Tether metric on one prom-client Registry of its own (never the global one). */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Snapshot } from '../cache/snapshot';
import type { Logger } from '../log';
import type { NodeKind } from '../model/node-targets';
import type { NodeStatusListener } from '../xds/node-status';
import { createConfigSizeMetrics } from './config-size';
import { createConfigWarningMetrics } from './config-warnings';
import { createConfigStateMetrics, type ConfigStateMetrics } from './config-state';
import { createExtProcMetrics, type ExtProcMetrics } from './ext-proc';
import { createSessionShareMetrics, DEFAULT_SHARE_SLICE_MS, type ServedResources } from './session-share';
import { createXdsMetrics, DEFAULT_PUBLISHED_VERSIONS_KEPT } from './xds-listener';

export interface TetherMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag, GC, handles). Default true. */
  processMetrics?: boolean;
  /** Config versions whose publish time is kept for convergence timing. Default 16. */
  publishedVersionsKept?: number;
  /** CPU time per slice of the exact session-share computation (at least one cluster per slice), ms. Default 20. */
  shareSliceMs?: number;
  /** Monotonic clock in ms. Default performance.now. */
  now?: () => number;
  /** Where share-computation problems are logged (warn). Default: not logged. */
  logger?: Logger;
}

export interface TetherMetrics {
  /** The registry every metric lives on; `registry.metrics()` is the exposition text. */
  readonly registry: Registry;
  /** Attach to the ADS server (`status` option); combine with the node registry via combineListeners. */
  readonly listener: NodeStatusListener;
  /** Starts convergence timing of `configVersion` (for `kind`, or for every kind). Call when it is published. */
  configPublished(configVersion: string, kind?: NodeKind): void;
  /** Records the config size of the snapshot's node kind. */
  snapshotPublished(snapshot: Snapshot): void;
  /** Sets `tether_config_warnings` from the served config's translation warnings per node kind. */
  servedConfigWarnings(counts: Readonly<Record<NodeKind, number>>): void;
  /** Recomputes replica session shares from the served config (publisher `served()`); undefined clears them. */
  servedConfigChanged(served: ServedResources | undefined): void;
  /** Resolves once the session shares reflect the latest served config exactly (see session-share.ts). */
  sessionSharesSettled(): Promise<void>;
  /** Open streams the listener tracks. */
  readonly trackedStreams: number;
  /** Build info, config version and apply time, refused edits, DNS failures, nodes behind. */
  readonly configState: ConfigStateMetrics;
  /** The in-process ext_proc server's decisions, timings and stream outcomes. */
  readonly extProc: ExtProcMetrics;
}

export function createTetherMetrics(options: TetherMetricsOptions = {}): TetherMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const xds = createXdsMetrics({
    registry,
    now: options.now ?? (() => performance.now()),
    publishedVersionsKept: Math.max(1, options.publishedVersionsKept ?? DEFAULT_PUBLISHED_VERSIONS_KEPT),
  });
  const size = createConfigSizeMetrics(registry);
  const warnings = createConfigWarningMetrics(registry);
  const shares = createSessionShareMetrics(registry, {
    sliceMs: Math.max(0, options.shareSliceMs ?? DEFAULT_SHARE_SLICE_MS),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const configState = createConfigStateMetrics(registry);
  const extProc = createExtProcMetrics(registry);
  return {
    registry,
    configState,
    extProc,
    listener: xds.listener,
    configPublished: (configVersion, kind) => xds.configPublished(configVersion, kind),
    snapshotPublished: (snapshot) => size.snapshotPublished(snapshot),
    servedConfigWarnings: (counts) => warnings.servedWarnings(counts),
    servedConfigChanged: (served) => shares.servedConfigChanged(served),
    sessionSharesSettled: () => shares.settled(),
    get trackedStreams() {
      return xds.trackedStreams;
    },
  };
}
