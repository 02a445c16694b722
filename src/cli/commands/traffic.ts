/** `tether split` and `tether promote`: traffic shifting between a service's backends. */
import type { Command } from 'commander';
import { parseSplitArgs } from '../args';
import { type CliIo, mutationOptions, printMutation, runWithClient, withConnectionOptions, withMutationOptions } from './common';

interface MutationFlags {
  dryRun?: boolean;
  expectedVersion?: string;
  message?: string;
  route?: string;
}

export function addTrafficCommands(program: Command, io: CliIo): void {
  withMutationOptions(
    withConnectionOptions(
      program
        .command('split')
        .description("set a route's traffic split, e.g. `tether split shop v1=90 v2=10` (backends not listed leave the route)")
        .usage('[options] <service> [route] <backend=weight...>')
        .argument('<service>', 'service name')
        .argument('<weights...>', 'backend=weight pairs, optionally preceded by the route (needed when the service has several routes)')
        .option('--route <name>', 'the route (instead of the positional form)'),
    ),
  ).action(async (service: string, words: string[], flags: MutationFlags, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const split = parseSplitArgs(service, words, flags.route);
      printMutation(ctx, await ctx.client.call('SetSplit', { options: mutationOptions(flags), ...split }));
    });
  });

  withMutationOptions(
    withConnectionOptions(
      program
        .command('promote')
        .description("send all of a service's traffic to one backend (every route that uses it, or --route)")
        .argument('<service>', 'service name')
        .argument('<backend>', 'the backend that gets 100 %')
        .option('--route <name>', 'only this route'),
    ),
  ).action(async (service: string, backend: string, flags: MutationFlags, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      printMutation(ctx, await ctx.client.call('Promote', { options: mutationOptions(flags), service, backend, route: flags.route ?? '' }));
    });
  });
}
