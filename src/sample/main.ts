import { Command, CommanderError, InvalidArgumentError } from 'commander';
import pino, { type Logger } from 'pino';
import type { Replica } from './replica';
import { createAdminClient, resolveConnection } from '../cli/admin-client';
import { durationArg, wholeSecondsArg } from '../cli/args';
import { type Registration, startRegistration } from '../cli/endpoint-registration';

export interface SampleCliOptions {
  /** Stops the replica like SIGINT/SIGTERM would (tests, embedding). */
  stop?: AbortSignal;
  /** Called once the replica listens. */
  onReady?: (replica: Replica) => void;
  /** Default: pino JSON on stdout at --log-level. */
  logger?: Logger;
}

function intOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

function coldDelayArg(value: string): number {
  const ms = durationArg(value);
  if (ms > 3_600_000) throw new InvalidArgumentError('must be at most 1h');
  return ms;
}

/**
 * The `sample` command: runs one replica until SIGINT/SIGTERM (or `opts.stop`), then stops it
 * cleanly. The main `tether` CLI can mount it with `program.addCommand(createSampleCommand(...))`.
 */
export function createSampleCommand(opts: SampleCliOptions = {}): Command {
  return new Command('sample')
    .description('run a sample replica: HTTP + gRPC, slow first request per user, fast after; SIGUSR2 flips its health checks (/healthz, grpc.health.v1) between serving and not')
    .requiredOption('--id <id>', 'replica id shown in replies and the x-replica header')
    .option('--version <label>', 'version label', 'v1')
    .option('--host <address>', 'listen address (0.0.0.0 in containers)', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port (0 = any free port)', intOption(0, 65_535), 8081)
    .option('--grpc-port <port>', 'gRPC port (0 = any free port)', intOption(0, 65_535), 9081)
    .option('--cold-delay <duration>', "delay of a user's first request, e.g. 200ms (at most 1h)", coldDelayArg, 200)
    .option('--cache-size <users>', 'warm users kept (LRU)', intOption(1, 10_000_000), 100_000)
    .option('--log-level <level>', 'pino log level', process.env.TETHER_LOG_LEVEL ?? 'info')
    .option('--register-backend <name>', "register in this Tether backend on start; drain and deregister on SIGTERM/SIGINT")
    .option('--admin <host:port>', 'Tether admin API for --register-backend [env TETHER_ADMIN_ADDR] (default: 127.0.0.1:18001)')
    .option('--admin-token <token>', 'admin bearer token [env TETHER_ADMIN_TOKEN] (default: ./.tether/admin-token if present)')
    .option('--admin-token-file <file>', 'read the admin bearer token from a file')
    .option('--admin-tls-ca <file>', 'reach the admin API over TLS, trusting this CA (PEM)')
    .option('--advertise <host:port>', 'address to register (default: the HTTP listen address, or gRPC with --register-grpc)')
    .option('--register-grpc', 'register the gRPC port as the address (default: the HTTP port, with the gRPC port as grpcPort)')
    .option('--register-weight <n>', 'endpoint weight (default 1)', intOption(1, 4_294_967_295))
    .option('--drain-grace <duration>', 'time between draining and deregistering on shutdown', durationArg, 1_000)
    .option('--register-ttl <duration>', 'several Tether instances on etcd: keep the registration alive on a lease this long (e.g. 10s, whole seconds, 2s–1h), so the endpoint leaves if this process dies', wholeSecondsArg(2, 3600))
    .action(async (o: { id: string; version: string; host: string; httpPort: number; grpcPort: number; coldDelay: number; cacheSize: number; logLevel: string } & RegisterFlags) => {
      const logger = opts.logger ?? pino({ name: 'tether-sample', level: o.logLevel, timestamp: pino.stdTimeFunctions.isoTime });
      // Imported here: every `tether` command registers this one, and the replica's servers and
      // protos (~0.15 s to load) would otherwise delay `tether serve`'s start too.
      const { startReplica } = await import('./replica');
      const replica = await startReplica({
        id: o.id,
        version: o.version,
        host: o.host,
        httpPort: o.httpPort,
        grpcPort: o.grpcPort,
        coldDelayMs: o.coldDelay,
        cacheCapacity: o.cacheSize,
        logger,
      });
      opts.onReady?.(replica);
      // SIGUSR2 flips what the health checks answer (/healthz, grpc.health.v1): a replica
      // failing its checks while it still serves, for trying out a proxy's health checking.
      const toggleHealth = () => replica.setServing(!replica.serving);
      process.on('SIGUSR2', toggleHealth);
      const registration = o.registerBackend ? register(o, replica, logger) : undefined;
      const releaseSignals = await waitForStop(opts.stop, logger);
      try {
        // Drain and deregister while still serving, so in-flight and late requests succeed.
        await registration?.deregister();
        await replica.close();
      } finally {
        process.off('SIGUSR2', toggleHealth);
        releaseSignals();
      }
    });
}

interface RegisterFlags {
  registerBackend?: string;
  admin?: string;
  adminToken?: string;
  adminTokenFile?: string;
  adminTlsCa?: string;
  advertise?: string;
  registerGrpc?: boolean;
  registerWeight?: number;
  registerTtl?: number;
  drainGrace: number;
}

/** Self-registration (--register-backend); any failure is logged, never fatal to the replica. */
function register(o: RegisterFlags, replica: Replica, logger: Logger): Registration | undefined {
  // replica.address is the reachable gRPC `host:port` (a wildcard listen host becomes loopback).
  const host = replica.address.slice(0, replica.address.lastIndexOf(':'));
  const address = o.advertise ?? `${host}:${o.registerGrpc ? replica.grpcPort : replica.httpPort}`;
  try {
    const client = createAdminClient({
      ...resolveConnection({ server: o.admin, token: o.adminToken, tokenFile: o.adminTokenFile, tlsCa: o.adminTlsCa }),
      deadlineMs: 3_000,
    });
    return startRegistration({
      client,
      backend: o.registerBackend!,
      address,
      logger,
      drainGraceMs: o.drainGrace,
      ...(o.registerTtl !== undefined ? { leaseTtlSeconds: o.registerTtl } : {}),
      ...(o.registerWeight !== undefined ? { weight: o.registerWeight } : {}),
      // Registered by its HTTP port (for Envoy), a replica tells gRPC clients its gRPC port.
      ...(o.registerGrpc ? {} : { grpcPort: replica.grpcPort }),
    });
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'cannot set up endpoint registration; serving unregistered');
    return undefined;
  }
}

