import type {
  AffinityKey,
  BackendSpec,
  BalancerSpec,
  HeaderMatchSpec,
  HeaderOps,
  PathMatchSpec,
  RouteMatchSpec,
  RouteSpec,
  MirrorSpec,
  ServiceSpec,
  SessionKeySpec,
  StrongAffinitySpec,
  StringMatch,
  WeightedBackend,
  ExtProcSpec,
  ListenerSpec,
} from '../model/types';
import { DEFAULT_BUCKET_HEADER, DEFAULT_TARGET_HEADER, type SessionKeyPolicy } from '../model/session-key-policy';
import type { RawExtProcSettings } from './ext-proc-schema';
import { DEFAULTS } from './defaults';
import { isHostHeader, type RawHeaderEdits, type RawHeaderOps } from './header-ops-schema';
import type { RawHeaderMatcher, RawQueryMatcher, RawRouteMatch } from './match-schema';
import { circuitBreakersSpec, healthCheckSpec, outlierDetectionSpec, retrySpec, slowStartSpec, upstreamTlsSpec } from './resilience-normalize';
import type { RawAffinityKey, RawBackend, RawBalancer, RawListener, RawRoute, RawService, RawStrong } from './schema';
import { LISTENER_DEFAULTS } from './listener-schema';

/**
 * Validated file → model, with every default filled so translate/ never has to guess.
 * Runs only on input that passed the schema and the cross-checks. Optional model fields
 * are left out rather than set to undefined, so the model compares and serialises cleanly.
 */

function headerOps(raw: RawHeaderOps | undefined): { ops: HeaderOps; hostRewrite?: string } {
  const ops: HeaderOps = { set: [], add: [], remove: [] };
  let hostRewrite: string | undefined;
  for (const [name, value] of Object.entries(raw?.set ?? {})) {
    if (isHostHeader(name)) hostRewrite = value;
    else ops.set.push({ name: name.toLowerCase(), value });
  }
  for (const [name, value] of Object.entries(raw?.add ?? {})) ops.add.push({ name: name.toLowerCase(), value });
  for (const name of raw?.remove ?? []) ops.remove.push(name.toLowerCase());
  return hostRewrite === undefined ? { ops } : { ops, hostRewrite };
}

/** Request/response ops plus the Host rewrite pulled out of `request.set`. */
function headerEdits(raw: RawHeaderEdits | undefined) {
  const request = headerOps(raw?.request);
  const response = headerOps(raw?.response);
  return { requestHeaders: request.ops, responseHeaders: response.ops, hostRewrite: request.hostRewrite };
}

function stringMatch(m: RawHeaderMatcher | RawQueryMatcher): StringMatch {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.suffix !== undefined) return { suffix: m.suffix };
  if (m.contains !== undefined) return { contains: m.contains };
  return { regex: m.regex ?? '' };
}

function headerMatch(name: string, m: RawHeaderMatcher): HeaderMatchSpec {
  const base = { name: name.toLowerCase(), invert: m.invert ?? false, ignoreCase: m.ignoreCase ?? false };
  if (m.range !== undefined) return { ...base, range: { start: m.range.start, end: m.range.end } };
  if (m.present !== undefined) return { ...base, present: m.present };
  return { ...base, ...stringMatch(m) };
}

function queryMatch(name: string, m: RawQueryMatcher): RouteMatchSpec['queryParams'][number] {
  if (m.present !== undefined) return { name, present: m.present };
  return { name, ...stringMatch(m) };
}

function routeMatch(raw: RawRouteMatch | undefined): RouteMatchSpec {
  let path: PathMatchSpec = { prefix: DEFAULTS.pathPrefix };
  if (raw?.prefix !== undefined) path = { prefix: raw.prefix };
  else if (raw?.exact !== undefined) path = { exact: raw.exact };
  else if (raw?.regex !== undefined) path = { regex: raw.regex };
  return {
    path,
    headers: Object.entries(raw?.headers ?? {}).map(([name, m]) => headerMatch(name, m)),
    queryParams: Object.entries(raw?.queryParams ?? {}).map(([name, m]) => queryMatch(name, m)),
  };
}

