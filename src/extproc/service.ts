/**
 * The gRPC side: envoy.service.ext_proc.v3.ExternalProcessor/Process over grpc-js, the
 * per-stream policy lookup, and a standalone server.
 *
 * Which policy a stream uses: Envoy opens one ext_proc stream per HTTP request, and the control
 * plane configures the filter per route with `ExtProcPerRoute.overrides.grpc_initial_metadata`
 * = [{key: "x-tether-service", value: <service>}], which arrives as gRPC metadata on that
 * stream. (`ExtProcOverrides.request_attributes` is not implemented by Envoy, and route
 * metadata is not forwarded, so initial metadata is the per-route channel that works.) Without
 * it, the request's :authority (then host without port) selects the policy.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { EXT_PROC_SERVICE_NAME, extProcServiceDefinition, preloadExtProcTypes, type ProcessingRequestIn, type ProcessingResponse } from './codec';
import { checkPolicy, loadPolicyFiles, PolicyError, type CompiledPolicy, type PolicyIssue } from './policy';
import type { SessionKeyPolicy } from '../model/session-key-policy';
import { emptyStats, ExtProcStream, type ExtProcStats, type ResolvedPolicy } from './processor';
import type { RequestView } from './request-view';
import { secretStore } from '../util/secret-files';

/** The gRPC metadata key naming the Tether service whose policy applies. */
export const SERVICE_METADATA_KEY = 'x-tether-service';

/** What a lookup function sees about a stream, at its request_headers message. */
export interface PolicyLookupInfo {
  /** The `x-tether-service` initial metadata of the ext_proc stream, if any. */
  service: string | undefined;
  /** The request's :authority (or host). */
  authority: string | undefined;
  /** The request's :path, query string included. */
  path: string | undefined;
  /** Envoy's `xds.route_name` attribute, when the filter's request_attributes asks for it. */
  routeName: string | undefined;
  /** All string request attributes Envoy sent (`request.path`, `xds.route_name`…). */
  attributes: Readonly<Record<string, string>>;
  /** The ext_proc stream's gRPC metadata. */
  metadata: grpc.Metadata;
}

export type PolicyLookup = (info: PolicyLookupInfo) => SessionKeyPolicy | undefined;

export interface ExtProcServiceOptions {
  /**
   * Policies by name, matched against the `x-tether-service` stream metadata, then the
   * request's :authority (as sent, then without its port). Or a function deciding per stream.
   * A Map is validated up front (PolicyError lists every problem); a policy returned by the
   * function is validated and compiled on first use, cached by object identity (return the
   * same object for the same service, or it is recompiled per request), and if invalid,
   * logged once and ignored.
   */
  services: ReadonlyMap<string, SessionKeyPolicy> | PolicyLookup;
  /** Logs decisions at debug (key source and a short hash, never the key), problems at warn/error. */
  logger: Logger;
  /** Clock for JWT exp/nbf, in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Told how long each message took and how each stream ended (metrics). Must not throw. */
  observer?: ExtProcObserver;
}

/** How an ext_proc stream ended: Envoy closed it, reset it (timeout, client gone), or it failed. */
export type ExtProcStreamOutcome = 'ok' | 'cancelled' | 'error';

export interface ExtProcObserver {
  /** `phase`: request_headers, request_body or response_headers; `seconds`: time to the answer. */
  messageHandled(phase: string, seconds: number): void;
  streamEnded(outcome: ExtProcStreamOutcome): void;
}

/** The message kind of a request, for timing. */
function phaseOf(request: ProcessingRequestIn): string | undefined {
  if (request.request_headers) return 'request_headers';
  if (request.request_body) return 'request_body';
  if (request.response_headers) return 'response_headers';
  return undefined;
}

export interface ExtProcService {
  /** Hand-made service definition; add with `server.addService(definition, implementation)`. */
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Open streams (one per in-flight HTTP request). */
  readonly streamCount: number;
  /** Counters since creation (a copy). */
  stats(): ExtProcStats;
  /** Settles when the key files of the policies compiled so far have been read (or failed to). */
  keyFilesLoaded(): Promise<void>;
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequestIn, ProcessingResponse>;

function withoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(0, end + 1) : authority;
  }
  const colon = authority.lastIndexOf(':');
  return colon > 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}

function compileMap(services: ReadonlyMap<string, SessionKeyPolicy>): Map<string, CompiledPolicy> {
  const compiled = new Map<string, CompiledPolicy>();
  const issues: PolicyIssue[] = [];
  for (const [name, policy] of services) {
    const result = checkPolicy(policy);
    if (result.policy) compiled.set(name, result.policy);
    else issues.push(...result.issues.map((i) => ({ path: `services[${JSON.stringify(name)}]${i.path ? `.${i.path}` : ''}`, message: i.message })));
  }
  if (issues.length > 0) throw new PolicyError(issues);
  return compiled;
}

