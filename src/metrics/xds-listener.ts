/**
 * xDS traffic as Prometheus metrics: a NodeStatusListener that only bumps plain numbers on the
 * hot path (thousands of streams report every push synchronously) and hands them to
 * prom-client when it is scraped. Per stream it keeps its kind and when it opened, dropped on
 * streamClosed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { STREAM_PUSH_ORDER, TYPE_LABELS, type StreamTypeUrl } from '../envoy/resource-types';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import type { NodeStatusListener, StreamIdentity } from '../xds/node-status';

/** Seconds; from a loopback push (~1 ms) to a slow fleet (10 s). */
export const CONVERGENCE_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Config versions whose publish time is remembered (per kind, and kind-less). */
export const DEFAULT_PUBLISHED_VERSIONS_KEPT = 16;

interface StreamState {
  kind: NodeKind;
  /** Clock time the stream opened (ms). */
  openedAt: number;
}

/** Event counts per kind and type URL. */
type Tally = Record<NodeKind, Record<StreamTypeUrl, number>>;

const newTally = (): Tally =>
  Object.fromEntries(
    // Every type a stream serves (VHDS its own, type="virtual_host"): a missing one would be
    // counted as 1 by Counter.inc(undefined).
    NODE_KINDS.map((k) => [k, Object.fromEntries(STREAM_PUSH_ORDER.map((t) => [t, 0]))]),
  ) as Tally;

/** Convergence observations kept at most before they are handed to the histogram (8 bytes each). */
const PENDING_OBSERVATIONS_MAX = 16_384;
/** After the first observation of a burst, when the burst's observations are handed over. */
const FLUSH_DELAY_MS = 250;
/** Observations handed over per turn of the event loop (~5 µs each). */
const FLUSH_CHUNK = 1_000;

export interface XdsMetricsOptions {
  registry: Registry;
  /** Monotonic clock in ms (default performance.now); tests inject one. */
  now: () => number;
  publishedVersionsKept: number;
}

export interface XdsMetrics {
  readonly listener: NodeStatusListener;
  configPublished(configVersion: string, kind?: NodeKind): void;
  /** Streams currently tracked (for tests and debugging). */
  readonly trackedStreams: number;
}

