/**
 * What `startTether` takes and returns (tether.ts re-exports all of it): its options, one
 * interface per server it may start, the running Tether, and the default ports and data dir.
 */
import type { FieldError } from '../config';
import type { TetherConfig } from '../model/types';
import type { SnapshotCache } from '../cache/snapshot-cache';
import type { ConfigManager } from '../control/config-manager';
import type { ConfigSourceMode } from '../control/config-source';
import type { EtcdConnectionOptions } from '../store/etcd-connection';
import { DEFAULT_PORTS } from '../ports';
import type { TetherMetrics } from '../metrics';
import type { NodeRegistry } from '../xds/node-status';
import type { Logger } from '../log';
import type { AdminAuth, TlsFiles } from '../admin';

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