/** `bucketHeader`: a sessionKey's bucket header, the natural default for header-mode stickySplit. */
function route(serviceName: string, raw: RawRoute, index: number, bucketHeader: string | undefined): RouteSpec {
  const backends: WeightedBackend[] = raw.backends.map((b) => {
    const edits = headerEdits(b.headers);
    const out: WeightedBackend = {
      backend: b.name,
      weight: b.weight ?? DEFAULTS.singleBackendWeight,
      requestHeaders: edits.requestHeaders,
      responseHeaders: edits.responseHeaders,
    };
    if (edits.hostRewrite !== undefined) out.hostRewrite = edits.hostRewrite;
    return out;
  });
  const edits = headerEdits(raw.headers);
  const out: RouteSpec = {
    name: raw.name ?? `${serviceName}-${index}`,
    match: routeMatch(raw.match),
    backends,
    requestHeaders: edits.requestHeaders,
    responseHeaders: edits.responseHeaders,
  };
  if (edits.hostRewrite !== undefined) out.hostRewrite = edits.hostRewrite;
  if (raw.timeout !== undefined) out.timeoutMs = raw.timeout;
  if (raw.stickySplit !== undefined) {
    out.stickySplit =
      raw.stickySplit.mode === 'header'
        ? { mode: 'header', header: (raw.stickySplit.header ?? bucketHeader ?? DEFAULTS.stickySplitHeader).toLowerCase() }
        : { mode: 'ring' };
  }
  if (raw.mirror !== undefined && raw.mirror.length > 0) {
    out.mirrors = raw.mirror.map((m): MirrorSpec => ({ backend: m.backend, percent: m.percent ?? DEFAULTS.mirrorPercent }));
  }
  if (raw.retries !== undefined) out.retries = retrySpec(raw.retries);
  return out;
}

function affinityKey(raw: RawAffinityKey): AffinityKey {
  const terminal = raw.terminal ?? DEFAULTS.affinityKeyTerminal;
  if (raw.header !== undefined) return { kind: 'header', name: raw.header.toLowerCase(), terminal };
  if (raw.cookie !== undefined) {
    const key: AffinityKey = { kind: 'cookie', name: raw.cookie.name, terminal };
    if (raw.cookie.ttl !== undefined) key.ttlMs = raw.cookie.ttl;
    if (raw.cookie.path !== undefined) key.path = raw.cookie.path;
    return key;
  }
  if (raw.clientIp !== undefined) return { kind: 'clientIp', terminal };
  return { kind: 'queryParameter', name: raw.queryParameter!, terminal };
}

export function service(raw: RawService, allListeners: string[]): ServiceSpec {
  const key = raw.affinity?.sessionKey !== undefined ? sessionKey(raw.affinity.sessionKey) : undefined;
  const bucketHeader = key && key.bucketHeader !== false ? key.bucketHeader : undefined;
  const out: ServiceSpec = {
    name: raw.name,
    domains: [...(raw.domains ?? DEFAULTS.domains)],
    listeners: [...(raw.listeners ?? allListeners)],
    routes: raw.routes.map((r, i) => route(raw.name, r, i, bucketHeader)),
  };
  if (raw.affinity !== undefined) {
    out.affinity = { keys: (raw.affinity.keys ?? []).map(affinityKey) };
    if (raw.affinity.strong !== undefined) out.affinity.strong = strong(raw.affinity.strong);
    if (key !== undefined) out.affinity.sessionKey = key;
  }
  return out;
}

/** Validated by src/extproc/policy.ts (schema); only the header names and failure mode get defaults. */
function sessionKey(raw: unknown): SessionKeySpec {
  const policy = raw as SessionKeyPolicy;
  return {
    ...policy,
    targetHeader: policy.targetHeader ?? DEFAULT_TARGET_HEADER,
    bucketHeader: policy.bucketHeader ?? DEFAULT_BUCKET_HEADER,
    failureMode: policy.failureMode ?? 'open',
  };
}

export function extProc(raw: RawExtProcSettings | undefined): ExtProcSpec {
  const out: ExtProcSpec = {
    cluster: raw?.cluster ?? DEFAULTS.extProcCluster,
    failureModeAllow: raw?.failureModeAllow ?? DEFAULTS.extProcFailureModeAllow,
    messageTimeoutMs: raw?.messageTimeout ?? DEFAULTS.extProcMessageTimeoutMs,
  };
  if (raw?.address !== undefined) out.address = { host: raw.address.host, port: raw.address.port };
  return out;
}

function strong(raw: RawStrong): StrongAffinitySpec {
  const strict = raw.strict ?? DEFAULTS.strongStrict;
  if (raw.header !== undefined) return { session: { kind: 'header', name: raw.header.toLowerCase() }, strict };
  const cookie = raw.cookie!;
  const session: StrongAffinitySpec['session'] = { kind: 'cookie', name: cookie.name };
  if (cookie.ttl !== undefined) session.ttlMs = cookie.ttl;
  if (cookie.path !== undefined) session.path = cookie.path;
  if (cookie.secure === true) session.secure = true;
  if (cookie.sameSite !== undefined) session.sameSite = cookie.sameSite;
  return { session, strict };
}

