/**
 * An instance joining the others on an etcd store (after its xDS port is bound): it publishes
 * its nodes for everyone's status, campaigns for leader, and, while leader, expires lease
 * registrations and re-resolves DNS names for all (README, "Operating several instances").
 */
import * as os from 'node:os';
import type { ConfigManagerApi } from '../control/types';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { isIpLiteral } from '../resolve/resolver';
import type { EtcdStore } from '../store/etcd-store';
import type { NodeRegistry } from '../xds/node-status';
import { startLeaderElection, type Leader } from './cluster-leader';
import { ClusterNodeView, startNodePublication } from './cluster-nodes';
import { createEndpointLeases, type EndpointLeases } from './endpoint-leases';
import type { SharedDns } from './shared-dns';

export interface MembershipOptions {
  store: EtcdStore;
  /** This instance's own streams. */
  registry: NodeRegistry;
  manager: ConfigManagerApi;
  sharedDns: SharedDns;
  xdsPort: number;
  /** Default `<hostname>:<xds port>`. */
  instance?: string;
  nodeStatusTtlSeconds?: number;
  leaderTtlSeconds?: number;
  leaderIntervalMs?: number;
  /** How often the leader asks DNS again. Default 30 s. */
  resolveIntervalMs?: number;
  logger: Logger;
}

export interface Membership {
  /** Every instance's nodes: what the admin API reads. */
  readonly view: ClusterNodeView;
  readonly leases: EndpointLeases;
  readonly leader: Leader;
  close(): Promise<void>;
}

/** The DNS names a config's endpoints use (what the leader re-resolves). */
export function dnsNames(config: TetherConfig): string[] {
  return [...new Set(config.backends.flatMap((b) => b.endpoints.map((e) => e.host)).filter((h) => !isIpLiteral(h)))];
}

export async function joinCluster(options: MembershipOptions): Promise<Membership> {
  const { store, registry, manager, sharedDns, logger } = options;
  const view = new ClusterNodeView(registry, options.instance ?? `${os.hostname()}:${options.xdsPort}`);
  const publication = await startNodePublication({
    namespace: store.namespace,
    view,
    local: registry,
    ...(options.nodeStatusTtlSeconds !== undefined ? { ttlSeconds: options.nodeStatusTtlSeconds } : {}),
    logger,
  });
  const leases = createEndpointLeases({ etcd: store.etcd, namespace: store.namespace, manager, logger });
  let lastDnsRefresh = Date.now();
  const leader = startLeaderElection({
    namespace: store.namespace,
    instance: view.instance,
    work: async () => {
      await leases.reconcile();
      if (Date.now() - lastDnsRefresh >= (options.resolveIntervalMs ?? 30_000)) {
        lastDnsRefresh = Date.now();
        await sharedDns.refresh(dnsNames(manager.current().config));
      }
    },
    ...(options.leaderTtlSeconds !== undefined ? { ttlSeconds: options.leaderTtlSeconds } : {}),
    ...(options.leaderIntervalMs !== undefined ? { intervalMs: options.leaderIntervalMs } : {}),
    logger,
  });
  return {
    view,
    leases,
    leader,
    async close() {
      await leader.close();
      await publication.close();
    },
  };
}
