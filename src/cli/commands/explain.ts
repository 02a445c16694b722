/**
 * `tether explain` (which replica a request lands on, and why) and `tether what-if` (how a
 * split, endpoint or config change would move sticky sessions, without making it), over the
 * Explain and WhatIf rpcs.
 */
import * as fs from 'node:fs';
import { type Command, Option } from 'commander';
import type { ExplainRequest } from '../../generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../../generated/tether/tether/admin/v1/ExplainResponse';
import type { HashStepInfo__Output } from '../../generated/tether/tether/admin/v1/HashStepInfo';
import type { PickInfo__Output } from '../../generated/tether/tether/admin/v1/PickInfo';
import type { RouteImpact__Output } from '../../generated/tether/tether/admin/v1/RouteImpact';
import type { WhatIfRequest } from '../../generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../../generated/tether/tether/admin/v1/WhatIfResponse';
import { collect, parseSplitArgs, uint32Arg } from '../args';
import { CliError } from '../errors';
import { changeHeading, renderTable } from '../format';
import { type CliIo, type CommandContext, runWithClient, withConnectionOptions } from './common';

/** What-if samples 100,000 sessions per route; a config change may touch many routes. */
const WHAT_IF_DEADLINE_MS = 60_000;

const kindOption = (what: string) =>
  new Option('--kind <kind>', `the kind of node to ${what} (default: the kinds of the nodes connected now, else the kinds the config serves)`).choices([
    'envoy',
    'grpc',
  ]);

/** `name=value` (or `name: value`, as curl writes headers). */
export function parsePair(flag: string, text: string): [string, string] {
  const m = /^([^=:]+)(?:=|:\s?)(.*)$/s.exec(text);
  if (!m || m[1]!.trim() === '') throw new CliError(`${flag} ${JSON.stringify(text)}: expected name=value`);
  return [m[1]!.trim(), m[2]!];
}

interface ExplainFlags {
  header?: string[];
  cookie?: string[];
  query?: string[];
  clientIp?: string;
  path?: string;
  remoteAddress?: string;
  localAddress?: string;
  kind?: string;
  listener?: string;
}

export function explainRequest(service: string, flags: ExplainFlags): ExplainRequest {
  const pairs = (flag: string, values: string[] = []) => values.map((v) => parsePair(flag, v));
  const toMap = (flag: string, values: string[] = []) => Object.fromEntries(pairs(flag, values));
  return {
    service,
    node_kind: flags.kind ?? '',
    headers: pairs('-H', flags.header).map(([name, value]) => ({ name, value })),
    cookies: toMap('--cookie', flags.cookie),
    query: toMap('--query', flags.query),
    client_ip: flags.clientIp ?? '',
    path: flags.path ?? '',
    connection_remote: flags.remoteAddress ?? '',
    connection_local: flags.localAddress ?? '',
    listener: flags.listener ?? '',
  };
}

// Doubles arrive as numbers (or "NaN"/"Infinity" strings, which never occur here).
const percent = (share: number | string): string => `${(Number(share) * 100).toFixed(1)} %`;
/** Exact ring shares, as the web console shows them. */
const exactPercent = (share: number | string): string => `${(Number(share) * 100).toFixed(3)} %`;

function keyText(step: HashStepInfo__Output): string {
  const [kind, name] = step.key.includes(':') ? [step.key.slice(0, step.key.indexOf(':')), step.key.slice(step.key.indexOf(':') + 1)] : [step.key, ''];
  const label = kind === 'header' ? name : kind === 'cookie' ? `cookie ${name}` : kind === 'query' ? `query ${name}` : 'client ip';
  return step.outcome === 'hashed' || step.outcome === 'generated' ? `${label}=${step.input}` : `${label} ${step.outcome}`;
}

function where(pick: PickInfo__Output): string {
  const slot = pick.balancer === 'maglev' ? `maglev slot ${pick.index}/${pick.size}` : `ring entry ${pick.index}/${pick.size}`;
  const backends = pick.backends.length > 0 ? ` (backend ${pick.backends.join(', ')})` : '';
  return `${slot} → ${pick.address}${backends}`;
}