function balancer(raw: RawBalancer | undefined, sticky: boolean): BalancerSpec {
  switch (raw?.type ?? (sticky ? 'ring_hash' : 'round_robin')) {
    case 'ring_hash': {
      // Given sizes mean the fixed ring they describe; otherwise the ring is stable.
      const sized = raw?.minRingSize !== undefined || raw?.maxRingSize !== undefined;
      const out: BalancerSpec = {
        type: 'ring_hash',
        minRingSize: raw?.minRingSize ?? DEFAULTS.minRingSize,
        maxRingSize: raw?.maxRingSize ?? DEFAULTS.maxRingSize,
        ring: raw?.ring ?? (sized ? 'fixed' : DEFAULTS.ringSizing),
      };
      if (raw?.pointsPerHost !== undefined) out.pointsPerHost = raw.pointsPerHost;
      if (raw?.hashBalanceFactor !== undefined) out.hashBalanceFactor = raw.hashBalanceFactor;
      return out;
    }
    case 'maglev': {
      const out: BalancerSpec = { type: 'maglev', tableSize: raw?.tableSize ?? DEFAULTS.tableSize };
      if (raw?.hashBalanceFactor !== undefined) out.hashBalanceFactor = raw.hashBalanceFactor;
      return out;
    }
    case 'least_request':
      return { type: 'least_request', choiceCount: raw?.choiceCount ?? DEFAULTS.choiceCount };
    case 'random':
      return { type: 'random' };
    case 'round_robin':
      return { type: 'round_robin' };
  }
}

export function backend(raw: RawBackend, sticky: boolean): BackendSpec {
  const out: BackendSpec = {
    name: raw.name,
    endpoints: raw.endpoints.map((e) => ({
      host: e.address.host,
      port: e.address.port,
      weight: e.weight ?? DEFAULTS.endpointWeight,
      drain: e.drain ?? DEFAULTS.endpointDrain,
      ...(e.hashKey !== undefined ? { hashKey: e.hashKey } : {}),
      ...(e.grpcPort !== undefined ? { grpcPort: e.grpcPort } : {}),
      ...(e.zone !== undefined ? { zone: e.zone } : {}),
      ...(e.priority !== undefined && e.priority > 0 ? { priority: e.priority } : {}),
    })),
    balancer: balancer(raw.balancer, sticky),
    connectTimeoutMs: raw.connectTimeout ?? DEFAULTS.connectTimeoutMs,
    protocol: raw.protocol ?? DEFAULTS.protocol,
  };
  // Left out when absent, so configs without them keep their exact model (and content hash).
  if (raw.healthCheck !== undefined) out.healthCheck = healthCheckSpec(raw.healthCheck);
  if (raw.outlierDetection !== undefined) out.outlierDetection = outlierDetectionSpec(raw.outlierDetection);
  if (raw.circuitBreakers !== undefined) out.circuitBreakers = circuitBreakersSpec(raw.circuitBreakers);
  if (raw.slowStart !== undefined) out.slowStart = slowStartSpec(raw.slowStart);
  if (raw.tls !== undefined) out.tls = upstreamTlsSpec(raw.tls);
  if (raw.panicThreshold !== undefined) out.panicThresholdPercent = raw.panicThreshold;
  if (raw.overprovisioningFactor !== undefined) out.overprovisioningFactor = raw.overprovisioningFactor;
  return out;
}

export function listener(l: RawListener): ListenerSpec {
  const d = LISTENER_DEFAULTS;
  const out: ListenerSpec = {
    name: l.name,
    address: l.address ?? DEFAULTS.listenerAddress,
    port: l.port,
    clientAddress: { trustedHops: l.clientAddress?.trustedHops ?? d.trustedHops },
    limits: {
      connectionBufferBytes: l.limits?.connectionBufferBytes ?? d.connectionBufferBytes,
      maxHeaders: l.limits?.maxHeaders ?? d.maxHeaders,
      maxRequestHeadersKb: l.limits?.maxRequestHeadersKb ?? d.maxRequestHeadersKb,
    },
    timeouts: {
      idleMs: l.timeouts?.idle ?? d.idleMs,
      streamIdleMs: l.timeouts?.streamIdle ?? d.streamIdleMs,
      requestMs: l.timeouts?.request ?? d.requestMs,
      requestHeadersMs: l.timeouts?.requestHeaders ?? d.requestHeadersMs,
    },
    accessLog:
      l.accessLog === false
        ? false
        : { format: l.accessLog?.format ?? d.accessLogFormat, ...(l.accessLog?.path !== undefined ? { path: l.accessLog.path } : {}) },
  };
  if (l.tls !== undefined) out.tls = { certificateFile: l.tls.certificate, privateKeyFile: l.tls.privateKey };
  return out;
}