export function createExtProcService(options: ExtProcServiceOptions): ExtProcService {
  preloadExtProcTypes();
  const logger = options.logger.child({ component: 'extproc' });
  const now = options.now ?? Date.now;
  const stats = emptyStats();
  let open = 0;
  secretStore.useLogger(logger);
  const loads: Promise<void>[] = [];

  let resolveFor: (metadata: grpc.Metadata, service: string | undefined) => (view: RequestView, attributes: Record<string, string>) => ResolvedPolicy | undefined;
  const { services } = options;
  if (typeof services === 'function') {
    const cache = new WeakMap<SessionKeyPolicy, CompiledPolicy | null>();
    resolveFor = (metadata, service) => (view, attributes) => {
      const policy = services({ service, authority: view.authority, path: view.path, routeName: attributes['xds.route_name'], attributes, metadata });
      if (!policy) return undefined;
      let compiled = cache.get(policy);
      if (compiled === undefined) {
        const result = checkPolicy(policy);
        compiled = result.policy ?? null;
        cache.set(policy, compiled);
        if (!result.policy) logger.warn({ service, issues: result.issues }, 'ext_proc: invalid session key policy ignored');
        else void loadPolicyFiles(result.policy);
      }
      return compiled ? { policy: compiled, service: service ?? view.authority ?? '' } : undefined;
    };
  } else {
    const compiled = compileMap(services);
    for (const policy of compiled.values()) loads.push(loadPolicyFiles(policy));
    resolveFor = (_metadata, service) => (view) => {
      if (service !== undefined) {
        const policy = compiled.get(service);
        if (policy) return { policy, service };
      }
      const authority = view.authority;
      if (authority === undefined) return undefined;
      const policy = compiled.get(authority) ?? compiled.get(withoutPort(authority));
      return policy ? { policy, service: authority } : undefined;
    };
  }

  const processStream = (call: ProcessCall): void => {
    open++;
    stats.streams++;
    const named = call.metadata.get(SERVICE_METADATA_KEY)[0];
    const service = typeof named === 'string' && named !== '' ? named : undefined;
    const stream = new ExtProcStream({ resolve: resolveFor(call.metadata, service), logger, stats, now });
    let closed = false;
    const observer = options.observer;
    const finish = (outcome: ExtProcStreamOutcome): void => {
      if (closed) return;
      closed = true;
      open--;
      observer?.streamEnded(outcome);
    };
    call.on('data', (request: ProcessingRequestIn) => {
      const started = observer ? performance.now() : 0;
      const response = stream.handle(request);
      if (response && !call.cancelled && !closed) call.write(response);
      const phase = observer && response ? phaseOf(request) : undefined;
      if (phase) observer!.messageHandled(phase, (performance.now() - started) / 1000);
    });
    // Envoy half-closes when the HTTP request is done: finish with OK. A reset (Envoy's
    // message_timeout, a client gone) also arrives as the end of the request stream, followed by
    // the stream's close: answering one turn later lets that close mark the call cancelled first.
    call.on('end', () => {
      setImmediate(() => {
        if (call.cancelled) return finish('cancelled');
        finish('ok');
        call.end();
      });
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', () => finish('error'));
    call.on('close', () => finish(call.cancelled ? 'cancelled' : 'ok'));
  };

  return {
    definition: extProcServiceDefinition(),
    implementation: { Process: processStream as grpc.handleBidiStreamingCall<unknown, unknown> },
    get streamCount() {
      return open;
    },
    stats: () => ({ ...stats, keysBySource: { ...stats.keysBySource } }),
    keyFilesLoaded: () => Promise.all(loads).then(() => undefined),
  };
}

export interface ExtProcServerOptions extends ExtProcServiceOptions {
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 18080; 0 picks a free port. */
  port?: number;
  /** Default insecure (Envoy's ext_proc cluster usually runs on the same host or mesh). */
  credentials?: grpc.ServerCredentials;
  /** Extra grpc-js server options. */
  serverOptions?: grpc.ServerOptions;
}

export interface ExtProcServer {
  readonly server: grpc.Server;
  readonly service: ExtProcService;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting streams, lets open ones finish for up to `graceMs` (default 5000), then cuts them. */
  close(graceMs?: number): Promise<void>;
}

/** Starts a standalone ext_proc server. */
export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const service = createExtProcService(options);
  await service.keyFilesLoaded();
  const server = new grpc.Server({
    // Envoy keeps one HTTP/2 connection with many short streams and may ping on idle.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    ...options.serverOptions,
  });
  server.addService(service.definition, service.implementation);
  // grpc.health.v1 for probes and Envoy's gRPC health checks: '' and the service, SERVING once bound.
  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  const host = options.host ?? '0.0.0.0';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${options.port ?? 18080}` : `${host}:${options.port ?? 18080}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  health.setStatus('', 'SERVING');
  health.setStatus(EXT_PROC_SERVICE_NAME, 'SERVING');
  options.logger.child({ component: 'extproc' }).info({ address: `${host}:${port}` }, 'ext_proc server listening');
  return {
    server,
    service,
    port,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(EXT_PROC_SERVICE_NAME, 'NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
