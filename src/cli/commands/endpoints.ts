/** `tether endpoints add|remove|drain`: a backend's endpoint membership. */
import type { Command } from 'commander';
import { portArg, uint32Arg } from '../args';
import type { UnaryMethod } from '../admin-client';
import { type CliIo, mutationOptions, printMutation, runWithClient, withConnectionOptions, withMutationOptions } from './common';

interface EndpointFlags {
  dryRun?: boolean;
  expectedVersion?: string;
  message?: string;
  weight?: number;
  grpcPort?: number;
}

const VERBS: { name: string; method: UnaryMethod & ('AddEndpoint' | 'RemoveEndpoint' | 'DrainEndpoint'); description: string }[] = [
  { name: 'add', method: 'AddEndpoint', description: "add an endpoint to a backend's endpoint list" },
  { name: 'remove', method: 'RemoveEndpoint', description: 'remove an endpoint from a backend' },
  { name: 'drain', method: 'DrainEndpoint', description: 'keep an endpoint but send it no new requests (EDS DRAINING)' },
];

export function addEndpointCommands(program: Command, io: CliIo): void {
  const group = program.command('endpoints').description('add, drain or remove the endpoints of a backend');
  for (const verb of VERBS) {
    const command = group
      .command(verb.name)
      .description(verb.description)
      .argument('<backend>', 'backend name')
      .argument('<address>', '"ip:port", "hostname:port" or "[ipv6]:port"');
    if (verb.method === 'AddEndpoint') {
      command.option('--weight <n>', 'load-balancing weight (default 1)', uint32Arg);
      command.option('--grpc-port <port>', 'the port proxyless gRPC clients use, when the replica serves gRPC apart from <address>', portArg);
    }
    withMutationOptions(withConnectionOptions(command)).action(async (backend: string, address: string, flags: EndpointFlags, cmd: Command) => {
      await runWithClient(cmd, io, async (ctx) => {
        const request = { options: mutationOptions(flags), backend, address, weight: flags.weight ?? 0, grpc_port: flags.grpcPort ?? 0 };
        printMutation(ctx, await ctx.client.call(verb.method, request));
      });
    });
  }
}
