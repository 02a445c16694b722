import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import pino, { type Logger } from 'pino';
import { addSampleService, SAMPLE_SERVICE_NAME } from './grpc-server';
import { createHttpHandler } from './http-server';
import { type ReplicaStats, SessionCore } from './session-core';

export interface ReplicaOptions {
  /** Shown in every reply and in the `x-replica` header, e.g. "replica-1". */
  id: string;
  /** Version label, e.g. "v1" or "v2". Default "v1". */
  version?: string;
  /** Address both servers listen on. Default 127.0.0.1; 0.0.0.0 in containers. */
  host?: string;
  /** HTTP port; 0 (the default) picks a free one. */
  httpPort?: number;
  /** gRPC port; 0 (the default) picks a free one. */
  grpcPort?: number;
  /** How long a user's first request takes (the cold path). Default 200 ms. */
  coldDelayMs?: number;
  /** Warm users kept before the least recently used is evicted. Default 100 000. */
  cacheCapacity?: number;
  logger?: Logger;
}

export interface Replica {
  readonly id: string;
  readonly version: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Where to reach the gRPC server: `host:port` (a wildcard host becomes loopback). */
  readonly address: string;
  stats(): ReplicaStats;
  /**
   * What its health checks answer: /healthz (200 or 503) and grpc.health.v1 (SERVING or
   * NOT_SERVING, for "" and the sample service). Requests are served either way, so a test
   * sees that a proxy stopped sending them because of the check, not because they fail.
   */
  setServing(serving: boolean): void;
  readonly serving: boolean;
  /** Stops both servers; requests still in their cold delay get 503 / UNAVAILABLE. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_COLD_DELAY_MS = 200;
const DEFAULT_CACHE_CAPACITY = 100_000;
const GRPC_SHUTDOWN_GRACE_MS = 2_000;

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be an integer in 0..65535, got ${port}`);
  return port;
}

/** `host:port` for a gRPC target or bind address (IPv6 bracketed). */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function listenHttp(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function bindGrpc(server: grpc.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(joinHostPort(host, port), grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

function shutdownGrpc(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, GRPC_SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function closeHttp(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts a sample replica: an HTTP and a gRPC server over one per-user session cache, so a
 * user's first request here is slow and later ones fast. Routing a user to another replica
 * shows up as a cold (slow) request; that is what sticky routing avoids.
 */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const id = options.id;
  if (typeof id !== 'string' || id === '') throw new Error('replica id must be a non-empty string');
  const version = options.version ?? 'v1';
  const host = options.host ?? '127.0.0.1';
  const coldDelayMs = options.coldDelayMs ?? DEFAULT_COLD_DELAY_MS;
  if (!Number.isFinite(coldDelayMs) || coldDelayMs < 0) throw new Error(`coldDelayMs must be >= 0, got ${coldDelayMs}`);
  const httpPortWanted = checkPort('httpPort', options.httpPort ?? 0);
  const grpcPortWanted = checkPort('grpcPort', options.grpcPort ?? 0);
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'sample', replica: id });

  const core = new SessionCore(coldDelayMs, options.cacheCapacity ?? DEFAULT_CACHE_CAPACITY);
  const health_ = { serving: true };
  const ctx = { id, version, core, logger, health: health_ };

  const httpServer = http.createServer(createHttpHandler(ctx));
  // Behind Envoy, which keeps upstream connections for an hour: with Node's 5 s default the
  // replica closes an idle connection just as Envoy reuses it, and that request gets a 503
  // ("connection termination"). A proxy's upstream should outlive its idle connections.
  httpServer.keepAliveTimeout = 75_000;
  httpServer.headersTimeout = 76_000;
  const grpcServer = new grpc.Server();
  addSampleService(grpcServer, ctx);
  const health = new HealthImplementation({ '': 'SERVING', [SAMPLE_SERVICE_NAME]: 'SERVING' });
  health.addToServer(grpcServer);

  let httpPort: number;
  let grpcPort: number;
  try {
    httpPort = await listenHttp(httpServer, httpPortWanted, host);
    grpcPort = await bindGrpc(grpcServer, grpcPortWanted, host);
  } catch (err) {
    core.close();
    grpcServer.forceShutdown();
    await closeHttp(httpServer);
    throw err;
  }
  const address = joinHostPort(reachableHost(host), grpcPort);
  logger.info({ version, host, httpPort, grpcPort, coldDelayMs }, 'sample replica listening');

  let closing: Promise<void> | undefined;
  return {
    id,
    version,
    httpPort,
    grpcPort,
    address,
    stats: () => core.stats(),
    get serving() {
      return health_.serving;
    },
    setServing(serving: boolean) {
      health_.serving = serving;
      for (const name of ['', SAMPLE_SERVICE_NAME]) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
      logger.info({ serving }, 'health checks now answer');
    },
    close() {
      closing ??= (async () => {
        core.close();
        // Let the requests just failed by core.close() write their 503 / UNAVAILABLE.
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all([closeHttp(httpServer), shutdownGrpc(grpcServer)]);
        logger.info({ stats: core.stats() }, 'sample replica stopped');
      })();
      return closing;
    },
  };
}
