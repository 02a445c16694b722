/**
 * `tether translate -f FILE`: a config file → the Envoy resources a kind of node would be sent,
 * offline (no server). `tether diff A B`: two versions from the server's history, as config
 * (YAML) and as Envoy resources per node kind, with the diff of each changed resource — the
 * same comparison a dry run prints (src/diff/resource-diff.ts).
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { structToObjectOrThrow } from '../../admin/convert';
import { formatErrors, parseConfigText } from '../../config';
import { unifiedDiff } from '../../diff/line-diff';
import { diffResources } from '../../diff/resource-diff';
import { readHostsFile, hostsLookup } from '../../resolve/hosts-file';
import { systemLookup, type LookupFn } from '../../resolve/resolver';
import { NODE_KINDS, type NodeKind } from '../../translate';
import { versionArg } from '../args';
import { CliError } from '../errors';
import { formatWarningLines } from '../format';
import { readableSnapshot, translateOffline, validDocument } from '../offline-translate';
import { type CliIo, runWithClient, withConnectionOptions } from './common';

interface ResolveFlags {
  resolve?: boolean;
  hostsFile?: string;
}

function withResolveOptions(command: Command): Command {
  return command
    .option('--resolve', 'resolve DNS names in endpoints (as `tether serve` would); default: only IP endpoints')
    .option('--hosts-file <file>', 'static names for endpoints, hosts(5) form, looked up before DNS (implies --resolve)');
}

function lookupOf(flags: ResolveFlags): LookupFn | undefined {
  if (flags.hostsFile) {
    try {
      return hostsLookup(readHostsFile(flags.hostsFile), flags.resolve ? systemLookup : async () => []);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  return flags.resolve ? systemLookup : undefined;
}

function unresolvedNote(unresolved: readonly string[]): string {
  if (unresolved.length === 0) return '';
  return `note: ${unresolved.length} endpoint${unresolved.length === 1 ? '' : 's'} with a DNS name left out (--resolve or --hosts-file to resolve): ${unresolved.join(', ')}\n`;
}

export function addTranslateCommands(program: Command, io: CliIo): void {
  withResolveOptions(
    program
      .command('translate')
      .description('translate a config file into the Envoy resources a kind of node would be sent, offline (no server): listeners, routes, clusters, endpoints')
      .requiredOption('-f, --file <file>', 'config file (YAML or JSON; - for stdin)')
      .addOption(new Option('--kind <kind>', 'the kind of node').choices([...NODE_KINDS]).default('envoy'))
      .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml')),
  ).action(async (flags: { file: string; kind: NodeKind; output: 'yaml' | 'json' } & ResolveFlags) => {
    try {
      let text: string;
      try {
        text = fs.readFileSync(flags.file === '-' ? 0 : flags.file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${flags.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      // Parsed and validated exactly as `tether validate` and the server read a file.
      const parsed = parseConfigText(text, flags.file === '-' ? 'stdin' : flags.file);
      if (!parsed.ok) throw new CliError(`${flags.file} is not a valid config:\n${formatErrors(parsed.errors)}`);
      const config = parsed.config;
      const lookup = lookupOf(flags);
      const result = await translateOffline(config, { kinds: [flags.kind], ...(lookup ? { lookup } : {}) });
      const view = readableSnapshot(result.snapshots.get(flags.kind)!);
      io.stdout(flags.output === 'json' ? `${JSON.stringify(view, null, 2)}\n` : toYaml(view, { lineWidth: 0 }));
      io.stderr(formatWarningLines(result.warnings) + unresolvedNote(result.unresolved));
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      io.stderr(`tether: ${err.message}\n`);
      process.exitCode = 1;
    }
  });

  withResolveOptions(
    withConnectionOptions(
      program
        .command('diff')
        .description("what changed between two versions of the config's history: the config (YAML) and the Envoy resources per node kind, each changed resource with its diff")
        .argument('<from>', 'a version (see `tether history`)', versionArg)
        .argument('<to>', 'a later (or any other) version', versionArg)
        .addOption(new Option('--kind <kind>', 'only the resources of this kind of node (default: both)').choices([...NODE_KINDS])),
    ),
  ).action(async (from: string, to: string, flags: { kind?: NodeKind } & ResolveFlags, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const [a, b] = await Promise.all([ctx.client.call('GetConfig', { version: from }), ctx.client.call('GetConfig', { version: to })]);
      const docA = structToObjectOrThrow(a.config, ['config']);
      const docB = structToObjectOrThrow(b.config, ['config']);
      const configDiff = unifiedDiff(toYaml(docA), toYaml(docB), { from: `a/version-${from}`, to: `b/version-${to}` });
      const lookup = lookupOf(flags);
      const kinds = flags.kind ? [flags.kind] : NODE_KINDS;
      const opts = { kinds, ...(lookup ? { lookup } : {}) };
      const [ta, tb] = await Promise.all([
        translateOffline(validDocument(docA, `version ${from}`), { ...opts, version: from }),
        translateOffline(validDocument(docB, `version ${to}`), { ...opts, version: to }),
      ]);
      const changes = diffResources(ta.snapshots, tb.snapshots);
      if (ctx.output !== 'text') {
        ctx.printRaw({
          from,
          to,
          config_diff: configDiff,
          changes: changes.map((c) => ({ node_kind: c.nodeKind, type: c.type, name: c.name, action: c.action, diff: c.diff ?? '' })),
        });
        return;
      }
      const mark = { ADDED: '+', REMOVED: '-', MODIFIED: '~' } as const;
      const out: string[] = [configDiff ? `config:\n${configDiff.replace(/\n$/, '')}` : `config: versions ${from} and ${to} are the same`];
      for (const c of changes) {
        out.push(`${mark[c.action]} ${c.nodeKind} ${c.type} ${c.name}`);
        if (c.diff) out.push(c.diff.replace(/\n$/, ''));
      }
      out.push(`${changes.length} Envoy resource change${changes.length === 1 ? '' : 's'} from version ${from} to ${to}`);
      ctx.io.stdout(`${out.join('\n')}\n`);
      ctx.io.stderr(unresolvedNote([...new Set([...ta.unresolved, ...tb.unresolved])]));
    });
  });
}
