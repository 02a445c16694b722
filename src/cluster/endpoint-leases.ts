/**
 * Self-registration tied to liveness (several instances on etcd). A replica's KeepEndpointAlive
 * calls keep an etcd lease alive; under it lives `<prefix>registrations/<backend>/<address>`.
 * A marker `<prefix>registered/<backend>/<address>` (no lease) remembers that the endpoint came
 * from a lease. The elected instance (cluster-leader.ts) removes the endpoint of every marker
 * whose registration is gone (its lease expired: the replica stopped calling), then the marker.
 *
 * Any instance answers any call (the lease is etcd's), so a replica whose instance dies keeps its
 * registration by calling another one within the TTL. The config itself changes only through the
 * config manager (AddEndpoint / RemoveEndpoint versions, compare-and-set like any edit).
 */
import type { Etcd3, Namespace } from 'etcd3';
import type { Logger } from '../log';
import { TetherError, toTetherError } from '../config/errors';
import { edits } from '../control/mutations';
import type { ConfigManagerApi } from '../control/types';

const LIVE = 'registrations/';
const MARKERS = 'registered/';
export const DEFAULT_REGISTRATION_TTL_SECONDS = 10;

export interface KeepAliveRequest {
  backend: string;
  address: string;
  weight: number;
  grpcPort?: number;
  ttlSeconds: number;
  lease: string;
}

export interface EndpointLeases {
  keepAlive(request: KeepAliveRequest): Promise<{ lease: string; ttlSeconds: number; version: number }>;
  /** One reconciliation pass (the leader runs it): endpoints whose lease expired leave their backend. */
  reconcile(): Promise<void>;
}

function entryKey(backend: string, address: string): string {
  return `${backend}/${address}`;
}

/** Whether the served config lists `address` in `backend` (so a keep-alive need not add it). */
function listed(manager: ConfigManagerApi, backend: string, address: string): boolean {
  const b = manager.current().config.backends.find((x) => x.name === backend);
  return !!b?.endpoints.some((e) => !e.drain && (`${e.host}:${e.port}` === address || `[${e.host}]:${e.port}` === address));
}

export function createEndpointLeases(options: { etcd: Etcd3; namespace: Namespace; manager: ConfigManagerApi; logger: Logger }): EndpointLeases {
  const { etcd, namespace, manager } = options;
  const log = options.logger.child({ component: 'endpoint-leases' });

  /** Remaining TTL of a lease (0: gone), refreshing it. */
  const refresh = async (lease: string): Promise<number> => {
    const stream = await etcd.leaseClient.leaseKeepAlive();
    try {
      const res = await new Promise<{ TTL: string }>((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', reject);
        stream.write({ ID: lease });
      });
      return Number(res.TTL);
    } finally {
      stream.end();
    }
  };

  const add = async (r: KeepAliveRequest) => {
    const key = entryKey(r.backend, r.address);
    await namespace.put(`${MARKERS}${key}`).value(JSON.stringify({ backend: r.backend, address: r.address }));
    if (!listed(manager, r.backend, r.address)) {
      await manager.mutate('register-endpoint', edits.addEndpoint(r.backend, r.address, r.weight, r.grpcPort), { description: `lease registration of ${r.address}` });
    }
  };

  return {
    async keepAlive(r) {
      if (r.lease) {
        const ttl = await refresh(r.lease).catch(() => 0);
        if (ttl > 0) {
          // Self-healing: a reconciliation that raced a re-registration may have removed it.
          await add(r);
          return { lease: r.lease, ttlSeconds: ttl, version: manager.current().version };
        }
      }
      const granted = await etcd.leaseClient.leaseGrant({ TTL: r.ttlSeconds });
      const lease = String(granted.ID);
      await namespace.put(`${LIVE}${entryKey(r.backend, r.address)}`).value(JSON.stringify({ at: new Date().toISOString() })).lease(lease).exec();
      await add(r);
      log.info({ backend: r.backend, address: r.address, ttlSeconds: r.ttlSeconds }, 'endpoint registered on a lease');
      return { lease, ttlSeconds: Number(granted.TTL), version: manager.current().version };
    },

    async reconcile() {
      const markers = await namespace.getAll().prefix(MARKERS).keys();
      if (markers.length === 0) return;
      const live = new Set((await namespace.getAll().prefix(LIVE).keys()).map((k) => k.slice(LIVE.length)));
      for (const marker of markers) {
        const key = marker.slice(MARKERS.length);
        if (live.has(key)) continue;
        const cut = key.indexOf('/');
        const backend = key.slice(0, cut);
        const address = key.slice(cut + 1);
        if (listed(manager, backend, address)) {
          const description = `lease of ${address} expired`;
          try {
            await manager.mutate('lease-expired', edits.removeEndpoint(backend, address), { description });
          } catch (err) {
            const e = toTetherError(err);
            // A backend keeps one endpoint: the last one is drained instead of removed.
            if (e.code !== 'FAILED_PRECONDITION') throw e;
            await manager.mutate('lease-expired', edits.drainEndpoint(backend, address), { description: `${description} (last endpoint: drained)` });
          }
          log.info({ backend, address }, 'endpoint lease expired; endpoint removed');
        }
        // Only if it was not registered again meanwhile.
        await namespace.if(`${LIVE}${key}`, 'Create', '==', 0).then(namespace.delete().key(marker)).commit();
      }
    },
  };
}

/** KeepEndpointAlive without a shared store. */
export function leasesUnavailable(): never {
  throw new TetherError('FAILED_PRECONDITION', 'KeepEndpointAlive needs several instances on a shared store (tether serve --store etcd://…); with the file store use AddEndpoint');
}