/** What outlier detection, a failed health check or a drain would do to this request. */
function fallbackLine(pick: PickInfo__Output): string | undefined {
  if (!pick.fallback_address) return undefined;
  const backends = pick.fallback_backends.length > 0 ? ` (backend ${pick.fallback_backends.join(', ')})` : '';
  return `fallback: ${pick.fallback_address}${backends}, while ${pick.address} is ejected, unhealthy or drained`;
}

/** The human form: the route, then `x-user=alice → hash 0x… → ring entry 12/1024 → 10.0.0.2:8080 (backend shop-v1)`. */
export function formatExplain(res: ExplainResponse__Output): string {
  const out: string[] = [`service ${res.service}, ${res.node_kind} nodes, config version ${res.version}`];
  if (!res.route) {
    for (const r of res.routes) out.push(`  route ${r.route}: ${r.reason}`);
    out.push(res.reason);
    return out.join('\n') + '\n';
  }
  const skipped = res.routes.filter((r) => !r.matched).map((r) => `${r.route}: ${r.reason}`);
  out.push(`route ${res.route}${skipped.length > 0 ? ` (not: ${skipped.join('; ')})` : ''}`);
  const used = res.steps.filter((s) => s.outcome === 'hashed' || s.outcome === 'generated');
  const keys = (used.length > 0 ? used : res.steps).map(keyText).join(', ') || 'no hash policy';
  const hash = res.request_hash ? ` → hash ${res.request_hash}` : '';
  if (res.pick) {
    out.push(`${keys}${hash} → ${where(res.pick)}`);
    const fallback = fallbackLine(res.pick);
    if (fallback) out.push(fallback);
    if (res.pick.retry_address) {
      const backends = res.pick.retry_backends.length > 0 ? ` (backend ${res.pick.retry_backends.join(', ')})` : '';
      out.push(`retry: ${res.pick.retry_address}${backends}, the next replica on the ring (previous_hosts)`);
    }
    if (res.pick.shares.length > 0) out.push(`${res.pick.balancer === 'maglev' ? 'table' : 'ring'} shares: ${res.pick.shares.map((s) => `${s.address} ${exactPercent(s.share)}`).join(', ')}`);
  } else if (res.weighted_clusters.length > 0) {
    if (res.steps.length > 0) out.push(`${keys}${hash}`);
    for (const c of res.weighted_clusters) out.push(`  ${c.cluster} ${percent(c.share)}${c.pick ? `: ${where(c.pick)}` : ''}`);
    out.push(res.reason);
  } else {
    out.push(`${keys}${hash} → ${res.reason.replace('connection_remote and connection_local', '--remote-address and --local-address')}`);
  }
  if (res.set_cookie) out.push(`Envoy sets: Set-Cookie: ${res.set_cookie}`);
  for (const note of res.notes) out.push(`note: ${note.replace(/node_kind "(\w+)"/g, '--kind $1')}`);
  return out.join('\n') + '\n';
}

const kindList = (kinds: readonly string[]) => kinds.join(' and ');

