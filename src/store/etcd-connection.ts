/**
 * Where an etcd-backed store lives and how to reach it: `etcd://host:port[,host:port…]/prefix`
 * (`etcds://` for TLS), with the TLS and auth options etcdctl users know (--cacert, --cert,
 * --key, --user). The client is etcd3 (Microsoft's etcd v3 client over @grpc/grpc-js).
 */
import * as fs from 'node:fs';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { EtcdTarget } from './etcd-url';

export { describeTarget, isEtcdUrl, parseEtcdUrl, type EtcdTarget } from './etcd-url';

export interface EtcdConnectionOptions {
  target: EtcdTarget;
  /** CA bundle for the members' certificates (implies TLS). */
  caFile?: string;
  /** Client certificate and key (etcd's --client-cert-auth). */
  certFile?: string;
  keyFile?: string;
  /** `user:password` (etcd's auth), or a user whose password is in `password`. */
  user?: string;
  password?: string;
  /** Deadline of each unary etcd call, ms. Default 3000. */
  callTimeoutMs?: number;
}

/**
 * A client whose calls fail fast enough for an operator to see why: each unary call has a
 * deadline, a member that failed three times in a row is skipped for a second, and a call is
 * retried twice on another member. Watches reconnect on their own (capped backoff).
 */
export function connectEtcd(options: EtcdConnectionOptions): Etcd3 {
  const { target } = options;
  const tls = target.tls || options.caFile !== undefined || options.certFile !== undefined;
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) throw new Error('--etcd-cert and --etcd-key go together');
  const callTimeoutMs = options.callTimeoutMs ?? 3000;
  let auth: { username: string; password: string } | undefined;
  if (options.user !== undefined) {
    const cut = options.user.indexOf(':');
    const username = cut >= 0 ? options.user.slice(0, cut) : options.user;
    const password = cut >= 0 ? options.user.slice(cut + 1) : options.password;
    if (!username || password === undefined) throw new Error('--etcd-user needs user:password (or the password in TETHER_ETCD_PASSWORD)');
    auth = { username, password };
  }
  return new Etcd3({
    hosts: target.endpoints.map((e) => `${tls ? 'https' : 'http'}://${e}`),
    ...(tls
      ? {
          credentials: {
            rootCertificate: options.caFile ? fs.readFileSync(options.caFile) : (undefined as unknown as Buffer),
            ...(options.certFile ? { certChain: fs.readFileSync(options.certFile), privateKey: fs.readFileSync(options.keyFile!) } : {}),
          },
        }
      : {}),
    ...(auth ? { auth } : {}),
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: { 'grpc.keepalive_time_ms': 5000, 'grpc.keepalive_timeout_ms': Math.max(1000, callTimeoutMs), 'grpc.keepalive_permit_without_calls': 1 },
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
      // etcd3's own default is this class (max 30 s); its typings ask for a started backoff.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as IBackoff<unknown>,
    },
  });
}
