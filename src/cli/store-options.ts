/**
 * The `--store` option and etcd's connection flags, shared by `tether serve` and
 * `tether store migrate`. Flag names follow etcdctl (--cacert, --cert, --key, --user).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { durationArg } from './args';
import type { EtcdConnectionOptions } from '../store/etcd-connection';
import { isEtcdUrl, parseEtcdUrl } from '../store/etcd-url';

export interface EtcdFlags {
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdTimeout?: number;
}

export function addEtcdOptions(command: Command): Command {
  const env = process.env;
  return command
    .option('--etcd-cacert <file>', 'CA bundle of the etcd members (TLS) [env TETHER_ETCD_CACERT]', env.TETHER_ETCD_CACERT)
    .option('--etcd-cert <file>', 'client certificate for etcd (--client-cert-auth) [env TETHER_ETCD_CERT]', env.TETHER_ETCD_CERT)
    .option('--etcd-key <file>', 'key of --etcd-cert [env TETHER_ETCD_KEY]', env.TETHER_ETCD_KEY)
    .option('--etcd-user <user[:password]>', 'etcd auth user; the password after ":" or in TETHER_ETCD_PASSWORD [env TETHER_ETCD_USER]', env.TETHER_ETCD_USER)
    .option('--etcd-timeout <duration>', 'deadline of each etcd call (e.g. 2s, at least 100ms); an edit fails with UNAVAILABLE after it', (v) => {
      const ms = durationArg(v);
      if (ms < 100) throw new InvalidArgumentError('must be at least 100ms');
      return ms;
    });
}

/** The etcd connection `--store` names, or undefined for a directory (the file store). */
export function etcdConnection(store: string | undefined, flags: EtcdFlags): EtcdConnectionOptions | undefined {
  if (store === undefined || !isEtcdUrl(store)) return undefined;
  return {
    target: parseEtcdUrl(store),
    ...(flags.etcdCacert ? { caFile: flags.etcdCacert } : {}),
    ...(flags.etcdCert ? { certFile: flags.etcdCert } : {}),
    ...(flags.etcdKey ? { keyFile: flags.etcdKey } : {}),
    ...(flags.etcdUser ? { user: flags.etcdUser } : {}),
    ...(process.env.TETHER_ETCD_PASSWORD !== undefined ? { password: process.env.TETHER_ETCD_PASSWORD } : {}),
    ...(flags.etcdTimeout !== undefined ? { callTimeoutMs: flags.etcdTimeout } : {}),
  };
}
