import * as fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { TlsFiles } from '../../admin/tls';
import { CONFIG_SOURCE_MODES, type ConfigSourceMode } from '../../control/config-source';
import { DEFAULT_PORTS } from '../../ports';
import { durationArg, listenOptions, positiveDurationArg, wholeSecondsArg, positiveIntArg } from '../args';
import { addEtcdOptions, etcdConnection, type EtcdFlags } from '../store-options';

const DEFAULT_PUSH_DEBOUNCE_MS = 100;

function configSourceArg(value: string): string {
  if (!(CONFIG_SOURCE_MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${CONFIG_SOURCE_MODES.join(', ')}`);
  return value;
}

function tlsFiles(prefix: string, o: { cert?: string; key?: string; ca?: string }): TlsFiles | undefined {
  if (!o.cert && !o.key && !o.ca) return undefined;
  if (!o.cert || !o.key) throw new InvalidArgumentError(`--${prefix}-tls-cert and --${prefix}-tls-key go together`);
  return { cert: o.cert, key: o.key, ...(o.ca ? { ca: o.ca } : {}) };
}

interface ServeOptions extends EtcdFlags {
  config?: string;
  store?: string;
  instanceName?: string;
  nodeStatusTtl?: number;
  dataDir: string;
  historyLimit: number;
  startNewHistory?: boolean;
  configSource: string;
  xdsHost: string;
  xdsPort: number;
  xdsTlsCert?: string;
  xdsTlsKey?: string;
  xdsTlsCa?: string;
  admin: boolean;
  adminHost: string;
  adminPort: number;
  adminTokenFile?: string;
  adminAuth: boolean;
  adminTlsCert?: string;
  adminTlsKey?: string;
  adminTlsCa?: string;
  metrics: boolean;
  metricsHost: string;
  extProc: boolean;
  extProcHost: string;
  extProcPort: number;
  secretsDir?: string;
  metricsPort: number;
  console: boolean;
  consoleOpen?: boolean;
  pushDebounce: number;
  resolveInterval: number;
  hostsFile?: string;
  logLevel: string;
}


/** `tether serve`: the control plane itself. The server code is loaded only when it runs. */
export function createServeCommand(): Command {
  const env = process.env;
  const command = new Command('serve')
    .description('serve a config over ADS to Envoy and proxyless gRPC clients (default: the built-in config)')
    .option('-c, --config <file>', 'config file (YAML or JSON), watched for edits [env TETHER_CONFIG]', env.TETHER_CONFIG)
    .option('--data-dir <dir>', 'config history (file store) and generated admin token [env TETHER_DATA_DIR]', env.TETHER_DATA_DIR ?? '.tether')
    .option('--history-limit <n>', 'config versions kept for rollback', positiveIntArg, 50)
    .option('--config-source <mode>', "who wins between --config and the admin API: auto (a file change that would drop admin edits is refused), file (the file only; admin edits refused), api (the file only seeds an empty history) [env TETHER_CONFIG_SOURCE]", configSourceArg, env.TETHER_CONFIG_SOURCE ?? 'auto')
    .option('--start-new-history', 'the data dir had a history that is lost (every version file corrupt or gone): start a new one from --config, numbered after the last version seen')
    .option('--store <url>', 'share the config history with other instances in etcd: etcd://host:port[,host:port…]/prefix (etcds:// for TLS); default: the file store in --data-dir [env TETHER_STORE]', env.TETHER_STORE)
    .option('--instance-name <name>', 'this instance in status, with --store etcd://… (default <hostname>:<xds port>) [env TETHER_INSTANCE_NAME]', env.TETHER_INSTANCE_NAME)
    .option('--node-status-ttl <duration>', 'with --store etcd://…: how long this instance\'s nodes stay in other instances\' status after it dies (whole seconds, e.g. 10s)', wholeSecondsArg(1, 86_400), 10);
  addEtcdOptions(command);
  listenOptions(command, { prefix: 'xds', what: 'xDS (ADS)', env: 'TETHER_XDS', host: '0.0.0.0', port: DEFAULT_PORTS.xds })
    .option('--xds-tls-cert <file>', 'TLS certificate for the xDS port')
    .option('--xds-tls-key <file>', 'TLS key for the xDS port')
    .option('--xds-tls-ca <file>', 'CA for client certificates: proxies must present one (mTLS)')
    .option('--no-admin', 'do not serve the admin API');
  listenOptions(command, { prefix: 'admin', what: 'admin API', env: 'TETHER_ADMIN', host: '127.0.0.1', port: DEFAULT_PORTS.admin })
    .option('--admin-token-file <file>', 'file holding the admin bearer token (else TETHER_ADMIN_TOKEN, else <data-dir>/admin-token, generated)')
    .option('--no-admin-auth', 'accept admin calls without a token (only on a trusted network)')
    .option('--admin-tls-cert <file>', 'TLS certificate for the admin API')
    .option('--admin-tls-key <file>', 'TLS key for the admin API')
    .option('--admin-tls-ca <file>', 'CA for admin client certificates (mTLS)')
    .option('--no-metrics', 'do not serve the Prometheus endpoint');
  listenOptions(command, { prefix: 'metrics', what: 'Prometheus endpoint (GET /metrics)', env: 'TETHER_METRICS', host: '0.0.0.0', port: DEFAULT_PORTS.metrics })
    .option('--no-console', 'do not serve the web console (/console/ on the metrics port)')
    .option('--console-open', 'the web console needs no token from loopback clients (demos on this machine); others still need the admin token')
    .option('--no-ext-proc', 'do not serve the ext_proc session-key server');
  listenOptions(command, {
    prefix: 'ext-proc',
    what: 'ext_proc server',
    env: 'TETHER_EXT_PROC',
    host: '0.0.0.0',
    port: DEFAULT_PORTS.extProc,
    portNote: "the bootstraps' tether-extproc cluster; 0: any free port",
  });
  return command
    .option('--secrets-dir <dir>', "directory ext_proc key files (hmacSecretFile, jwksFile) must be inside; relative paths are relative to it (default: the config file's directory, else the data dir's parent) [env TETHER_SECRETS_DIR]", env.TETHER_SECRETS_DIR)
    .addOption(new Option('--push-debounce <duration>', 'after a push, coalesce further config changes for this long into one push, e.g. 200ms (0: push each at once)').argParser(durationArg).default(DEFAULT_PUSH_DEBOUNCE_MS, '100ms'))
    .addOption(new Option('--resolve-interval <duration>', 'how often DNS endpoints are re-resolved, e.g. 30s').argParser(positiveDurationArg).default(30_000, '30s'))
    .option('--hosts-file <file>', 'static names for endpoints, hosts(5) form (IP name…), looked up before DNS')
    .option('--log-level <level>', 'pino log level [env TETHER_LOG_LEVEL]', env.TETHER_LOG_LEVEL ?? 'info')
    .action(async (opts: ServeOptions) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { createLogger } = require('../../log') as typeof import('../../log');
      const { startTether, ConfigRejectedError } = require('../../server/tether') as typeof import('../../server/tether');
      const { readHostsFile, hostsLookup, HostsFileError } = require('../../resolve/hosts-file') as typeof import('../../resolve/hosts-file');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const logger = createLogger({ level: opts.logLevel });
      try {
        const xdsTls = tlsFiles('xds', { cert: opts.xdsTlsCert, key: opts.xdsTlsKey, ca: opts.xdsTlsCa });
        const adminTls = tlsFiles('admin', { cert: opts.adminTlsCert, key: opts.adminTlsKey, ca: opts.adminTlsCa });
        const lookup = opts.hostsFile ? hostsLookup(readHostsFile(opts.hostsFile)) : undefined;
        if (opts.store !== undefined && etcdConnection(opts.store, opts) === undefined) throw new Error(`--store ${opts.store}: expected etcd://host:port[,host:port…]/prefix (the file store is --data-dir)`);
        const etcd = etcdConnection(opts.store, opts);
        // Signals are taken from the start: the admin API and xDS listen before startTether
        // resolves (a cold start serves Envoy before the gRPC kind is built), and a SIGTERM in
        // that window must shut down cleanly (lock released, exit 0), not kill the process.
        let started: Awaited<ReturnType<typeof startTether>> | undefined;
        let signalled: string | undefined;
        const onSignal = (signal: string) => {
          if (signalled !== undefined) return;
          signalled = signal;
          logger.info({ signal }, 'shutting down');
          if (started) stop(started);
        };
        const stop = (tether: NonNullable<typeof started>) => {
          // Whatever fails on the way out (a data dir gone read-only…) is logged, never a crash.
          tether
            .close()
            .then(() => process.exit(0))
            .catch((err: unknown) => {
              logger.error({ err: (err as Error).message }, 'error while shutting down');
              process.exit(1);
            });
        };
        process.once('SIGINT', () => onSignal('SIGINT'));
        process.once('SIGTERM', () => onSignal('SIGTERM'));
        const tether = await startTether({
          ...(opts.config ? { configPath: opts.config } : {}),
          dataDir: opts.dataDir,
          historyLimit: opts.historyLimit,
          ...(etcd
            ? { etcd: { connection: etcd, nodeStatusTtlSeconds: opts.nodeStatusTtl ?? 10, ...(opts.instanceName ? { instance: opts.instanceName } : {}) } }
            : {}),
          ...(opts.startNewHistory ? { startNewHistory: true } : {}),
          configSource: opts.configSource as ConfigSourceMode,
          xdsHost: opts.xdsHost,
          xdsPort: opts.xdsPort,
          ...(xdsTls ? { xdsTls } : {}),
          admin: opts.admin
            ? {
                host: opts.adminHost,
                port: opts.adminPort,
                ...(opts.adminAuth ? {} : { auth: { mode: 'none' as const } }),
                ...(opts.adminTokenFile ? { tokenFile: opts.adminTokenFile } : {}),
                ...(adminTls ? { tls: adminTls } : {}),
              }
            : false,
          metrics: opts.metrics ? { host: opts.metricsHost, port: opts.metricsPort } : false,
          console: opts.console ? { open: opts.consoleOpen === true } : false,
          extProc: opts.extProc ? { host: opts.extProcHost, port: opts.extProcPort } : false,
          ...(opts.secretsDir ? { secretsDir: opts.secretsDir } : {}),
          pushDebounceMs: opts.pushDebounce,
          resolveIntervalMs: opts.resolveInterval,
          ...(lookup ? { lookup } : {}),
          logger,
        });
        started = tether;
        if (signalled !== undefined) {
          stop(tether);
          return;
        }
        if (opts.config) {
          const file = opts.config;
          process.on('SIGHUP', () => void tether.applyText(fs.readFileSync(file, 'utf8'), file));
        }
      } catch (err) {
        if (err instanceof ConfigRejectedError || err instanceof HostsFileError || (err as Error).name === 'StoreHistoryLostError') process.stderr.write(`tether: ${(err as Error).message}\n`);
        else logger.fatal({ err: (err as Error).message }, 'tether failed to start');
        process.exit(1);
      }
    });
}
