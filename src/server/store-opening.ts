/**
 * The config history Tether serves from: a file store in the data dir, or a history shared with
 * other instances in etcd. With etcd come the DNS answers only the elected instance asks for
 * (shared-dns.ts) and, once the xDS port is bound, the cluster membership (leader, node status,
 * lease registrations).
 */
import * as path from 'node:path';
import type { Leader } from '../cluster/cluster-leader';
import type { Membership } from '../cluster/membership';
import type { SharedDns } from '../cluster/shared-dns';
import type { ConfigManager } from '../control/config-manager';
import type { Logger } from '../log';
import type { EtcdStore } from '../store/etcd-store';
import { createFileStore } from '../store/file-store';
import type { ConfigStore } from '../store/types';
import type { NodeRegistry } from '../xds/node-status';
import type { StoreStatus } from '../admin/admin-service';
import { DEFAULT_DATA_DIR, type TetherOptions } from './tether-options';

export interface OpenedStore {
  store: ConfigStore;
  /** The same store when it is etcd's: what the cluster membership and GetStatus read. */
  etcdStore?: EtcdStore;
  sharedDns?: SharedDns;
  /** The DNS lookup to resolve with: the shared answers, else the options' own (else the system's). */
  lookup?: TetherOptions['lookup'];
  /** Which instance is elected to ask DNS; set once the cluster is joined. */
  setLeader(leader: Leader): void;
  close(): Promise<void>;
}

/*
 * The etcd client and the cluster modules are loaded only with an etcd history: imported where
 * used, they cost a file store's start nothing (etcd3 and its protos: ~0.13 s of a new process
 * before its first snapshot).
 */
async function etcdModules() {
  const [{ createEtcdStore }, { startSharedDns }, { joinCluster }] = await Promise.all([import('../store/etcd-store'), import('../cluster/shared-dns'), import('../cluster/membership')]);
  return { createEtcdStore, startSharedDns, joinCluster };
}

export async function openStore(options: TetherOptions, logger: Logger): Promise<OpenedStore> {
  if (options.startNewHistory && !options.configPath) throw new Error('starting a new config history needs a config file (--config FILE)');
  if (options.startNewHistory && options.etcd) throw new Error('--start-new-history is for a file store; an etcd history is repaired in etcd');
  const etcd = options.etcd ? await etcdModules() : undefined;
  const etcdStore = options.etcd && etcd
    ? await etcd.createEtcdStore({
        connection: options.etcd.connection,
        ...(options.historyLimit !== undefined ? { retain: options.historyLimit } : {}),
        ...(options.etcd.probeIntervalMs !== undefined ? { probeIntervalMs: options.etcd.probeIntervalMs } : {}),
        logger,
      })
    : undefined;
  // Several instances: only the elected one asks DNS; everyone serves its answers (shared-dns.ts).
  let leaderRef: Leader | undefined;
  const sharedDns = etcdStore && etcd
    ? await etcd.startSharedDns({ namespace: etcdStore.namespace, isLeader: () => leaderRef?.isLeader() ?? false, ...(options.lookup ? { lookup: options.lookup } : {}), logger }).catch(async (err: unknown) => {
        await etcdStore.close();
        throw err;
      })
    : undefined;
  const lookup = sharedDns?.lookup ?? options.lookup;
  const store: ConfigStore =
    etcdStore ??
    (await createFileStore({
        dir: path.resolve(options.dataDir ?? DEFAULT_DATA_DIR),
        ...(options.historyLimit !== undefined ? { retain: options.historyLimit } : {}),
        ...(options.startNewHistory ? { startNewHistory: true } : {}),
        logger,
      }));
  return {
    store,
    ...(etcdStore ? { etcdStore } : {}),
    ...(sharedDns ? { sharedDns } : {}),
    ...(lookup ? { lookup } : {}),
    setLeader(leader) {
      leaderRef = leader;
    },
    async close() {
      await sharedDns?.close();
      await store.close();
    },
  };
}

/** With an etcd history: join the other instances (after the xDS port is bound: it names this one). */
export async function joinInstances(
  opened: OpenedStore,
  options: TetherOptions,
  parts: { registry: NodeRegistry; manager: ConfigManager; xdsPort: number; logger: Logger },
): Promise<Membership | undefined> {
  const { etcdStore, sharedDns } = opened;
  if (!etcdStore || !sharedDns) return undefined;
  const { registry, manager, xdsPort, logger } = parts;
  const cluster = await (await etcdModules()).joinCluster({
    store: etcdStore,
    registry,
    manager,
    sharedDns,
    xdsPort,
    ...(options.etcd?.instance ? { instance: options.etcd.instance } : {}),
    ...(options.etcd?.nodeStatusTtlSeconds !== undefined ? { nodeStatusTtlSeconds: options.etcd.nodeStatusTtlSeconds } : {}),
    ...(options.etcd?.leaderTtlSeconds !== undefined ? { leaderTtlSeconds: options.etcd.leaderTtlSeconds } : {}),
    ...(options.etcd?.leaderIntervalMs !== undefined ? { leaderIntervalMs: options.etcd.leaderIntervalMs } : {}),
    ...(options.resolveIntervalMs !== undefined ? { resolveIntervalMs: options.resolveIntervalMs } : {}),
    logger,
  });
  opened.setLeader(cluster.leader);
  return cluster;
}

/** GetStatus's store fields: where the history is and whether this instance is in touch with it. */
export function storeStatusOf(opened: OpenedStore, dataDir: string, cluster: Membership | undefined): () => StoreStatus {
  const { etcdStore } = opened;
  return () =>
    etcdStore
      ? { store: etcdStore.shared.description, stale: etcdStore.shared.health().detail, instance: cluster?.view.instance ?? '' }
      : { store: dataDir, stale: '', instance: '' };
}
