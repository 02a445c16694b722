/**
 * The Explain rpc: a checked request → src/explain over the current config's
 * translation for the node kind → ExplainResponse. Reads only; changes nothing.
 */
import { isIP } from 'node:net';
import { initHashing, isHashing, pickerCost, pickerFrom, splitHostPort, type AffinityEndpoint } from '../affinity';
import { computePool, WORKER_MIN_COST } from '../compute';
import { closest } from '../config/suggestions';
import { TetherError } from '../config/errors';
import {
  assignmentOf,
  clusterBalancer,
  clusterEndpoints,
  explainKind,
  explainRequest,
  servedService,
  type ExplainOutcome,
  type ExplainQuery,
  type PickOutcome,
} from '../explain';
import type { ExplainRequest__Output } from '../generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse } from '../generated/tether/tether/admin/v1/ExplainResponse';
import type { PickInfo } from '../generated/tether/tether/admin/v1/PickInfo';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import type { BalancerSpec } from '../model/types';
import type { ExplainSource, TranslatedConfig } from './explain-source';
import { RequestFields, quote } from './request-fields';
import { readNodeKind } from './status';

/** Bounds on what one request may describe (each value is also hashed and echoed back). */
const MAX_ENTRIES = 200;
const MAX_NAME = 256;
const MAX_VALUE = 8192;

function readEntries(fields: RequestFields, entries: Array<[string, string]>, path: string): void {
  if (entries.length > MAX_ENTRIES) fields.problem(path, `at most ${MAX_ENTRIES} entries`);
  for (const [name, value] of entries.slice(0, MAX_ENTRIES)) {
    if (name === '' || name.length > MAX_NAME) fields.problem(path, `names must have 1 to ${MAX_NAME} characters, got ${quote(name)}`);
    if (value.length > MAX_VALUE) fields.problem(`${path}[${name.slice(0, 80)}]`, `at most ${MAX_VALUE} characters`);
  }
}

/** An explain query whose kind is undefined when the request names none (the server chooses, see explainKind). */
export type ReadExplainQuery = Omit<ExplainQuery, 'kind'> & { kind: NodeKind | undefined };

/** Reads and checks the request into a query; throws INVALID_ARGUMENT listing every problem. */
export function readExplainRequest(req: ExplainRequest__Output): ReadExplainQuery {
  const fields = new RequestFields();
  const service = fields.name(req.service, 'service');
  const kind = readNodeKind(req.node_kind, 'node_kind', fields.errors);

  const headerEntries = req.headers.map((h): [string, string] => [h.name, h.value]);
  readEntries(fields, headerEntries, 'headers');
  readEntries(fields, Object.entries(req.cookies), 'cookies');
  readEntries(fields, Object.entries(req.query), 'query');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of headerEntries) {
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }

  if (req.client_ip && !splitHostPort(req.client_ip)) fields.problem('client_ip', `${quote(req.client_ip)} is not an IP address`);
  if (req.path && (!req.path.startsWith('/') || req.path.length > MAX_VALUE)) fields.problem('path', `must start with "/" and have at most ${MAX_VALUE} characters`);
  const connection = readConnection(fields, req.connection_remote, req.connection_local);
  const listener = fields.optionalName(req.listener, 'listener');
  fields.done();

  const query: ReadExplainQuery = { service, kind, headers };
  if (Object.keys(req.cookies).length > 0) query.cookies = { ...req.cookies };
  if (Object.keys(req.query).length > 0) query.query = { ...req.query };
  if (req.client_ip) query.clientIp = req.client_ip;
  if (req.path) query.path = req.path;
  if (connection) query.connection = connection;
  if (listener) query.listener = listener;
  return query;
}

function readConnection(fields: RequestFields, remote: string, local: string): { remote: string; local: string } | undefined {
  if (!remote && !local) return undefined;
  for (const [path, value] of [
    ['connection_remote', remote],
    ['connection_local', local],
  ] as const) {
    const parsed = value ? splitHostPort(value) : undefined;
    if (!parsed || parsed.port === undefined || isIP(parsed.ip) === 0) {
      fields.problem(path, value ? `${quote(value)} is not "ip:port"` : 'required with the other connection address ("ip:port" each)');
    }
  }
  return { remote, local };
}

function pickInfo(pick: PickOutcome | undefined): PickInfo | null {
  if (!pick) return null;
  return {
    cluster: pick.cluster,
    balancer: pick.balancer,
    address: pick.address,
    backends: pick.backends,
    index: pick.index,
    size: pick.size,
    entry_hash: pick.entryHash ?? '',
    fallback_address: pick.fallback?.address ?? '',
    fallback_backends: pick.fallback?.backends ?? [],
    retry_address: pick.retry?.address ?? '',
    retry_backends: pick.retry?.backends ?? [],
    shares: pick.shares ?? [],
  };
}

