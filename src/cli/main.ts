#!/usr/bin/env node
import * as fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../log';
import { startTether, ConfigRejectedError, DEFAULT_XDS_PORT } from '../server/tether';
import { formatErrors, parseConfigText } from '../config';
import { createSampleCommand } from '../sample/main';
import { addAdminCommands, type CliIo, processIo } from './commands';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/** The `tether` program; `io` receives the admin subcommands' output (tests, embedding). */
export function buildCli(io: CliIo = processIo): Command {
  const program = new Command('tether')
    .description('Envoy xDS control plane for session affinity and safe traffic shifting')
    .showHelpAfterError();

  program
    .command('serve')
    .description('serve a config over ADS to Envoy and proxyless gRPC clients (default: the built-in config)')
    .option('-c, --config <file>', 'config file (YAML or JSON), watched for edits [env TETHER_CONFIG]', process.env.TETHER_CONFIG)
    .option('--xds-host <host>', 'xDS listen address [env TETHER_XDS_HOST]', process.env.TETHER_XDS_HOST ?? '0.0.0.0')
    .option('--xds-port <port>', `xDS (ADS) port [env TETHER_XDS_PORT]`, port, process.env.TETHER_XDS_PORT ? port(process.env.TETHER_XDS_PORT) : DEFAULT_XDS_PORT)
    .option('--resolve-interval <ms>', 'how often DNS endpoints are re-resolved', (v) => Number(v), 30_000)
    .option('--log-level <level>', 'pino log level [env TETHER_LOG_LEVEL]', process.env.TETHER_LOG_LEVEL ?? 'info')
    .action(async (opts: { config?: string; xdsHost: string; xdsPort: number; resolveInterval: number; logLevel: string }) => {
      const logger = createLogger({ level: opts.logLevel });
      try {
        const tether = await startTether({
          ...(opts.config ? { configPath: opts.config } : {}),
          xdsHost: opts.xdsHost,
          xdsPort: opts.xdsPort,
          resolveIntervalMs: opts.resolveInterval,
          logger,
        });
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          void tether.close().then(() => process.exit(0));
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        if (opts.config) {
          process.on('SIGHUP', () => {
            void tether.applyText(fs.readFileSync(opts.config!, 'utf8'), opts.config!);
          });
        }
      } catch (err) {
        if (err instanceof ConfigRejectedError) {
          process.stderr.write(`tether: ${err.message}\n`);
        } else {
          logger.fatal({ err: (err as Error).message }, 'tether failed to start');
        }
        process.exit(1);
      }
    });

  program
    .command('validate')
    .description('check a config file and print every error with its field path')
    .requiredOption('-f, --file <file>', 'config file (YAML or JSON)')
    .action((opts: { file: string }) => {
      let text: string;
      try {
        text = fs.readFileSync(opts.file, 'utf8');
      } catch (err) {
        process.stderr.write(`tether: cannot read ${opts.file}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const result = parseConfigText(text, opts.file);
      if (result.ok) {
        process.stdout.write(`${opts.file}: valid (${result.config.services.length} services, ${result.config.backends.length} backends)\n`);
      } else {
        process.stderr.write(`${formatErrors(result.errors)}\n`);
        process.exit(1);
      }
    });

  program.addCommand(createSampleCommand());
  addAdminCommands(program, io);

  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((err: Error) => {
    process.stderr.write(`tether: ${err.message}\n`);
    process.exit(1);
  });
}
