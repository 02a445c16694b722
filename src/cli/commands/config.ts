/** `tether apply` and `tether get`: the whole config document. */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { MAX_CONFIG_TEXT_BYTES } from '../../admin/change-requests';
import { objectToStruct, structToObjectOrThrow } from '../../admin/convert';
import { formatErrors } from '../../config';
import { parseYaml } from '../../config/yaml-source';
import { versionArg } from '../args';
import { CliError } from '../errors';
import { type CliIo, mutationOptions, printMutation, runWithClient, withConnectionOptions, withMutationOptions } from './common';

function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function structOf(text: string, file: string) {
  const parsed = parseYaml(text, file === '-' ? 'stdin' : file);
  if (!parsed.ok) throw new CliError(`invalid config:\n${formatErrors(parsed.errors)}`);
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    throw new CliError('invalid config: the config must be an object with listeners, services and backends');
  }
  return objectToStruct(parsed.value as Record<string, unknown>);
}

export function addConfigCommands(program: Command, io: CliIo): void {
  withMutationOptions(
    withConnectionOptions(
      program
        .command('apply')
        .description('replace the served config with a YAML/JSON file (validated by the server; --dry-run shows the diff)')
        .requiredOption('-f, --file <file>', 'config file (YAML or JSON; - for stdin)'),
    ),
  ).action(async (flags: { file: string; dryRun?: boolean; expectedVersion?: string; message?: string }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      // Sent as text so the server parses it exactly as it would the file, with the same error
      // paths; past the server's text limit, parsed here by the same parser and sent as a Struct.
      const text = readConfigFile(flags.file);
      const body = Buffer.byteLength(text) <= MAX_CONFIG_TEXT_BYTES ? { text } : { config: structOf(text, flags.file) };
      printMutation(ctx, await ctx.client.call('ApplyConfig', { options: mutationOptions(flags), ...body }));
    });
  });

  withConnectionOptions(
    program
      .command('get')
      .description('print the served config: YAML with a "# version N" header, or -o json (the document, ready for `apply -f`)')
      .option('--version <n>', 'an earlier version from the history (`tether history`), as it was accepted', versionArg),
  ).action(async (flags: { version?: string }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const res = await ctx.client.call('GetConfig', flags.version ? { version: flags.version } : {});
      const document = structToObjectOrThrow(res.config, ['config']);
      if (ctx.output === 'json') {
        ctx.io.stdout(`${JSON.stringify(document, null, 2)}\n`);
        return;
      }
      const yaml = res.yaml || toYaml(document);
      ctx.io.stdout(`# version ${res.version}\n${yaml.endsWith('\n') ? yaml : `${yaml}\n`}`);
    });
  });
}
