/**
 * What every admin subcommand shares: connection flags, `-o`, the mutation flags, and one
 * runner that opens the client, reports any failure the same way and sets the exit code.
 */
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import {
  type AdminClient,
  type ConnectionFlags,
  type MutationOptions,
  type MutationResponse__Output,
  createAdminClient,
  resolveConnection,
} from '../admin-client';
import { versionArg } from '../args';
import { formatCliError, toCliError } from '../errors';
import { formatMutation, formatWarningLines, jsonView } from '../format';

export type OutputFormat = 'text' | 'json' | 'yaml';

/** Where a command writes; the binary uses the process's streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export interface CommandContext {
  client: AdminClient;
  output: OutputFormat;
  io: CliIo;
  /** Prints a response as `-o json|yaml` asks (the raw response, Timestamps as RFC 3339). */
  printRaw(response: unknown): void;
}

interface CommonFlags extends ConnectionFlags {
  output: OutputFormat;
}

export function withConnectionOptions(command: Command): Command {
  return command
    .option('--server <host:port>', 'admin API address [env TETHER_ADMIN_ADDR] (default: 127.0.0.1:18001)')
    .option('--token <token>', 'bearer token [env TETHER_ADMIN_TOKEN] (default: ./.tether/admin-token if present)')
    .option('--token-file <file>', 'read the bearer token from a file')
    .option('--tls-ca <file>', 'use TLS, trusting this CA (PEM)')
    .option('--tls-cert <file>', 'client certificate for mTLS (PEM)')
    .option('--tls-key <file>', 'client key for mTLS (PEM)')
    .option('--tls-server-name <name>', "name to verify the server's certificate against")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'));
}

export function withMutationOptions(command: Command): Command {
  return command
    .option('--dry-run', 'validate and show the resource diff; change nothing')
    .option('--expected-version <n>', 'apply only if this is the current version (else ABORTED)', versionArg)
    .option('-m, --message <text>', 'note stored with the version (shown by `tether history`)');
}

export function mutationOptions(flags: { dryRun?: boolean; expectedVersion?: string; message?: string }): MutationOptions {
  return {
    dry_run: flags.dryRun ?? false,
    expected_version: flags.expectedVersion ?? '0',
    description: flags.message ?? '',
  };
}

/**
 * Runs `body` with a connected client; `body` returns the exit code (default 0). Any failure
 * prints `tether: CODE: message` (and every field error) to stderr and exits 1.
 */
export async function runWithClient(command: Command, io: CliIo, body: (ctx: CommandContext) => Promise<number | void>): Promise<void> {
  const flags = command.opts<CommonFlags>();
  // grpc-js passes an IP target as the TLS server name, which Node flags with a deprecation
  // warning (DEP0123) on every TLS connection by IP; it is noise on a CLI's stderr.
  process.noDeprecation = true;
  let client: AdminClient | undefined;
  try {
    client = createAdminClient(resolveConnection(flags));
    const output = flags.output ?? 'text';
    const ctx: CommandContext = {
      client,
      output,
      io,
      printRaw(response) {
        const view = jsonView(response);
        io.stdout(output === 'yaml' ? toYaml(view) : `${JSON.stringify(view, null, 2)}\n`);
      },
    };
    const code = await body(ctx);
    process.exitCode = code ?? 0;
  } catch (err) {
    const error = toCliError(err, client?.address);
    io.stderr(formatCliError(error).join('\n') + '\n');
    process.exitCode = error.exitCode;
  } finally {
    client?.close();
  }
}

/**
 * A mutation's result: the raw response for `-o json|yaml`, else the summary (and dry-run
 * diff) on stdout and the config's translation warnings on stderr.
 */
export function printMutation(ctx: CommandContext, response: MutationResponse__Output): void {
  if (ctx.output !== 'text') {
    ctx.printRaw(response);
    return;
  }
  ctx.io.stdout(formatMutation(response));
  const warnings = formatWarningLines(response.warnings);
  if (warnings) ctx.io.stderr(warnings);
}
