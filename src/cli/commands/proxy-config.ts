/**
 * `tether proxy-config <node> [listeners|routes|clusters|endpoints|all]`: what Tether serves a
 * connected node, decoded (istioctl/egctl `proxy-config`). It reads GetServedResources, the
 * snapshot of the node's kind from the bytes its xDS stream is sent, as proto3 JSON in the form
 * Envoy's /config_dump prints (so `-o json` can be compared with the proxy's own dump).
 */
import { Argument, Option, type Command } from 'commander';
import { SHOWN_TYPES, type ResourceTypeName } from '../../envoy/resource-types';
import { CliError } from '../errors';
import { renderTable } from '../format';
import { type CliIo, runWithClient, withConnectionOptions } from './common';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type ProxyConfigType = 'listeners' | 'routes' | 'clusters' | 'endpoints';
/** Each argument (the resource list's name) → the type's short name: listeners → LDS, …, from the resource-type table. */
export const PROXY_CONFIG_TYPES = Object.fromEntries(SHOWN_TYPES.map((t) => [t.resources, t.short])) as Readonly<Record<ProxyConfigType, ResourceTypeName>>;

function socket(address: Json | undefined): string {
  const s = address?.socket_address;
  return s ? `${s.address}:${s.port_value ?? 0}` : '-';
}

/** Short rows per type, as `istioctl proxy-config` prints them. */
const TABLES: Record<ProxyConfigType, { headers: string[]; rows(r: Json): string[][] }> = {
  listeners: {
    headers: ['NAME', 'ADDRESS', 'ROUTE CONFIG'],
    rows: (l) => {
      const hcm = l.filter_chains?.[0]?.filters?.[0]?.typed_config;
      const route = hcm?.rds?.route_config_name ?? l.api_listener?.api_listener?.rds?.route_config_name ?? (hcm?.route_config || l.api_listener?.api_listener?.route_config ? '(inline)' : '-');
      return [[l.name, l.api_listener ? 'api_listener (gRPC)' : socket(l.address), route]];
    },
  },
  routes: {
    headers: ['NAME', 'VIRTUAL HOST', 'DOMAINS', 'ROUTES'],
    rows: (r) => (r.virtual_hosts ?? []).map((vh: Json) => [r.name, vh.name, (vh.domains ?? []).join(','), String((vh.routes ?? []).length)]),
  },
  clusters: {
    headers: ['NAME', 'DISCOVERY', 'LB POLICY', 'EDS SERVICE'],
    rows: (c) => [[c.name, c.type ?? 'EDS', c.lb_policy ?? (c.load_balancing_policy ? 'typed policy' : 'ROUND_ROBIN'), c.eds_cluster_config?.service_name ?? c.name]],
  },
  endpoints: {
    headers: ['ASSIGNMENT', 'ENDPOINT', 'WEIGHT', 'HEALTH'],
    rows: (a) =>
      (a.endpoints ?? []).flatMap((group: Json) =>
        (group.lb_endpoints ?? []).map((e: Json) => [a.cluster_name, socket(e.endpoint?.address), String(e.load_balancing_weight ?? 1), e.health_status ?? 'UNKNOWN']),
      ),
  },
};

export function addProxyConfigCommand(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('proxy-config')
      .description('print what Tether serves a connected node, decoded: its listeners, routes, clusters or endpoints (-o json|yaml: each resource as proto3 JSON, the form of Envoy\'s /config_dump)')
      .argument('<node>', 'node id (see `tether status`)')
      .addArgument(new Argument('[type]', 'what to show').choices([...Object.keys(PROXY_CONFIG_TYPES), 'all']).default('all'))
      .addOption(new Option('--kind <kind>', 'for a node that is not connected: what a node of this kind is served').choices(['envoy', 'grpc'])),
  ).action(async (node: string, type: ProxyConfigType | 'all', flags: { kind?: 'envoy' | 'grpc' }, command: Command) => {
    await runWithClient(command, io, async (ctx) => {
      const res = await ctx.client.call('GetServedResources', { node_id: node, node_kind: flags.kind ?? '' });
      if (!res.node_connected && !flags.kind) {
        throw new CliError(`node '${node}' is not connected to this Tether (\`tether status\` lists the nodes); --kind envoy|grpc shows what a node of that kind is served`);
      }
      const types = type === 'all' ? (Object.keys(PROXY_CONFIG_TYPES) as ProxyConfigType[]) : [type];
      const of = (t: ProxyConfigType) => res.resources.filter((r) => r.type === PROXY_CONFIG_TYPES[t]).map((r) => JSON.parse(r.json) as Json);
      if (ctx.output !== 'text') {
        ctx.printRaw(type === 'all' ? Object.fromEntries(types.map((t) => [t, of(t)])) : of(type));
        return;
      }
      const parts = types.map((t) => {
        const spec = TABLES[t];
        const rows = of(t).flatMap((r) => spec.rows(r));
        return `${type === 'all' ? `${t.toUpperCase()}\n` : ''}${rows.length ? renderTable(spec.headers, rows) : `no ${t}\n`}`;
      });
      ctx.io.stdout(`# node ${node} (${res.node_kind}${res.node_connected ? '' : ', not connected'}), config version ${res.version}\n${parts.join('\n')}`);
    });
  });
}
