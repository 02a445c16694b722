/** The admin API as `tether serve` starts it, over the manager, the node registry and the history. */
import { DEFAULT_ADMIN_PORT, startAdminServer, type AdminAuth, type AdminServer } from '../admin';
import type { StoreStatus } from '../admin/admin-service';
import type { SnapshotCache } from '../cache/snapshot-cache';
import type { EndpointLeases } from '../cluster/endpoint-leases';
import type { ConfigManager } from '../control/config-manager';
import type { TetherErrorCode } from '../config/errors';
import type { Rendition } from '../control/rendition';
import type { Logger } from '../log';
import type { ConfigStore, SharedHistory } from '../store/types';
import type { NodeRegistry } from '../xds/node-status';
import type { AdminOptions, TetherOptions } from './tether-options';

export async function startAdmin(
  options: AdminOptions,
  access: { auth: AdminAuth; tokenFile?: string },
  manager: ConfigManager,
  registry: NodeRegistry,
  cache: SnapshotCache,
  logger: Logger,
  lookup: TetherOptions['lookup'],
  history: ConfigStore,
  editRejected: (code: TetherErrorCode) => void,
  store: { storeStatus: () => StoreStatus; storeHealth?: SharedHistory; leases?: EndpointLeases; served?: () => Rendition | undefined },
): Promise<AdminServer & { tokenFile?: string }> {
  const { auth, tokenFile } = access;
  const server = await startAdminServer({
    manager,
    registry,
    snapshots: cache,
    history,
    editRejected,
    logger,
    auth,
    ...(lookup ? { lookup } : {}),
    ...store,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? DEFAULT_ADMIN_PORT,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return Object.assign(server, tokenFile ? { tokenFile } : {});
}
