import type { Rendition } from '../control/rendition';
import * as grpc from '@grpc/grpc-js';
import { isLoopbackHost } from '../util/loopback';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { ConfigManagerApi } from '../control/types';
import type { TetherErrorCode } from '../config/errors';
import type { Logger } from '../log';
import type { NodeRegistry } from '../xds/node-status';
import type { LookupFn } from '../resolve/resolver';
import { ADMIN_SERVICE_NAME, adminPackageDefinition, reflectedPackageDefinition } from './admin-proto';
import { createAdminService, type StoreStatus, type VersionHistory } from './admin-service';
import type { SharedHistory } from '../store/types';
import type { EndpointLeases } from '../cluster/endpoint-leases';
import { createAuthCheck, type AdminAuth } from './auth';
import type { ServedSnapshots } from './served-resources';
import { withStrictDecoding } from './request-decoding';
import { withPreEncodedResponses } from './pre-encoded';
import { serverCredentials, type TlsFiles } from './tls';
import { DEFAULT_PORTS } from '../ports';
import { ADMIN_MAX_MESSAGE_BYTES, adminMessageLimits } from './message-limits';

export const DEFAULT_ADMIN_PORT = DEFAULT_PORTS.admin;
/** Requests and responses alike (see message-limits.ts). */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = ADMIN_MAX_MESSAGE_BYTES;

export interface AddAdminServiceOptions {
  /** Every mutation goes through it. */
  manager: ConfigManagerApi;
  /** Connected xDS nodes, for GetStatus and WaitForRollout. */
  registry: NodeRegistry;
  logger: Logger;
  /** Bearer tokens for Admin calls (health and reflection stay open: probes and grpcurl discovery). */
  auth: AdminAuth;
  /** The DNS lookup the publisher uses, so Explain and WhatIf resolve endpoint names alike. */
  lookup?: LookupFn;
  /** The served snapshots (the snapshot cache), for GetServedResources. */
  snapshots?: ServedSnapshots;
  /** The served rendition (the publisher's), so Explain reads what is served instead of resolving again. */
  served?: () => Rendition | undefined;
  /** The version history (the store), for GetConfig of an earlier version. */
  history?: VersionHistory;
  /** Told of every mutation refused (not dry runs), with its code (metrics). */
  editRejected?: (code: TetherErrorCode) => void;
  /** Where the history is and whether this instance is in touch (GetStatus). */
  storeStatus?: () => StoreStatus;
  /**
   * A shared store (etcd): health of the service `tether.store` follows it (NOT_SERVING while
   * this instance is cut off; GetStatus says why). '' and the Admin service stay SERVING: the
   * instance still serves its last version.
   */
  storeHealth?: SharedHistory;
  /** KeepEndpointAlive (several instances on etcd). */
  leases?: EndpointLeases;
}

export interface AdminServerOptions extends AddAdminServiceOptions {
  /** Listen address. Default 127.0.0.1: the admin API changes routing, expose it on purpose. */
  host?: string;
  /** 0 → an ephemeral port (see the returned `port`). */
  port: number;
  /** TLS (mTLS when `ca` is set); absent → plaintext. */
  tls?: TlsFiles;
  /** Larger requests fail with RESOURCE_EXHAUSTED before they are read. Default ADMIN_MAX_MESSAGE_BYTES (97 MiB). */
  maxReceiveMessageBytes?: number;
  /** Wait this long for calls in flight on close() before cutting them off. Default 2 s. */
  shutdownGraceMs?: number;
}

export interface AdminServer {
  readonly port: number;
  /** Health goes NOT_SERVING, open WaitForRollout streams end (UNAVAILABLE), then the server stops. */
  close(): Promise<void>;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The health service name that tells whether a shared store (etcd) is reachable from this instance. */
export const STORE_HEALTH_SERVICE = 'tether.store';

export interface AddedAdminService {
  /** Health of '' and 'tether.admin.v1.Admin' (NOT_SERVING until set). */
  setServing(serving: boolean): void;
  /** Ends open WaitForRollout streams (UNAVAILABLE); call before shutting the server down. */
  close(): void;
}

/**
 * Adds the admin API (tether.admin.v1.Admin), standard health (grpc.health.v1.Health) and
 * server reflection (v1 and v1alpha, describing Admin and Health) to any grpc.Server, e.g.
 * to serve the admin API on the xDS port. startAdminServer is this on a server of its own.
 */
export function addAdminService(server: grpc.Server, options: AddAdminServiceOptions): AddedAdminService {
  const log = options.logger.child({ component: 'admin' });
  const service = createAdminService({
    manager: options.manager,
    registry: options.registry,
    logger: log,
    auth: createAuthCheck(options.auth),
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    ...(options.served ? { served: options.served } : {}),
    ...(options.history ? { history: options.history } : {}),
    ...(options.editRejected ? { editRejected: options.editRejected } : {}),
    ...(options.storeStatus ? { storeStatus: options.storeStatus } : {}),
    ...(options.leases ? { leases: options.leases } : {}),
  });
  const definition = adminPackageDefinition()[ADMIN_SERVICE_NAME] as grpc.ServiceDefinition;
  server.addService(withPreEncodedResponses(withStrictDecoding(definition)), service.handlers);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [ADMIN_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  new ReflectionService(reflectedPackageDefinition()).addToServer(server);
  const storeHealth = options.storeHealth;
  const offStoreHealth = storeHealth?.onHealth((h) => health.setStatus(STORE_HEALTH_SERVICE, h.healthy ? 'SERVING' : 'NOT_SERVING'));
  if (storeHealth) health.setStatus(STORE_HEALTH_SERVICE, storeHealth.health().healthy ? 'SERVING' : 'NOT_SERVING');
  return {
    setServing(serving) {
      health.setStatus('', serving ? 'SERVING' : 'NOT_SERVING');
      health.setStatus(ADMIN_SERVICE_NAME, serving ? 'SERVING' : 'NOT_SERVING');
    },
    close: () => {
      offStoreHealth?.();
      service.close();
    },
  };
}

/**
 * Serves the admin API, health and reflection (see addAdminService) on a port of its own.
 * Health reports SERVING once bound and NOT_SERVING from close() on.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const log = options.logger.child({ component: 'admin' });
  const host = options.host ?? '127.0.0.1';
  if (options.auth.mode === 'none' && !isLoopbackHost(host)) {
    log.warn({ host }, 'admin API auth is disabled on a non-loopback address: anyone who can reach it can change routing');
  }
  const credentials = serverCredentials(options.tls);
  const server = new grpc.Server({
    ...adminMessageLimits(),
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  });
  const admin = addAdminService(server, options);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(host, options.port), credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  admin.setServing(true);
  log.info({ host, port, tls: options.tls ? (options.tls.ca ? 'mtls' : 'tls') : 'off', auth: options.auth.mode }, 'admin API listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= (async () => {
        admin.setServing(false);
        admin.close();
        // Health Watch streams never end on their own; after the grace period they are cut.
        const grace = options.shutdownGraceMs ?? 2000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, grace);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closed;
    },
  };
}
