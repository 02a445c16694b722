/** `tether version`: this CLI's build and, unless --client, the server's (GetServerInfo). */
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { buildInfo, type BuildInfo } from '../../util/build-info';
import { formatTimestamp } from '../format';
import { type CliIo, runWithClient, withConnectionOptions } from './common';

const line = (who: string, b: Pick<BuildInfo, 'version' | 'revision' | 'nodeVersion'>) => `${who}: tether ${b.version} (revision ${b.revision}, Node.js ${b.nodeVersion})`;

export function addVersionCommand(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('version')
      .description("print this CLI's version and the server's (package version, git revision, Node.js; the server's config version and start time)")
      .option('--client', 'only this CLI; do not contact a server'),
  ).action(async (flags: { client?: boolean; output?: string }, command: Command) => {
    const client = buildInfo();
    const clientView = { version: client.version, revision: client.revision, nodejs_version: client.nodeVersion };
    const print = (view: unknown) => io.stdout(flags.output === 'yaml' ? toYaml(view) : `${JSON.stringify(view, null, 2)}\n`);
    if (flags.client) {
      if (flags.output && flags.output !== 'text') print({ client: clientView });
      else io.stdout(`${line('client', client)}\n`);
      return;
    }
    // The client's line comes first, so it shows even when the server cannot be reached.
    if (!flags.output || flags.output === 'text') io.stdout(`${line('client', client)}\n`);
    await runWithClient(command, io, async (ctx) => {
      const server = await ctx.client.call('GetServerInfo', {});
      if (ctx.output !== 'text') {
        ctx.printRaw({ client: clientView, server: { ...server, address: ctx.client.address } });
        return;
      }
      io.stdout(
        `${line('server', { version: server.version, revision: server.revision, nodeVersion: server.nodejs_version })} at ${ctx.client.address}: ` +
          `config version ${server.config_version}, started ${formatTimestamp(server.started_at)}\n`,
      );
    });
  });
}