/**
 * Resolves on the first SIGINT/SIGTERM or abort of `stop`, with a function to call once
 * shutdown is over: until then a second signal exits at once.
 */
function waitForStop(stop: AbortSignal | undefined, logger: Logger): Promise<() => void> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const forceExit = () => process.exit(130);
  const releaseForce = () => {
    for (const s of signals) process.off(s, forceExit);
  };
  return new Promise((resolve) => {
    const done = (reason: string) => {
      for (const s of signals) process.off(s, onSignal);
      stop?.removeEventListener('abort', onAbort);
      logger.info({ reason }, 'stopping sample replica');
      for (const s of signals) process.once(s, forceExit);
      resolve(releaseForce);
    };
    const onSignal = (signal: NodeJS.Signals) => done(signal);
    const onAbort = () => done('stop requested');
    for (const s of signals) process.once(s, onSignal);
    if (stop?.aborted) return done('stop requested');
    stop?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Parses `argv` (the arguments only, e.g. `process.argv.slice(2)`), runs the replica, and
 * resolves once it has stopped. Rejects on bad arguments (a CommanderError) or a failed start.
 */
export async function runSampleCli(argv: readonly string[], opts: SampleCliOptions = {}): Promise<void> {
  const command = createSampleCommand(opts).exitOverride();
  await command.parseAsync([...argv], { from: 'user' });
}

if (require.main === module) {
  runSampleCli(process.argv.slice(2)).catch((err: unknown) => {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`sample replica failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
