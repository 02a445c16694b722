import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_PORTS } from '../../ports';
import { listenOptions } from '../args';


interface ExtProcOptions {
  config: string;
  host: string;
  port: number;
  watch: boolean;
  secretsDir?: string;
  logLevel: string;
}

/**
 * `tether ext-proc`: the ext_proc session-key server on its own, serving the
 * `affinity.sessionKey` policies of a config file (the same file `tether serve` takes), for
 * running it beside each Envoy or scaled apart from the control plane. The file is watched (and
 * re-read on SIGHUP): a valid edit applies to the next request; an invalid one is logged with
 * every error and the previous policies stay.
 */
export function createExtProcCommand(): Command {
  const env = process.env;
  const command = new Command('ext-proc')
    .description('serve only the ext_proc session-key server, with the sessionKey policies of a config file')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON) [env TETHER_CONFIG]', env.TETHER_CONFIG);
  return listenOptions(command, { what: 'ext_proc server', env: 'TETHER_EXT_PROC', host: '0.0.0.0', port: DEFAULT_PORTS.extProc, portNote: '0: any free port' })
    .option('--secrets-dir <dir>', "directory key files (hmacSecretFile, jwksFile) must be inside (default: the config file's directory) [env TETHER_SECRETS_DIR]", env.TETHER_SECRETS_DIR)
    .option('--no-watch', 'do not re-read the file when it changes (SIGHUP still does)')
    .option('--log-level <level>', 'pino log level [env TETHER_LOG_LEVEL]', env.TETHER_LOG_LEVEL ?? 'info')
    .action(async (opts: ExtProcOptions) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { createLogger } = require('../../log') as typeof import('../../log');
      const { formatErrors, parseConfigText } = require('../../config') as typeof import('../../config');
      const { loadConfigKeyFiles, policiesFromConfig, setSecretFileRules, startExtProcServer } = require('../../extproc') as typeof import('../../extproc');
      const { watchConfigFile } = require('../../server/config-file-watcher') as typeof import('../../server/config-file-watcher');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const logger = createLogger({ level: opts.logLevel });
      const file = opts.config;
      setSecretFileRules({ dir: opts.secretsDir ?? path.dirname(path.resolve(file)) });
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        process.stderr.write(`tether: cannot read ${file}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const first = parseConfigText(text, file);
      if (!first.ok) {
        process.stderr.write(`${formatErrors(first.errors)}\n`);
        process.exit(1);
      }
      let config = first.config;
      let generation = 0;
      const describe = () => config.services.filter((s) => s.affinity?.sessionKey).map((s) => s.name);
      const load = (next: string): void => {
        const result = parseConfigText(next, file);
        if (!result.ok) {
          logger.error({ file, errors: result.errors }, `config rejected; keeping the previous policies:\n${formatErrors(result.errors)}`);
          return;
        }
        // Key files first (asynchronously; a file that cannot be read keeps the keys it had).
        const mine = ++generation;
        void loadConfigKeyFiles(result.config, logger).then(() => {
          if (mine !== generation) return;
          config = result.config;
          logger.info({ file, services: describe() }, 'session key policies reloaded');
        });
      };
      try {
        await loadConfigKeyFiles(config, logger.child({ component: 'extproc' }));
        const server = await startExtProcServer({ host: opts.host, port: opts.port, services: policiesFromConfig(() => config), logger });
        const services = describe();
        if (services.length === 0) logger.warn({ file }, 'no service in this config has an affinity.sessionKey: every request passes without a key');
        else logger.info({ file, services, port: server.port }, 'serving session key policies');
        const watcher = opts.watch ? watchConfigFile(file, { logger, initialText: text, onChange: load }) : undefined;
        process.on('SIGHUP', () => {
          try {
            load(fs.readFileSync(file, 'utf8'));
          } catch (err) {
            logger.warn({ file, err: (err as Error).message }, 'config file unreadable; keeping the previous policies');
          }
        });
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          watcher?.close();
          void server.close().then(() => process.exit(0));
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      } catch (err) {
        logger.fatal({ err: (err as Error).message }, 'ext_proc server failed to start');
        process.exit(1);
      }
    });
}
