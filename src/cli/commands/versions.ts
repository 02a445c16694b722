/** `tether rollback` and `tether history`: the config's version history. */
import type { Command } from 'commander';
import { versionArg } from '../args';
import { formatHistory } from '../format';
import { type CliIo, mutationOptions, printMutation, runWithClient, withConnectionOptions, withMutationOptions } from './common';

export function addVersionCommands(program: Command, io: CliIo): void {
  withMutationOptions(
    withConnectionOptions(
      program
        .command('rollback')
        .description(
          'make an earlier version current again, as a new version. Without a version it steps back like undo: ' +
            'the version before the current one, and again from there on each repeat (a rollback counts as the ' +
            'version it restored, so two rollbacks go two versions back instead of toggling)',
        )
        .argument('[version]', 'restore exactly this version (see `tether history`); also how to roll forward again', versionArg),
    ),
  ).action(async (version: string | undefined, flags: { dryRun?: boolean; expectedVersion?: string; message?: string }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      printMutation(ctx, await ctx.client.call('Rollback', { options: mutationOptions(flags), to_version: version ?? '0' }));
    });
  });

  withConnectionOptions(program.command('history').description('list the config versions kept, newest first (* = current)')).action(
    async (_flags: unknown, command: Command) => {
      await runWithClient(command, io, async (ctx) => {
        const res = await ctx.client.call('ListVersions', {});
        if (ctx.output === 'text') ctx.io.stdout(formatHistory(res));
        else ctx.printRaw(res);
      });
    },
  );
}
