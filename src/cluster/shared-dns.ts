/**
 * DNS answers every instance agrees on. Each instance would resolve endpoint names on its own and
 * could get different answers (resolvers, timing, round-robin DNS), serving the same version with
 * different EDS bytes. Instead only the elected instance asks DNS, and writes each name's answer
 * to `<prefix>dns/<name>`; every instance (the leader too) serves what etcd holds. The publisher
 * sees them through an ordinary lookup function, re-read often (it is a memory read).
 */
import type { Namespace, Watcher } from 'etcd3';
import type { Logger } from '../log';
import { normalizeAddresses, systemLookup, type LookupFn } from '../resolve/resolver';

const DNS = 'dns/';

export interface SharedDns {
  /** The lookup the publisher uses on every instance. */
  readonly lookup: LookupFn;
  /** Leader only: re-resolves every name in use and writes changed answers. */
  refresh(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface SharedDnsOptions {
  namespace: Namespace;
  isLeader: () => boolean;
  /** The real lookup (default getaddrinfo); only the leader calls it. */
  lookup?: LookupFn;
  /** How long a follower waits for the leader's first answer for a new name. Default 3000 ms. */
  waitMs?: number;
  logger: Logger;
}

export async function startSharedDns(options: SharedDnsOptions): Promise<SharedDns> {
  const { namespace } = options;
  const log = options.logger.child({ component: 'shared-dns' });
  const real = options.lookup ?? systemLookup;
  const waitMs = options.waitMs ?? 3000;
  const answers = new Map<string, string[]>();
  const waiting = new Map<string, Set<() => void>>();

  const set = (name: string, value: string | undefined) => {
    if (value === undefined) answers.delete(name);
    else {
      try {
        answers.set(name, JSON.parse(value) as string[]);
      } catch {
        return;
      }
      for (const wake of waiting.get(name) ?? []) wake();
      waiting.delete(name);
    }
  };
  const existing = await namespace.getAll().prefix(DNS).strings();
  for (const [k, v] of Object.entries(existing)) set(k.slice(DNS.length), v);
  const watcher: Watcher = await namespace.watch().prefix(DNS).create();
  watcher.on('put', (kv) => set(kv.key.toString().slice(DNS.length), kv.value.toString()));
  watcher.on('delete', (kv) => set(kv.key.toString().slice(DNS.length), undefined));

  /** The leader's own lookup: ask DNS, publish the answer (only when it changed). */
  const resolveAndWrite = async (name: string): Promise<string[]> => {
    const addresses = normalizeAddresses(await real(name));
    const text = JSON.stringify(addresses);
    if (JSON.stringify(answers.get(name)) !== text) {
      await namespace.put(`${DNS}${name}`).value(text);
      answers.set(name, addresses);
      log.info({ name, addresses }, 'resolved for every instance');
    }
    return addresses;
  };

  const lookup: LookupFn = async (name) => {
    const known = answers.get(name);
    if (known) return known;
    if (options.isLeader()) return resolveAndWrite(name);
    // A name new to the config: the leader resolves it as it serves the same version.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        waiting.get(name)?.delete(done);
        resolve();
      }
      const set = waiting.get(name) ?? new Set();
      set.add(done);
      waiting.set(name, set);
    });
    const answer = answers.get(name);
    if (!answer) throw new Error(`no answer from the leader for ${name} yet (it resolves names for every instance)`);
    return answer;
  };

  return {
    lookup,
    async refresh(names) {
      for (const name of names) await resolveAndWrite(name).catch((err: unknown) => log.warn({ name, err: (err as Error).message }, 'DNS lookup failed; keeping the last answer'));
    },
    async close() {
      await watcher.cancel().catch(() => undefined);
      for (const wakers of waiting.values()) for (const wake of wakers) wake();
    },
  };
}