export function createXdsMetrics(options: XdsMetricsOptions): XdsMetrics {
  const { registry, now } = options;
  const streams = new Map<string, StreamState>();
  const connected: Record<NodeKind, number> = Object.fromEntries(NODE_KINDS.map((k) => [k, 0])) as Record<NodeKind, number>;
  const pushes = newTally();
  const acks = newTally();
  const nacks = newTally();
  /** `${kind}\n${version}` or `\n${version}` (any kind) → publish time; insertion order = age. */
  const published = new Map<string, number>();

  new Gauge({
    name: 'tether_xds_connected_nodes',
    help: 'Open ADS streams (SotW and delta) whose node sent its first request, by node kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const kind of NODE_KINDS) this.set({ kind }, connected[kind]);
    },
  });

  const tallyCounter = (name: string, help: string, tally: Tally): void => {
    new Counter({
      name,
      help,
      labelNames: ['kind', 'type'],
      registers: [registry],
      collect() {
        // The tallies are the truth; the counter is rebuilt from them at each scrape.
        this.reset();
        for (const kind of NODE_KINDS) {
          for (const typeUrl of STREAM_PUSH_ORDER) {
            this.inc({ kind, type: TYPE_LABELS[typeUrl] }, tally[kind][typeUrl]);
          }
        }
      },
    });
  };
  tallyCounter('tether_xds_pushes_total', 'xDS responses sent, by node kind and resource type.', pushes);
  tallyCounter(
    'tether_xds_acks_total',
    'xDS responses ACKed (and versions a reconnecting node says it already has), by node kind and resource type.',
    acks,
  );
  tallyCounter('tether_xds_nacks_total', 'xDS responses NACKed, by node kind and resource type.', nacks);

  /**
   * Observations not yet handed to the histogram, per kind. Every stream observes once per edit
   * and prom-client hashes the labels of each observation (~5 µs, a tenth of a by-name stream's
   * ACK): they are handed over after the burst (FLUSH_DELAY_MS, then FLUSH_CHUNK per turn of the
   * event loop, so a fleet's worth never holds the loop at once), or when scraped.
   */
  const pending = Object.fromEntries(NODE_KINDS.map((k) => [k, [] as number[]])) as Record<NodeKind, number[]>;
  let pendingCount = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  /** Hands at most `max` pending observations to the histogram; returns how many are left. */
  const flush = (histogram: Histogram<'kind'>, max = Infinity): number => {
    let budget = max;
    for (const kind of NODE_KINDS) {
      const values = pending[kind];
      if (values.length === 0 || budget <= 0) continue;
      const n = Math.min(values.length, budget);
      const series = histogram.labels({ kind });
      for (let i = 0; i < n; i++) series.observe(values[i]!);
      pending[kind] = n === values.length ? [] : values.slice(n);
      budget -= n;
      pendingCount -= n;
    }
    return pendingCount;
  };
  const flushLater = (): void => {
    flushTimer = setTimeout(function turn() {
      if (flush(convergence, FLUSH_CHUNK) > 0) flushTimer = setTimeout(turn, 0).unref();
      else flushTimer = undefined;
    }, FLUSH_DELAY_MS).unref();
  };
  const convergence: Histogram<'kind'> = new Histogram({
    name: 'tether_xds_convergence_seconds',
    help:
      'Time from a config version being published to a stream having applied it (every subscribed type ACKed), by node kind. ' +
      'Streams that opened after the publish are not counted.',
    labelNames: ['kind'],
    buckets: [...CONVERGENCE_BUCKETS],
    registers: [registry],
    collect() {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      flush(this);
    },
  });
  // Every kind's series exists from the start, so rate() and absent-series alerts work from zero.
  for (const kind of NODE_KINDS) convergence.zero({ kind });
  /** The publish time last looked up (thousands of streams apply the same version). */
  let lastPublished: { kind: NodeKind; configVersion: string; at: number | undefined } | undefined;
  const publishedAt = (kind: NodeKind, configVersion: string): number | undefined => {
    if (lastPublished?.kind === kind && lastPublished.configVersion === configVersion) return lastPublished.at;
    const at = published.get(`${kind}\n${configVersion}`) ?? published.get(`\n${configVersion}`);
    lastPublished = { kind, configVersion, at };
    return at;
  };

  const bump = (tally: Tally, streamId: string, typeUrl: StreamTypeUrl): void => {
    const s = streams.get(streamId);
    if (!s) return;
    const row = tally[s.kind];
    // An unknown type URL (never expected) is ignored rather than creating a series.
    if (row[typeUrl] !== undefined) row[typeUrl]++;
  };

  const listener: NodeStatusListener = {
    streamOpened(identity: StreamIdentity): void {
      if (streams.has(identity.streamId) || connected[identity.kind] === undefined) return;
      streams.set(identity.streamId, { kind: identity.kind, openedAt: now() });
      connected[identity.kind]++;
    },
    responseSent(streamId, typeUrl) {
      bump(pushes, streamId, typeUrl);
    },
    acked(streamId, typeUrl) {
      bump(acks, streamId, typeUrl);
    },
    nacked(streamId, typeUrl) {
      bump(nacks, streamId, typeUrl);
    },
    configApplied(streamId, configVersion) {
      const s = streams.get(streamId);
      if (!s) return;
      const at = publishedAt(s.kind, configVersion);
      // A stream that connected after the publish measures its own connection, not the push.
      if (at === undefined || s.openedAt > at) return;
      const seconds = Math.max(0, now() - at) / 1000;
      // Never expected (the clock is finite); a metric must not break a stream.
      if (!Number.isFinite(seconds)) return;
      pending[s.kind].push(seconds);
      pendingCount++;
      // A loop too busy to run the timer: hand over a chunk now rather than grow without bound.
      if (pendingCount >= PENDING_OBSERVATIONS_MAX) flush(convergence, FLUSH_CHUNK);
      else if (!flushTimer) flushLater();
    },
    configBlocked() {
      // Counted as NACKs when they happen; being stuck on one is the registry's to show.
    },
    streamClosed(streamId) {
      const s = streams.get(streamId);
      if (!s) return;
      streams.delete(streamId);
      connected[s.kind]--;
    },
  };

  return {
    listener,
    configPublished(configVersion, kind) {
      const key = `${kind ?? ''}\n${configVersion}`;
      // Re-publishing a version (DNS re-resolution) restarts its clock and makes it the newest.
      published.delete(key);
      published.set(key, now());
      while (published.size > options.publishedVersionsKept) published.delete(published.keys().next().value!);
      lastPublished = undefined;
    },
    get trackedStreams() {
      return streams.size;
    },
  };
}