export function formatWhatIf(res: WhatIfResponse__Output): string {
  const out: string[] = [];
  const kinds = res.node_kinds.length > 0 ? res.node_kinds : [res.node_kind];
  if (res.kinds_from === 'connected') out.push(`for ${kindList(kinds)} nodes: the kinds connected now (--kind to choose)`);
  if (res.kinds_from === 'served') out.push(`for ${kindList(kinds)} nodes: none is connected; the kinds the config serves (--kind to choose)`);
  // An ejection changes no config but moves sessions: its routes are the answer.
  if (!res.changed && res.routes.length === 0) out.push(`no change: the config would stay as version ${res.version}`);
  for (const kind of kinds) {
    const routes = res.routes.filter((r) => (r.node_kind || res.node_kind) === kind);
    for (const r of routes) out.push(formatImpact(r, res));
    if (res.unserved_kinds.includes(kind)) {
      out.push(
        `${kind} nodes are served no route before or after this change` +
          (kind === 'envoy' ? ' (Envoy nodes see only the services on a listener, and none is)' : '') +
          ': none of their sessions can move',
      );
    } else if (res.changed && routes.length === 0) {
      out.push(`no sticky route changes its session placement for ${kind} nodes`);
    }
  }
  if (res.changed) {
    const n = res.changes.length;
    out.push(`${n} ${kindList(kinds)} resource change${n === 1 ? '' : 's'}${n > 0 ? ':' : ''}`);
    for (const c of res.changes) out.push(`  ${changeHeading(c)}`);
  }
  return out.join('\n') + '\n';
}

function formatImpact(r: RouteImpact__Output, res: WhatIfResponse__Output): string {
  const cluster = r.cluster_before === r.cluster_after ? r.cluster_after : `${r.cluster_before || '(none)'} → ${r.cluster_after || '(none)'}`;
  const heading = `${r.service}/${r.route} → ${cluster} (${r.key}, ${res.samples.toLocaleString('en-US')} sessions, ${r.node_kind || res.node_kind})`;
  const replicas = renderTable(
    ['REPLICA', 'BACKEND', 'BEFORE', 'AFTER'],
    r.replicas.map((x) => [x.address, x.backends.join(',') || '-', percent(x.before), percent(x.after)]),
  );
  const parts = [heading, replicas.trimEnd()];
  if (r.backends.length > 1) {
    parts.push(renderTable(['BACKEND', 'BEFORE', 'AFTER'], r.backends.map((b) => [b.backend, percent(b.before), percent(b.after)])).trimEnd());
  }
  parts.push(`sessions moving: ${percent(r.moved)} (ideal ${percent(r.ideal)})`);
  if (r.sessions.length > 0) {
    const moving = r.sessions.filter((x) => x.moved);
    parts.push(`listed sessions moving: ${moving.length} of ${r.sessions.length}`);
    for (const x of moving) parts.push(`  ${x.value}: ${x.before} → ${x.after}`);
  }
  for (const note of r.notes) parts.push(`note: ${note}`);
  return parts.join('\n') + '\n';
}

/** Exit code 1 when no kind reported is served any route: nothing could be measured. */
async function runWhatIf(ctx: CommandContext, request: WhatIfRequest): Promise<number> {
  const res = await ctx.client.call('WhatIf', request, { deadlineMs: WHAT_IF_DEADLINE_MS });
  if (ctx.output === 'text') ctx.io.stdout(formatWhatIf(res));
  else ctx.printRaw(res);
  const kinds = res.node_kinds.length > 0 ? res.node_kinds : [res.node_kind];
  return kinds.every((k) => res.unserved_kinds.includes(k)) ? 1 : 0;
}

interface WhatIfFlags {
  kind?: string;
  samples?: number;
  session?: string[];
  sessionsFile?: string;
}

