/**
 * The in-process ext_proc server (src/extproc) as metrics: what it decided per request (a key
 * found, a cookie minted, no key, refused, no policy), which source gave the key, how each
 * stream ended, and how long each message took to answer. Decision counts are the service's
 * own counters (`stats()`), read at scrape time; timings come through its observer.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ExtProcObserver, ExtProcStreamOutcome } from '../extproc/service';
import type { ExtProcStats } from '../extproc/processor';

/** Seconds: Envoy gives a message 200 ms by default (message_timeout); most take microseconds. */
export const EXT_PROC_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1];

const OUTCOMES: readonly ExtProcStreamOutcome[] = ['ok', 'cancelled', 'error'];
const PHASES = ['request_headers', 'request_body', 'response_headers'] as const;

export interface ExtProcMetrics {
  /** Give to the ext_proc service (`observer` option). */
  readonly observer: ExtProcObserver;
  /** Where the decision counters are read (the service's `stats`). */
  bind(stats: () => ExtProcStats): void;
}

export function createExtProcMetrics(registry: Registry): ExtProcMetrics {
  let stats: (() => ExtProcStats) | undefined;

  new Counter({
    name: 'tether_extproc_decisions_total',
    help:
      'ext_proc requests by decision: key (a session key was found), minted (no key; a session cookie is minted), no_key (none found, none minted), ' +
      'rejected (failureMode closed refused the request), no_policy (no service policy matched).',
    labelNames: ['decision'],
    registers: [registry],
    collect() {
      this.reset();
      const s = stats?.();
      const keys = s ? Object.values(s.keysBySource).reduce((a, b) => a + b, 0) : 0;
      this.inc({ decision: 'key' }, keys);
      this.inc({ decision: 'minted' }, s?.minted ?? 0);
      this.inc({ decision: 'no_key' }, s?.noKey ?? 0);
      this.inc({ decision: 'rejected' }, s?.rejected ?? 0);
      this.inc({ decision: 'no_policy' }, s?.noPolicy ?? 0);
    },
  });
  new Counter({
    name: 'tether_extproc_keys_total',
    help: 'ext_proc session keys found, by the source that gave them (header:x-user, jwt:sub, json:user.id…: bounded by the config).',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [source, n] of Object.entries(stats?.().keysBySource ?? {})) this.inc({ source }, n);
    },
  });
  new Counter({
    name: 'tether_extproc_errors_total',
    help: 'ext_proc messages Tether failed to process (an internal error): the request continued without a session key.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats?.().errors ?? 0);
    },
  });

  const streams = new Counter({
    name: 'tether_extproc_streams_total',
    help: 'ext_proc streams (one per HTTP request) by how they ended: ok (Envoy closed it), cancelled (Envoy reset it, e.g. its message_timeout passed), error (a stream error).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of OUTCOMES) streams.inc({ outcome }, 0);

  const latency = new Histogram({
    name: 'tether_extproc_message_seconds',
    help: 'Time Tether took to answer one ext_proc message, by phase (request_headers, request_body, response_headers).',
    labelNames: ['phase'],
    buckets: [...EXT_PROC_BUCKETS],
    registers: [registry],
  });
  for (const phase of PHASES) latency.zero({ phase });

  return {
    observer: {
      messageHandled(phase, seconds) {
        latency.observe({ phase }, seconds);
      },
      streamEnded(outcome) {
        streams.inc({ outcome });
      },
    },
    bind(s) {
      stats = s;
    },
  };
}