export function toExplainResponse(version: number, outcome: ExplainOutcome, notes: readonly string[] = []): ExplainResponse {
  return {
    version,
    node_kind: outcome.kind,
    service: outcome.service,
    route_config: outcome.routeConfig,
    route: outcome.route ?? '',
    routes: outcome.routes.map((r) => ({ route: r.route, matched: r.matched, reason: r.reason ?? '' })),
    steps: outcome.steps.map((s) => ({
      key: s.key,
      outcome: s.outcome,
      input: s.input ?? '',
      hash: s.hash ?? '',
      combined: s.combined ?? '',
      note: s.note ?? '',
    })),
    used_keys: outcome.usedKeys,
    request_hash: outcome.requestHash ?? '',
    cluster: outcome.cluster ?? '',
    weighted_clusters: outcome.weightedClusters.map((c) => ({ cluster: c.cluster, weight: c.weight, share: c.share, pick: pickInfo(c.pick) })),
    pick: pickInfo(outcome.pick),
    predictable: outcome.pick !== undefined,
    reason: outcome.reason ?? '',
    set_cookie: outcome.setCookie ?? '',
    notes: [...outcome.notes, ...notes],
  };
}

const KIND_NAMES: Record<NodeKind, string> = { envoy: 'Envoy', grpc: 'gRPC' };

/**
 * Builds the service's large rings and tables (a 2,000-endpoint stable ring: 2M entries,
 * seconds of CPU) on the compute worker into the explain cache, so explainRequest finds them
 * there instead of building them on the event loop. Small ones are left to explainRequest.
 */
async function prebuildPickers(translated: TranslatedConfig, kind: NodeKind, service: string): Promise<void> {
  const wire = translated.wire(kind);
  const { virtualHost } = servedService(wire, service, kind);
  const clusters = new Set<string>();
  for (const route of virtualHost.routes) {
    const action = route.route;
    if (action?.cluster) clusters.add(action.cluster);
    for (const w of action?.weighted_clusters?.clusters ?? []) clusters.add(w.name);
  }
  for (const name of clusters) {
    const key = `${kind}/${name}`;
    const cluster = wire.clusters.get(name);
    if (!cluster || translated.pickers.has(key)) continue;
    const lb = clusterBalancer(cluster, kind);
    if (!isHashing(lb.balancer) || lb.unsupported) continue;
    const endpoints = clusterEndpoints(assignmentOf(wire, cluster), lb.useHostname);
    if (pickerCost(endpoints, lb.balancer, kind) <= WORKER_MIN_COST) continue;
    try {
      const data = await computePool().picker({ endpoints, balancer: lb.balancer, flavour: kind });
      translated.pickers.set(key, data && pickerFrom(data));
    } catch {
      // Left to explainRequest, which builds it (and reports what is wrong with it).
    }
  }
}

/** `connectedKinds`: the kinds of the nodes connected now, for the default kind. */
export async function explain(source: ExplainSource, req: ExplainRequest__Output, connectedKinds: () => readonly NodeKind[] = () => []): Promise<ExplainResponse> {
  const read = readExplainRequest(req);
  await initHashing();
  const { current, translated } = await source.current();
  const names = current.config.services.map((s) => s.name);
  if (!names.includes(read.service)) {
    const near = closest(read.service, names);
    throw new TetherError('NOT_FOUND', `unknown service '${read.service}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  for (const kind of NODE_KINDS) await translated.ready(kind);
  const serves = (kind: NodeKind) => {
    try {
      servedService(translated.wire(kind), read.service, kind);
      return true;
    } catch {
      return false;
    }
  };
  const chosen = explainKind(read.kind, connectedKinds(), serves);
  const query: ExplainQuery = { ...read, kind: chosen.kind };
  await prebuildPickers(translated, query.kind, read.service);
  const context = () => ({ resources: translated.wire(query.kind), owners: translated.owners, pickers: translated.pickers, defer: { above: WORKER_MIN_COST, wanted: [] as Array<{ key: string; endpoints: AffinityEndpoint[]; balancer: BalancerSpec }> } });
  let ctx = context();
  let outcome = explainRequest(query, ctx);
  if (ctx.defer.wanted.length > 0) {
    // The fallback rings (the cluster without the picked replica) are as large: on the worker too, then the same answer with them.
    for (const w of ctx.defer.wanted) {
      try {
        const data = await computePool().picker({ endpoints: w.endpoints, balancer: w.balancer, flavour: query.kind });
        translated.pickers.set(w.key, data && pickerFrom(data));
      } catch {
        translated.pickers.set(w.key, undefined);
      }
    }
    ctx = context();
    outcome = explainRequest(query, ctx);
  }
  const notes = [...translated.notes];
  if (chosen.from !== 'requested') {
    const why = chosen.from === 'connected' ? 'the kind of node connected now' : 'no node is connected; the config serves the service to them';
    const others = chosen.others.map((k) => `${KIND_NAMES[k]} nodes are ${chosen.from} too: node_kind "${k}" explains for them`);
    notes.push(`explained for ${KIND_NAMES[chosen.kind]} nodes (${why})`, ...others);
  }
  return toExplainResponse(current.version, outcome, notes);
}
