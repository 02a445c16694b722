/**
 * `tether verify --envoy-admin URL`: does this Envoy hold what Tether serves it? Like
 * `istioctl proxy-status <pod>` with its diff: Envoy's /config_dump (dynamic resources only)
 * against GetServedResources for that node (its kind from the dump's bootstrap node, or the
 * kind Tether sees it connected as), compared after both go through the real protos.
 * Exit 0: in sync; 1: differences (printed as diffs); 2: Envoy or Tether unreachable.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Option, type Command } from 'commander';
import { readConfigDump, type ConfigDump } from '../../envoy/config-dump';
import { classifyNode } from '../../xds/node-kind';
import { durationArg } from '../args';
import { CliError } from '../errors';
import { diffProxy, formatProxyDifferences, type ServedResourceJson } from '../proxy-diff';
import { type CliIo, runWithClient, withConnectionOptions } from './common';

export const VERIFY_EXIT = { IN_SYNC: 0, DIFFERENT: 1, UNREACHABLE: 2 } as const;

/** Envoy's /config_dump with endpoints; rejects with a message naming the address. */
function fetchConfigDump(base: string, timeoutMs: number): Promise<unknown> {
  const url = new URL('/config_dump?include_eds', /^[a-z]+:\/\//i.test(base) ? base : `http://${base}`);
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error('the answer is not JSON'));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The node's kind as Tether's xDS server would classify it (node-kind.ts). */
function kindOf(dump: ConfigDump): 'envoy' | 'grpc' {
  const node = dump.node;
  if (!node) return 'envoy';
  const fields = Object.fromEntries(Object.entries(node.metadata).map(([k, v]) => [k, typeof v === 'string' ? { string_value: v } : {}]));
  return classifyNode({ user_agent_name: node.userAgentName || 'envoy', metadata: { fields } });
}

interface VerifyFlags {
  envoyAdmin: string;
  kind?: 'envoy' | 'grpc';
  envoyTimeout: number;
}

export function addVerifyCommand(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('verify')
      .description("compare what an Envoy holds (its admin /config_dump) with what Tether serves it: exit 0 in sync, 1 differences (printed as diffs), 2 unreachable")
      .requiredOption('--envoy-admin <url>', "the Envoy's admin address, e.g. http://127.0.0.1:9901")
      .addOption(new Option('--kind <kind>', "compare with what this kind of node is served (default: as Tether classifies the Envoy's node)").choices(['envoy', 'grpc']))
      .addOption(new Option('--envoy-timeout <duration>', 'how long to wait for the Envoy admin endpoint').argParser(durationArg).default(5_000, '5s')),
  ).action(async (flags: VerifyFlags, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      let dump: ConfigDump;
      try {
        dump = readConfigDump(await fetchConfigDump(flags.envoyAdmin, flags.envoyTimeout));
      } catch (err) {
        ctx.io.stderr(`tether: cannot read Envoy's config at ${flags.envoyAdmin}: ${(err as Error).message}\n`);
        return VERIFY_EXIT.UNREACHABLE;
      }
      const nodeId = dump.node?.id ?? '';
      let served;
      try {
        served = await ctx.client.call('GetServedResources', { node_id: nodeId, node_kind: flags.kind ?? kindOf(dump) });
      } catch (err) {
        if (err instanceof CliError && (err.codeName === 'UNAVAILABLE' || err.codeName === 'DEADLINE_EXCEEDED')) {
          ctx.io.stderr(`tether: ${err.message}\n`);
          return VERIFY_EXIT.UNREACHABLE;
        }
        throw err;
      }
      const resources: ServedResourceJson[] = served.resources.map((r) => ({ type: r.type as ServedResourceJson['type'], name: r.name, json: JSON.parse(r.json) }));
      const differences = diffProxy(resources, dump.resources);
      const inSync = differences.length === 0;
      if (ctx.output !== 'text') {
        ctx.printRaw({ node_id: nodeId, node_kind: served.node_kind, version: served.version, in_sync: inSync, differences });
      } else if (inSync) {
        const count = (t: string) => resources.filter((r) => r.type === t).length;
        ctx.io.stdout(
          `in sync: Envoy ${nodeId || '(no node id)'} (${served.node_kind}) holds what Tether serves it at version ${served.version}: ` +
            `${count('LDS')} listeners, ${count('RDS')} route configurations, ${count('CDS')} clusters, ${count('EDS')} endpoint assignments\n`,
        );
      } else {
        ctx.io.stdout(`${formatProxyDifferences(differences)}\n`);
        ctx.io.stdout(`${differences.length} difference${differences.length === 1 ? '' : 's'} between Envoy ${nodeId || '(no node id)'} and what Tether serves it at version ${served.version}\n`);
      }
      return inSync ? VERIFY_EXIT.IN_SYNC : VERIFY_EXIT.DIFFERENT;
    });
  });
}
