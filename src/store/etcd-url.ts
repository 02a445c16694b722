/**
 * `--store etcd://host:port[,host:port…]/prefix` (`etcds://` for TLS), parsed without loading
 * the etcd client (the CLI stays quick to start).
 */
export interface EtcdTarget {
  /** `host:port` of each member (the client fails over between them). */
  endpoints: string[];
  /** Key prefix every Tether key lives under, ending in '/'. Several Tether clusters can share one etcd. */
  prefix: string;
  tls: boolean;
}

const URL_RE = /^(etcds?):\/\/([^/]+)(\/.*)?$/;

/** True when `--store` names etcd rather than a directory. */
export function isEtcdUrl(value: string): boolean {
  return /^etcds?:\/\//.test(value);
}

/** Parses `etcd://h1:2379,h2:2379/tether` ; throws an Error naming what is wrong. */
export function parseEtcdUrl(value: string): EtcdTarget {
  const m = URL_RE.exec(value);
  if (!m) throw new Error(`--store ${JSON.stringify(value)}: expected etcd://host:port[,host:port…]/prefix`);
  const endpoints = m[2]!.split(',').map((e) => e.trim());
  for (const e of endpoints) {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(e);
    if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) throw new Error(`--store ${JSON.stringify(value)}: ${JSON.stringify(e)} is not host:port`);
  }
  let prefix = (m[3] ?? '/tether').replace(/^\/+/, '');
  if (prefix === '') prefix = 'tether';
  if (!prefix.endsWith('/')) prefix += '/';
  return { endpoints, prefix, tls: m[1] === 'etcds' };
}

export function describeTarget(target: EtcdTarget): string {
  return `${target.tls ? 'etcds' : 'etcd'}://${target.endpoints.join(',')}/${target.prefix.replace(/\/$/, '')}`;
}

