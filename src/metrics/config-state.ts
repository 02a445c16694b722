/**
 * The state of the served config as metrics: which build serves it, which version is current
 * and since when, edits refused (by reason), DNS lookups that failed, and how many connected
 * nodes have not applied the current version. Values are read at scrape time from getters the
 * server wires in (`bindConfigState`), so nothing here runs on the hot path.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TetherErrorCode } from '../config/errors';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import { buildInfo } from '../util/build-info';

/** Why an edit was refused: the `reason` label, from the error code the admin API answers with. */
export const REJECT_REASONS: Readonly<Record<TetherErrorCode, string>> = {
  INVALID_ARGUMENT: 'invalid',
  ABORTED: 'version_conflict',
  NOT_FOUND: 'not_found',
  FAILED_PRECONDITION: 'precondition',
  RESOURCE_EXHAUSTED: 'storage',
  UNAVAILABLE: 'storage',
  INTERNAL: 'internal',
};

/** Where a refused edit came from: the admin API (and CLI) or the watched config file. */
export type EditSource = 'api' | 'file';

/** `error`: the lookup failed; `timeout`: no answer in time; `no_address`: an empty or non-IP answer. */
export type DnsFailure = 'error' | 'timeout' | 'no_address';

export interface ConfigStateSource {
  /** The current version and when it was accepted (ISO 8601). */
  current(): { version: number; createdAt: string } | undefined;
  /** Each connected node's kind and the config version it has fully applied. */
  nodes(): Iterable<{ kind: NodeKind; appliedConfigVersion?: string }>;
}

export interface ConfigStateMetrics {
  bind(source: ConfigStateSource): void;
  editRejected(code: TetherErrorCode, source: EditSource): void;
  dnsFailed(reason: DnsFailure): void;
}

export function createConfigStateMetrics(registry: Registry): ConfigStateMetrics {
  let source: ConfigStateSource | undefined;
  const info = buildInfo();

  new Gauge({
    name: 'tether_build_info',
    help: 'Always 1; the labels say which Tether build runs (package version, git revision, Node.js version).',
    labelNames: ['version', 'revision', 'nodejs'],
    registers: [registry],
  }).set({ version: info.version, revision: info.revision, nodejs: info.nodeVersion }, 1);

  new Gauge({
    name: 'tether_config_version',
    help: 'The config version being served (the history number `tether history` shows).',
    registers: [registry],
    collect() {
      const current = source?.current();
      if (current) this.set(current.version);
    },
  });
  new Gauge({
    name: 'tether_config_applied_timestamp_seconds',
    help: 'When the config version being served was accepted (applied through the admin API or the file, or a rollback), Unix seconds.',
    registers: [registry],
    collect() {
      const current = source?.current();
      const at = current ? Date.parse(current.createdAt) : NaN;
      if (Number.isFinite(at)) this.set(at / 1000);
    },
  });

  const rejected = new Counter({
    name: 'tether_config_rejected_total',
    help: 'Config edits refused (nothing changed), by reason (invalid, version_conflict, not_found, precondition, storage, internal) and source (api, file). Dry runs are not counted.',
    labelNames: ['reason', 'source'],
    registers: [registry],
  });
  // The usual series exist from the start, so rate() and increase() work from zero.
  for (const s of ['api', 'file'] as const) rejected.inc({ reason: 'invalid', source: s }, 0);

  const dns = new Counter({
    name: 'tether_dns_lookup_failures_total',
    help: 'DNS lookups of endpoint names that failed (error), timed out (timeout) or answered no usable address (no_address); the name keeps its last known addresses.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['error', 'timeout', 'no_address']) dns.inc({ reason }, 0);

  new Gauge({
    name: 'tether_xds_nodes_behind',
    help: 'Connected nodes that have not (yet) applied the config version being served, by node kind: still applying, NACKed it, or stuck.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const current = source?.current();
      const counts = Object.fromEntries(NODE_KINDS.map((k) => [k, 0])) as Record<NodeKind, number>;
      if (current && source) {
        const version = String(current.version);
        for (const node of source.nodes()) {
          if (node.appliedConfigVersion !== version && counts[node.kind] !== undefined) counts[node.kind]++;
        }
      }
      for (const kind of NODE_KINDS) this.set({ kind }, counts[kind]);
    },
  });

  return {
    bind(s) {
      source = s;
    },
    editRejected(code, from) {
      rejected.inc({ reason: REJECT_REASONS[code] ?? 'internal', source: from });
    },
    dnsFailed(reason) {
      dns.inc({ reason });
    },
  };
}
