/**
 * The calls that report what is served and to whom: GetStatus (the node registry and the
 * store), WaitForRollout (rollout-call.ts), GetServedResources and GetServerInfo.
 */
import type { ConfigManagerApi } from '../control/types';
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { GetServedResourcesRequest__Output } from '../generated/tether/tether/admin/v1/GetServedResourcesRequest';
import type { GetStatusRequest__Output } from '../generated/tether/tether/admin/v1/GetStatusRequest';
import type { Logger } from '../log';
import { buildInfo } from '../util/build-info';
import type { NodeRegistry } from '../xds/node-status';
import type { AuthCheck } from './auth';
import { toTimestamp } from './convert';
import type { HandlerWrappers } from './handler-wrappers';
import { RequestFields } from './request-fields';
import { startRolloutCall } from './rollout-call';
import { servedResources, type ServedSnapshots } from './served-resources';
import { getStatus, readNodeKind } from './status';

/** When this process started: GetServerInfo's started_at. */
const startedAt = new Date().toISOString();

/** GetStatus's store fields (README, "Operating several instances"). */
export interface StoreStatus {
  store: string;
  /** Why this instance is stale, '' when it is in touch with its store. */
  stale: string;
  /** This instance's name when several share a store, else ''. */
  instance: string;
}

export interface StatusHandlerOptions {
  manager: ConfigManagerApi;
  registry: NodeRegistry;
  logger: Logger;
  auth: AuthCheck;
  /** The served snapshots, for GetServedResources (FAILED_PRECONDITION without them). */
  snapshots?: ServedSnapshots;
  /** Where the history is and whether this instance is in touch with it (GetStatus). */
  storeStatus?: () => StoreStatus;
  /** Cancel functions of the open WaitForRollout streams (for shutdown). */
  rollouts: Set<() => void>;
}

export type StatusHandlers = Pick<AdminHandlers, 'GetStatus' | 'WaitForRollout' | 'GetServedResources' | 'GetServerInfo'>;

export function statusHandlers(wrappers: HandlerWrappers, options: StatusHandlerOptions): StatusHandlers {
  const { unary, refused } = wrappers;
  const { manager, registry, auth, rollouts } = options;
  const log = options.logger;
  return {
    GetStatus: unary('GetStatus', (req: GetStatusRequest__Output) => {
      const fields = new RequestFields();
      const kind = readNodeKind(req.node_kind, 'node_kind', fields.errors);
      fields.done();
      return { ...getStatus(registry, manager.current().version, kind), ...options.storeStatus?.() };
    }),

    GetServedResources: unary('GetServedResources', (req: GetServedResourcesRequest__Output) => servedResources(options.snapshots, registry, req)),

    GetServerInfo: unary('GetServerInfo', () => {
      const info = buildInfo();
      return {
        version: info.version,
        revision: info.revision,
        nodejs_version: info.nodeVersion,
        config_version: manager.current().version,
        started_at: toTimestamp(startedAt),
      };
    }),

    WaitForRollout: (call) => {
      const context = { method: 'WaitForRollout', peer: call.getPeer() };
      const denied = auth(call.metadata);
      if (denied) {
        refused(context, denied.details);
        call.emit('error', denied);
        return;
      }
      startRolloutCall(call, { manager, registry, log, context, rollouts });
    },
  };
}
