/**
 * A replica's own membership in a backend: AddEndpoint on start (retried with capped
 * backoff while Tether is unreachable), and on shutdown DrainEndpoint, a short grace so
 * proxies stop sending new requests, then RemoveEndpoint. Failures are logged, never thrown:
 * the replica keeps serving whether or not Tether answers.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AdminClient } from './admin-client';
import { toCliError } from './errors';

export interface RegistrationOptions {
  client: AdminClient;
  backend: string;
  /** `host:port` proxies should send to. */
  address: string;
  /** AddEndpoint weight; 0 → the server's default (1). */
  weight?: number;
  /** The port gRPC clients reach the replica on, when `address` is not its gRPC address. */
  grpcPort?: number;
  logger: Logger;
  /** Time between drain and remove, ms. Default 1 s. */
  drainGraceMs?: number;
  /** Backoff of the start-up registration. */
  retry?: {
    /** First retry delay, ms (doubles each attempt). Default 200. */
    initialDelayMs?: number;
    /** Delay cap, ms. Default 5 s. */
    maxDelayMs?: number;
    /** Attempts before giving up (the replica keeps serving, unregistered). Default 20. */
    maxAttempts?: number;
  };
  /** Deadline of each admin call, ms. Default 3 s. */
  callDeadlineMs?: number;
  /**
   * Tie the registration to this process's liveness (several Tether instances on etcd):
   * KeepEndpointAlive instead of AddEndpoint, repeated every third of this TTL (s). If the
   * process dies, the endpoint leaves its backend within the TTL without anyone removing it.
   */
  leaseTtlSeconds?: number;
}

export interface Registration {
  /** Resolves true once registered, false when registration gave up or was stopped. */
  readonly registered: Promise<boolean>;
  /** Stops registering, then drains, waits the grace and removes. Bounded; never rejects. Idempotent. */
  deregister(): Promise<void>;
}

const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);
/** Shutdown calls get fewer tries: the replica is on its way out. */
const SHUTDOWN_ATTEMPTS = 2;
const SHUTDOWN_RETRY_DELAY_MS = 100;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function startRegistration(options: RegistrationOptions): Registration {
  const { client, backend, address } = options;
  const logger = options.logger.child({ component: 'registration', backend, address, admin: client.address });
  const initialDelay = options.retry?.initialDelayMs ?? 200;
  const maxDelay = options.retry?.maxDelayMs ?? 5_000;
  const maxAttempts = options.retry?.maxAttempts ?? 20;
  const deadlineMs = options.callDeadlineMs ?? 3_000;
  const request = { backend, address, weight: options.weight ?? 0, grpc_port: options.grpcPort ?? 0 };
  const stop = new AbortController();
  // True once an AddEndpoint may have reached the server (so shutdown must undo it).
  let maybeRegistered = false;

  const ttl = options.leaseTtlSeconds;
  let lease = '';
  const keepAlive = () => client.call('KeepEndpointAlive', { endpoint: request, ttl_seconds: ttl ?? 0, lease }, { deadlineMs, signal: stop.signal });
  /** Renews every third of the TTL; a failed call is retried soon, on whatever instance answers. */
  const renew = async () => {
    while (!stop.signal.aborted) {
      let delay = (ttl! * 1000) / 3;
      try {
        lease = (await keepAlive()).lease;
      } catch (err) {
        if (stop.signal.aborted) return;
        logger.warn({ err: toCliError(err, client.address).message }, 'endpoint keep-alive failed; retrying');
        delay = Math.min(delay, 300);
      }
      await sleep(delay, stop.signal);
    }
  };

  const registered = (async () => {
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      try {
        maybeRegistered = true;
        if (ttl !== undefined) {
          const res = await keepAlive();
          lease = res.lease;
          logger.info({ version: res.version, ttlSeconds: res.ttl_seconds }, 'registered endpoint on a lease');
          void renew();
          return true;
        }
        const res = await client.call('AddEndpoint', { options: { description: `self-registration of ${address}` }, ...request }, { deadlineMs, signal: stop.signal });
        logger.info({ version: res.version, changed: res.changed }, 'registered endpoint');
        return true;
      } catch (err) {
        const error = toCliError(err, client.address);
        if (stop.signal.aborted) return false;
        // A definite refusal means the endpoint was not added.
        if (error.code !== undefined && !RETRYABLE.has(error.code)) maybeRegistered = false;
        if (error.code === undefined || !RETRYABLE.has(error.code) || attempt >= maxAttempts) {
          logger.error({ err: error.message, code: error.codeName, attempts: attempt }, 'could not register endpoint; serving unregistered');
          return false;
        }
        const delay = Math.min(maxDelay, initialDelay * 2 ** (attempt - 1));
        logger.warn({ err: error.message, code: error.codeName, attempt, retryInMs: delay }, 'endpoint registration failed; retrying');
        await sleep(delay, stop.signal);
      }
    }
    return false;
  })();

  const shutdownCall = async (method: 'DrainEndpoint' | 'RemoveEndpoint'): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await client.call(method, { options: { description: `shutdown of ${address}` }, backend, address }, { deadlineMs });
        logger.info({ version: res.version, changed: res.changed }, method === 'DrainEndpoint' ? 'endpoint draining' : 'endpoint removed');
        return true;
      } catch (err) {
        const error = toCliError(err, client.address);
        if (error.code === undefined || !RETRYABLE.has(error.code) || attempt >= SHUTDOWN_ATTEMPTS) {
          logger.warn({ err: error.message, code: error.codeName }, `${method} failed`);
          return false;
        }
        await sleep(SHUTDOWN_RETRY_DELAY_MS);
      }
    }
  };

  let deregistering: Promise<void> | undefined;
  const deregister = async () => {
    stop.abort();
    const done = await registered;
    if (done || maybeRegistered) {
      if (await shutdownCall('DrainEndpoint')) await sleep(options.drainGraceMs ?? 1_000);
      await shutdownCall('RemoveEndpoint');
    }
    client.close();
  };

  return {
    registered,
    deregister: () => (deregistering ??= deregister()),
  };
}
