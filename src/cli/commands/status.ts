/** `tether status` and `tether wait`: which nodes applied which version. */
import { type Command, Option } from 'commander';
import { collect, durationArg, uint32Arg, versionArg } from '../args';
import { CliError } from '../errors';
import { connectedNodes, formatProgress, formatStatus, jsonView, nackSummary } from '../format';
import type { RolloutProgress__Output } from '../admin-client';
import { type CliIo, type CommandContext, runWithClient, withConnectionOptions } from './common';

/** Exit codes of `tether wait`. */
export const WAIT_EXIT = { CONVERGED: 0, FAILED: 1, TIMED_OUT: 2 } as const;

/** The server's own deadline (timeout_ms) decides; the call's deadline is a backstop a little later. */
const CALL_DEADLINE_MARGIN_MS = 5_000;
const MAX_TIMEOUT_MS = 0xffff_ffff;

const kindOption = () => new Option('--kind <kind>', 'only nodes of this kind').choices(['envoy', 'grpc']);

export function addStatusCommands(program: Command, io: CliIo): void {
  withConnectionOptions(
    program.command('status').description('connected nodes: kind, stream, applied version, ACKed version per type, NACKs').addOption(kindOption()),
  ).action(async (flags: { kind?: string }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const res = await ctx.client.call('GetStatus', { node_kind: flags.kind ?? '' });
      if (ctx.output === 'text') ctx.io.stdout(formatStatus(res));
      else ctx.printRaw(res);
    });
  });

  withConnectionOptions(
    program
      .command('wait')
      .description('wait until every selected node, and at least --min-nodes of them, applied a version: exit 0 converged, 1 a node NACKed it, 2 timed out')
      .option('--version <n>', 'the version to wait for (default: the current one)', versionArg)
      .addOption(new Option('--node <id>', 'only this node id (repeatable)').argParser(collect).default([], 'every connected node'))
      .addOption(kindOption())
      .addOption(new Option('--min-nodes <n>', 'wait until at least this many selected nodes are connected (0: none needed)').argParser(uint32Arg).default(1))
      .addOption(new Option('--timeout <duration>', 'how long to wait, e.g. 30s, 500ms, 2m').argParser(durationArg).default(30_000, '30s')),
  ).action(async (flags: WaitFlags, command: Command) => {
    await runWithClient(command, io, (ctx) => waitForRollout(ctx, flags));
  });
}

interface WaitFlags {
  version?: string;
  node: string[];
  kind?: string;
  minNodes: number;
  timeout: number;
}

async function waitForRollout(ctx: CommandContext, flags: WaitFlags): Promise<number> {
  if (flags.timeout < 1 || flags.timeout > MAX_TIMEOUT_MS) throw new CliError(`--timeout must be between 1ms and ${MAX_TIMEOUT_MS}ms`);
  let lastLine = '';
  let final: RolloutProgress__Output;
  try {
    final = await ctx.client.waitForRollout(
      { version: flags.version ?? '0', node_ids: flags.node, node_kind: flags.kind ?? '', timeout_ms: flags.timeout, min_nodes: flags.minNodes },
      {
        deadlineMs: flags.timeout + CALL_DEADLINE_MARGIN_MS,
        onProgress: (progress) => {
          if (ctx.output !== 'text') {
            ctx.io.stdout(`${JSON.stringify(jsonView(progress))}\n`);
            return;
          }
          const line = formatProgress(progress, flags.minNodes);
          if (line !== lastLine && !progress.done) ctx.io.stderr(`${line}\n`);
          lastLine = line;
        },
      },
    );
  } catch (err) {
    if (err instanceof CliError && err.codeName === 'DEADLINE_EXCEEDED') {
      ctx.io.stderr(`tether: timed out waiting for the rollout (no final answer within ${flags.timeout + CALL_DEADLINE_MARGIN_MS} ms)\n`);
      return WAIT_EXIT.TIMED_OUT;
    }
    throw err;
  }
  const text = ctx.output === 'text';
  switch (final.state) {
    case 'CONVERGED':
      if (text) ctx.io.stdout(`version ${final.version} applied by ${final.applied.length} node${final.applied.length === 1 ? '' : 's'}\n`);
      return WAIT_EXIT.CONVERGED;
    case 'FAILED':
      ctx.io.stderr(`tether: version ${final.version} was rejected:\n`);
      for (const node of final.nacked) ctx.io.stderr(`  ${node.node_id}: ${nackSummary(node) || 'NACK'}\n`);
      return WAIT_EXIT.FAILED;
    case 'TIMED_OUT':
      if (final.connected < flags.minNodes) {
        const pending = final.pending.length > 0 ? `; pending: ${final.pending.join(', ')}` : '';
        ctx.io.stderr(`tether: timed out waiting for version ${final.version}: ${connectedNodes(final.connected, flags.minNodes)}${pending}\n`);
      } else {
        ctx.io.stderr(`tether: timed out waiting for version ${final.version}; pending: ${final.pending.join(', ') || 'none'}\n`);
      }
      return WAIT_EXIT.TIMED_OUT;
    default:
      throw new CliError(`unexpected rollout state ${final.state}`);
  }
}
