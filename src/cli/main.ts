#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { formatErrors, parseConfigText } from '../config';
import { configWarnings } from '../control/config-warnings';
import { staticEndpoints } from '../translate';
import { formatWarningLines } from './format';
import { setSecretFileRules } from '../util/secret-files';
import { createSampleCommand } from '../sample/main';
import { addAdminCommands, type CliIo, processIo } from './commands';
import { createServeCommand } from './commands/serve';
import { createExtProcCommand } from './commands/ext-proc';
import { createDemoCommand } from './commands/demo';
import { addCompletionCommand } from './commands/completion';
import { createStoreCommand } from './commands/store';

/** The `tether` program; `io` receives the admin subcommands' output (tests, embedding). */
export function buildCli(io: CliIo = processIo): Command {
  const program = new Command('tether')
    .description('Envoy xDS control plane for session affinity and safe traffic shifting')
    .showHelpAfterError();

  program.addCommand(createServeCommand());
  program.addCommand(createExtProcCommand());

  program
    .command('validate')
    .description('check config files and print every error with its field path, and what their translation leaves out per node kind (warnings)')
    .requiredOption('-f, --file <files...>', 'config file(s) (YAML or JSON)')
    .option('--secrets-dir <dir>', "directory ext_proc key files must be inside, as `tether serve` would use it (default: each file's directory) [env TETHER_SECRETS_DIR]", process.env.TETHER_SECRETS_DIR)
    .action((opts: { file: string[]; secretsDir?: string }) => {
      // Several files in one run: loading the Envoy protos for the warnings costs more than a file.
      const several = opts.file.length > 1;
      let failed = false;
      for (const file of opts.file) {
        let text: string;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch (err) {
          process.stderr.write(`tether: cannot read ${file}: ${(err as Error).message}\n`);
          failed = true;
          continue;
        }
        setSecretFileRules({ dir: opts.secretsDir ?? path.dirname(path.resolve(file)) });
        const result = parseConfigText(text, file);
        if (result.ok) {
          process.stdout.write(`${file}: valid (${result.config.services.length} services, ${result.config.backends.length} backends)\n`);
          // Warnings do not make a config invalid. DNS names are not resolved here, so warnings
          // that depend on their addresses show only where Tether serves the config.
          const warnings = configWarnings(result.config, staticEndpoints(result.config));
          const lines = formatWarningLines(warnings.map((w) => ({ node_kind: w.nodeKind, path: w.path, message: w.message })));
          process.stderr.write(several ? lines.replace(/^warning: /gm, `${file}: warning: `) : lines);
        } else {
          process.stderr.write(`${several ? `${file}:\n` : ''}${formatErrors(result.errors)}\n`);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });

  program.addCommand(createSampleCommand());
  program.addCommand(createDemoCommand());
  program.addCommand(createStoreCommand(io));
  addAdminCommands(program, io);
  addCompletionCommand(program, io);

  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((err: Error) => {
    process.stderr.write(`tether: ${err.message}\n`);
    process.exit(1);
  });
}
