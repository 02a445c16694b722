#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { formatErrors, parseConfigText } from '../config';
import { setSecretFileRules } from '../extproc/secret-files';
import { createSampleCommand } from '../sample/main';
import { addAdminCommands, type CliIo, processIo } from './commands';
import { createServeCommand } from './commands/serve';
import { createExtProcCommand } from './commands/ext-proc';
import { createDemoCommand } from './commands/demo';

/** The `tether` program; `io` receives the admin subcommands' output (tests, embedding). */
export function buildCli(io: CliIo = processIo): Command {
  const program = new Command('tether')
    .description('Envoy xDS control plane for session affinity and safe traffic shifting')
    .showHelpAfterError();

  program.addCommand(createServeCommand());
  program.addCommand(createExtProcCommand());

  program
    .command('validate')
    .description('check a config file and print every error with its field path')
    .requiredOption('-f, --file <file>', 'config file (YAML or JSON)')
    .option('--secrets-dir <dir>', "directory ext_proc key files must be inside, as `tether serve` would use it (default: the file's directory) [env TETHER_SECRETS_DIR]", process.env.TETHER_SECRETS_DIR)
    .action((opts: { file: string; secretsDir?: string }) => {
      setSecretFileRules({ dir: opts.secretsDir ?? path.dirname(path.resolve(opts.file)) });
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
  program.addCommand(createDemoCommand());
  addAdminCommands(program, io);

  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((err: Error) => {
    process.stderr.write(`tether: ${err.message}\n`);
    process.exit(1);
  });
}
