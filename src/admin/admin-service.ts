/**
 * The Admin service's handlers. Each one checks auth, reads and checks its request
 * (request-fields.ts), then makes exactly one call to the config manager, which validates
 * the whole resulting config, persists it and publishes it, or changes nothing and throws.
 * Whatever is thrown becomes a status in errors.ts; no handler can end the process.
 *
 * The handlers are built in groups, each in its own file over the same wrappers
 * (handler-wrappers.ts: auth, request decoding, errors, mutation logging):
 * config-handlers.ts (whole config and history), edit-handlers.ts (targeted edits, leases),
 * status-handlers.ts (status, rollouts, served resources, server info) and
 * explain-handlers.ts (Explain, WhatIf).
 */
import type { Rendition } from '../control/rendition';
import type { ConfigManagerApi } from '../control/types';
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { EndpointLeases } from '../cluster/endpoint-leases';
import type { Logger } from '../log';
import type { NodeRegistry } from '../xds/node-status';
import type { LookupFn } from '../resolve/resolver';
import type { AuthCheck } from './auth';
import type { ServedSnapshots } from './served-resources';
import type { TetherErrorCode } from '../config/errors';
import { createHandlerWrappers } from './handler-wrappers';
import { configHandlers, type VersionHistory } from './config-handlers';
import { editHandlers } from './edit-handlers';
import { statusHandlers, type StoreStatus } from './status-handlers';
import { explainHandlers } from './explain-handlers';

export type { VersionHistory } from './config-handlers';
export type { StoreStatus } from './status-handlers';
export { callerIdentity, REFUSAL_LOG_INTERVAL_MS } from './handler-wrappers';

export interface AdminServiceOptions {
  manager: ConfigManagerApi;
  /** The version history, for GetConfig of an earlier version (FAILED_PRECONDITION without it). */
  history?: VersionHistory;
  registry: NodeRegistry;
  logger: Logger;
  auth: AuthCheck;
  /** DNS lookup for Explain/WhatIf: the publisher's, so they see the endpoints that are served. */
  lookup?: LookupFn;
  /** The served snapshots, for GetServedResources (FAILED_PRECONDITION without them). */
  snapshots?: ServedSnapshots;
  /** The served rendition, for Explain (explain-source.ts). */
  served?: () => Rendition | undefined;
  /** Told of every mutation refused (not dry runs), with its code (metrics). */
  editRejected?: (code: TetherErrorCode) => void;
  /** Where the history is and whether this instance is in touch with it (GetStatus). */
  storeStatus?: () => StoreStatus;
  /** Lease-bound self-registration (KeepEndpointAlive); only with a shared store. */
  leases?: EndpointLeases;
}

export interface AdminService {
  handlers: AdminHandlers;
  /** Ends every open WaitForRollout stream (UNAVAILABLE), so a shutdown does not wait on them. */
  close(): void;
}

export function createAdminService(options: AdminServiceOptions): AdminService {
  const rollouts = new Set<() => void>();
  const wrappers = createHandlerWrappers(options);
  const handlers: AdminHandlers = {
    ...configHandlers(wrappers, options),
    ...editHandlers(wrappers, options),
    ...statusHandlers(wrappers, { ...options, rollouts }),
    ...explainHandlers(wrappers, options),
  };
  return {
    handlers,
    close() {
      for (const cancel of [...rollouts]) cancel();
    },
  };
}