/** A file's text (`-`: stdin), or a CliError naming it. */
function readFileArg(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const withWhatIfOptions = (command: Command): Command =>
  withConnectionOptions(
    command
      .addOption(kindOption('measure for'))
      .option('--samples <n>', 'synthetic sessions per route (default 100,000, at most 200,000)', uint32Arg)
      .addOption(new Option('--session <value>', "a real session to place, by its key's value (e.g. a user id; repeatable): listed if it moves").argParser(collect))
      .option('--sessions-file <file>', 'sessions to place, one value per line (- for stdin)'),
  );

function sessionsOf(flags: WhatIfFlags): string[] {
  const listed = [...(flags.session ?? [])];
  if (flags.sessionsFile) listed.push(...readFileArg(flags.sessionsFile).split(/\r?\n/).filter((line) => line.trim() !== ''));
  return listed;
}

const whatIfBase = (flags: WhatIfFlags) => ({ node_kind: flags.kind ?? '', samples: flags.samples ?? 0, sessions: sessionsOf(flags) });

export function addExplainCommands(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('explain')
      .description('which replica a request lands on, and why: route match, session key hashes, ring entry / maglev slot')
      .argument('<service>', 'service name')
      .addOption(new Option('-H, --header <name=value>', 'a request header, e.g. -H x-user=alice (repeatable)').argParser(collect))
      .addOption(new Option('--cookie <name=value>', 'a cookie (repeatable)').argParser(collect))
      .addOption(new Option('--query <name=value>', 'a query parameter (repeatable)').argParser(collect))
      .option('--client-ip <ip>', "the client's socket (peer) IP; with -H x-forwarded-for=..., explain applies the listener's trusted hops as Envoy does")
      .option('--path <path>', 'the request path (with a query string if you like); default /')
      .option('--remote-address <ip:port>', "the client's socket address (to predict a cookie Envoy generates)")
      .option('--local-address <ip:port>', 'the listener address the client connected to (with --remote-address)')
      .option('--listener <name>', 'Envoy: the listener the request arrives on (default: the first serving the service)')
      .addOption(kindOption('explain for')),
  ).action(async (service: string, flags: ExplainFlags, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const res = await ctx.client.call('Explain', explainRequest(service, flags));
      if (ctx.output === 'text') ctx.io.stdout(formatExplain(res));
      else ctx.printRaw(res);
    });
  });

  const whatIf = program.command('what-if').description('how a change would move sticky sessions, computed without making it');

  withWhatIfOptions(
    whatIf
      .command('split')
      .description("a route's traffic split, as `tether split` would set it")
      .usage('[options] <service> [route] <backend=weight...>')
      .argument('<service>', 'service name')
      .argument('<weights...>', 'backend=weight pairs, optionally preceded by the route'),
  ).action(async (service: string, words: string[], flags: WhatIfFlags, command: Command) => {
    await runWithClient(command, io, (ctx) => runWhatIf(ctx, { ...whatIfBase(flags), set_split: parseSplitArgs(service, words) }));
  });

  const endpoints = whatIf.command('endpoints').description('adding, removing or draining an endpoint, as `tether endpoints` would');
  for (const verb of ['add', 'remove', 'drain'] as const) {
    const command = endpoints
      .command(verb)
      .description(`${verb} an endpoint of a backend`)
      .argument('<backend>', 'backend name')
      .argument('<address>', '"ip:port", "hostname:port" or "[ipv6]:port"');
    if (verb === 'add') command.option('--weight <n>', 'load-balancing weight (default 1)', uint32Arg);
    withWhatIfOptions(command).action(async (backend: string, address: string, flags: WhatIfFlags & { weight?: number }, cmd: Command) => {
      await runWithClient(cmd, io, (ctx) => {
        const endpoint = { backend, address, weight: flags.weight ?? 0 };
        return runWhatIf(ctx, { ...whatIfBase(flags), [`${verb}_endpoint`]: endpoint });
      });
    });
  }

  withWhatIfOptions(
    whatIf
      .command('eject')
      .description('a replica failing (ejected by outlier detection or failing health checks) in every backend that lists it; the config stays as it is')
      .argument('<address>', '"ip:port" of the replica, as the endpoints list it'),
  ).action(async (address: string, flags: WhatIfFlags, command: Command) => {
    await runWithClient(command, io, (ctx) => runWhatIf(ctx, { ...whatIfBase(flags), eject_endpoint: { address } }));
  });

  withWhatIfOptions(
    whatIf
      .command('apply')
      .description('a whole config file, as `tether apply -f` would serve it')
      .requiredOption('-f, --file <file>', 'config file (YAML or JSON; - for stdin)'),
  ).action(async (flags: WhatIfFlags & { file: string }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const text = readFileArg(flags.file);
      return runWhatIf(ctx, { ...whatIfBase(flags), apply_config: { text } });
    });
  });
}
