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
  const read = (flag: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const tlsFiles = tls
    ? {
        rootCertificate: options.caFile ? read('--etcd-cacert', options.caFile) : (undefined as unknown as Buffer),
        ...(options.certFile ? { certChain: read('--etcd-cert', options.certFile), privateKey: read('--etcd-key', options.keyFile!) } : {}),
      }
    : undefined;
  return new Etcd3({
    hosts: target.endpoints.map((e) => `${tls ? 'https' : 'http'}://${e}`),
    ...(tlsFiles ? { credentials: tlsFiles } : {}),
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

/**
 * An etcd client error as an operator can act on it: grpc-js reports a failed TLS handshake as
 * UNAVAILABLE with OpenSSL's words ("unable to verify the first certificate", "alert bad
 * certificate"); say which side refused and which flag to check.
 */
export function explainEtcdError(message: string, tls = false): string {
  const text = message.replace(/\s*Resolution note:\s*$/, '');
  if (/unable to verify|unable to get (local )?issuer|self[- ]signed certificate|certificate has expired|certificate is not yet valid|ERR_TLS_CERT|does not match certificate|altnames/i.test(text)) {
    return `${text} (TLS: the etcd member's certificate is not trusted: check --etcd-cacert, the CA that signed the members' certificates, and that they name the host in --store)`;
  }
  if (/alert (bad|unknown|unsupported|expired|revoked) certificate|alert unknown ca|certificate required|alert number (42|43|44|45|46|48|116)\b|handshake failure/i.test(text)) {
    return `${text} (TLS: the etcd member refused this client's certificate or its absence: with etcd's --client-cert-auth, give --etcd-cert and --etcd-key signed by a CA in its --trusted-ca-file)`;
  }
  if (/wrong version number|packet length too long|unknown protocol|disconnected before secure TLS connection/i.test(text)) {
    return `${text} (TLS: the etcd member did not answer TLS: if it serves plain http, use etcd:// without --etcd-cacert/--etcd-cert)`;
  }
  // A plain-http member may also just reset a TLS client hello (seen under load instead of
  // OpenSSL's "wrong version number"): no connection was ever set up, so say what is likely.
  if (tls && /No connection established/i.test(text) && /ECONNRESET/.test(text)) {
    return `${text} (TLS: the etcd member did not answer TLS: it reset the connection before a TLS session was set up; if it serves plain http, use etcd:// without --etcd-cacert/--etcd-cert)`;
  }
  return text;
}
