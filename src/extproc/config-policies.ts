/**
 * Policies read from Tether's served config: a service's `affinity.sessionKey` is its policy.
 * The lookup reads the config anew on every stream (`currentConfig()`), so an edit through the
 * admin API, the config file or a rollback takes effect on the next request, without restart.
 */
import type { Logger } from 'pino';
import type { TetherConfig } from '../model/types';
import { checkPolicy, loadPolicyFiles } from './policy';
import type { SessionKeyPolicy } from '../model/session-key-policy';
import { secretStore } from '../util/secret-files';
import type { PolicyLookup } from './service';

interface Index {
  byService: Map<string, SessionKeyPolicy>;
  /** Exact (non-wildcard) domains, for streams without the x-tether-service metadata. */
  byDomain: Map<string, SessionKeyPolicy>;
}

function index(config: TetherConfig): Index {
  const byService = new Map<string, SessionKeyPolicy>();
  const byDomain = new Map<string, SessionKeyPolicy>();
  for (const service of config.services) {
    const policy = service.affinity?.sessionKey;
    if (!policy) continue;
    byService.set(service.name, policy);
    for (const domain of service.domains) {
      const key = domain.toLowerCase();
      if (!key.includes('*') && !byDomain.has(key)) byDomain.set(key, policy);
    }
  }
  return { byService, byDomain };
}

function withoutPort(authority: string): string {
  const colon = authority.lastIndexOf(':');
  return colon > 0 && !authority.endsWith(']') && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}

/**
 * A lookup for createExtProcService/startExtProcServer: the `x-tether-service` metadata Tether's
 * routes send names the service; without it, the request's :authority is matched against the
 * services' exact domains. The returned policy objects are the config's own (frozen, one per
 * version), so the server compiles each once per config version.
 */
export function policiesFromConfig(currentConfig: () => TetherConfig): PolicyLookup {
  let indexed: { config: TetherConfig; index: Index } | undefined;
  return (info) => {
    const config = currentConfig();
    if (indexed?.config !== config) indexed = { config, index: index(config) };
    const { byService, byDomain } = indexed.index;
    if (info.service !== undefined) return byService.get(info.service);
    if (info.authority === undefined) return undefined;
    const authority = info.authority.toLowerCase();
    return byDomain.get(authority) ?? byDomain.get(withoutPort(authority));
  };
}

/**
 * Reads the key files of every session key policy in a config (asynchronously; never throws).
 * Tether calls it before publishing a version, so a new or rotated key file is in memory
 * before the first request uses it; a file that cannot be read keeps the keys loaded earlier.
 */
export async function loadConfigKeyFiles(config: TetherConfig, logger?: Logger): Promise<void> {
  if (logger) secretStore.useLogger(logger);
  const loads: Promise<void>[] = [];
  for (const service of config.services) {
    const compiled = service.affinity?.sessionKey ? checkPolicy(service.affinity.sessionKey).policy : undefined;
    if (compiled) loads.push(loadPolicyFiles(compiled));
  }
  await Promise.all(loads);
}
