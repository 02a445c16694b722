/**
 * The admin server over the real stack on 127.0.0.1: a file store in a temp dir, the config
 * manager, the publisher into a snapshot cache, an ADS server reporting into the node
 * registry, and a real gRPC client (generated types) with promise helpers.
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAdminClient, type AdminClient } from '../../src/admin/admin-proto';
import type { AdminAuth } from '../../src/admin/auth';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../src/admin/server';
import type { TlsFiles } from '../../src/admin/tls';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { openConfigManager, type ConfigManager } from '../../src/control/config-manager';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { ENVOY_INCLUDE_DIRS, loadRoot } from '../../src/envoy/protos';
import { silentLogger, type Logger } from '../../src/log';
import { createFileStore, type FileStore } from '../../src/store';
import { addAdsService, type AdsService } from '../../src/xds/ads-server';
import { NodeRegistry } from '../../src/xds/node-status';
import type { ApplyConfigRequest } from '../../src/generated/tether/tether/admin/v1/ApplyConfigRequest';
import type { DeleteBackendRequest } from '../../src/generated/tether/tether/admin/v1/DeleteBackendRequest';
import type { DeleteRouteRequest } from '../../src/generated/tether/tether/admin/v1/DeleteRouteRequest';
import type { DeleteServiceRequest } from '../../src/generated/tether/tether/admin/v1/DeleteServiceRequest';
import type { EndpointRequest } from '../../src/generated/tether/tether/admin/v1/EndpointRequest';
import type { GetConfigResponse__Output } from '../../src/generated/tether/tether/admin/v1/GetConfigResponse';
import type { GetStatusRequest } from '../../src/generated/tether/tether/admin/v1/GetStatusRequest';
import type { GetStatusResponse__Output } from '../../src/generated/tether/tether/admin/v1/GetStatusResponse';
import type { ListVersionsResponse__Output } from '../../src/generated/tether/tether/admin/v1/ListVersionsResponse';
import type { MutationResponse__Output } from '../../src/generated/tether/tether/admin/v1/MutationResponse';
import type { PromoteRequest } from '../../src/generated/tether/tether/admin/v1/PromoteRequest';
import type { RollbackRequest } from '../../src/generated/tether/tether/admin/v1/RollbackRequest';
import type { RolloutProgress__Output } from '../../src/generated/tether/tether/admin/v1/RolloutProgress';
import type { SetSplitRequest } from '../../src/generated/tether/tether/admin/v1/SetSplitRequest';
import type { UpsertBackendRequest } from '../../src/generated/tether/tether/admin/v1/UpsertBackendRequest';
import type { UpsertRouteRequest } from '../../src/generated/tether/tether/admin/v1/UpsertRouteRequest';
import type { UpsertServiceRequest } from '../../src/generated/tether/tether/admin/v1/UpsertServiceRequest';
import type { WaitForRolloutRequest } from '../../src/generated/tether/tether/admin/v1/WaitForRolloutRequest';
import { AdsClient } from '../support/ads-client';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import type { Node } from '../../src/generated/envoy/config/core/v3/Node';

export const TOKEN = 'test-admin-token-0123456789';

/** Two services (one with a 90/10 split), three backends, IP endpoints only (no DNS). */
export function baseConfig(): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      {
        name: 'shop',
        domains: ['shop.example.com'],
        routes: [{ name: 'main', backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10 }] }],
      },
      { name: 'search', domains: ['search.example.com'], routes: [{ name: 'all', backends: [{ name: 'search-v1' }] }] },
    ],
    backends: [
      { name: 'shop-v1', endpoints: ['127.0.0.1:8081', '127.0.0.1:8082'] },
      { name: 'shop-v2', endpoints: ['127.0.0.1:8083'] },
      { name: 'search-v1', endpoints: ['127.0.0.1:9001'] },
    ],
  };
}

/** Promise-returning unary calls, with the token unless other metadata is given. */
export interface AdminApi {
  GetConfig(req?: object, md?: grpc.Metadata): Promise<GetConfigResponse__Output>;
  ApplyConfig(req: ApplyConfigRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  UpsertService(req: UpsertServiceRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  DeleteService(req: DeleteServiceRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  UpsertRoute(req: UpsertRouteRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  DeleteRoute(req: DeleteRouteRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  UpsertBackend(req: UpsertBackendRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  DeleteBackend(req: DeleteBackendRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  SetSplit(req: SetSplitRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  Promote(req: PromoteRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  Rollback(req: RollbackRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  ListVersions(req?: object, md?: grpc.Metadata): Promise<ListVersionsResponse__Output>;
  AddEndpoint(req: EndpointRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  RemoveEndpoint(req: EndpointRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  DrainEndpoint(req: EndpointRequest, md?: grpc.Metadata): Promise<MutationResponse__Output>;
  GetStatus(req?: GetStatusRequest, md?: grpc.Metadata): Promise<GetStatusResponse__Output>;
}

export const UNARY_METHODS = [
  'GetConfig',
  'ApplyConfig',
  'UpsertService',
  'DeleteService',
  'UpsertRoute',
  'DeleteRoute',
  'UpsertBackend',
  'DeleteBackend',
  'SetSplit',
  'Promote',
  'Rollback',
  'ListVersions',
  'AddEndpoint',
  'RemoveEndpoint',
  'DrainEndpoint',
  'GetStatus',
] as const;

/** `authorization: Bearer <token>` metadata; null → none. */
export function bearer(token: string | null = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return md;
}

export function adminApi(client: AdminClient, token: string | null = TOKEN): AdminApi {
  const api: Record<string, unknown> = {};
  for (const method of UNARY_METHODS) {
    api[method] = (req: object = {}, md: grpc.Metadata = bearer(token)) =>
      new Promise((resolve, reject) => {
        const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
        fn.call(client, req, md, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
      });
  }
  return api as unknown as AdminApi;
}

/** Collects a WaitForRollout stream: every message and the final status. */
export function waitForRollout(
  client: AdminClient,
  req: WaitForRolloutRequest,
  options: { md?: grpc.Metadata; deadlineMs?: number } = {},
): { messages: RolloutProgress__Output[]; done: Promise<grpc.StatusObject>; call: grpc.ClientReadableStream<RolloutProgress__Output> } {
  const messages: RolloutProgress__Output[] = [];
  const call = client.WaitForRollout(req, options.md ?? bearer(), options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {});
  call.on('data', (m: RolloutProgress__Output) => messages.push(m));
  call.on('error', () => undefined);
  const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { messages, done, call };
}

/** The call's error, or a failure when it succeeded. */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

let rpcRoot: ReturnType<typeof loadRoot> | undefined;

/** The google.rpc.BadRequest field violations in an error's grpc-status-details-bin. */
export function badRequest(err: grpc.ServiceError): { status: { code: number; message: string }; violations: { field: string; description: string }[] } {
  rpcRoot ??= loadRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto'], ENVOY_INCLUDE_DIRS);
  const [bin] = err.metadata.get('grpc-status-details-bin');
  if (!Buffer.isBuffer(bin)) throw new Error(`no grpc-status-details-bin on ${grpc.status[err.code]} ${err.details}`);
  const status = rpcRoot.lookupType('google.rpc.Status').toObject(rpcRoot.lookupType('google.rpc.Status').decode(bin)) as {
    code: number;
    message: string;
    details: { type_url: string; value: Uint8Array }[];
  };
  const detail = status.details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.BadRequest');
  if (!detail) throw new Error('no BadRequest detail');
  const br = rpcRoot.lookupType('google.rpc.BadRequest').toObject(rpcRoot.lookupType('google.rpc.BadRequest').decode(detail.value), { defaults: true }) as {
    field_violations: { field: string; description: string }[];
  };
  return { status: { code: status.code, message: status.message }, violations: br.field_violations };
}

export interface HarnessOptions {
  auth?: AdminAuth;
  tls?: TlsFiles;
  config?: Record<string, unknown>;
  maxReceiveMessageBytes?: number;
  logger?: Logger;
  /** Client channel credentials (default insecure). */
  clientCredentials?: grpc.ChannelCredentials;
  clientOptions?: grpc.ChannelOptions;
}

export class AdminHarness {
  readonly dir = makeTempDir('admin');
  readonly cache = new SnapshotCache();
  readonly registry = new NodeRegistry();
  store!: FileStore;
  publisher!: Publisher;
  manager!: ConfigManager;
  admin!: AdminServer;
  client!: AdminClient;
  api!: AdminApi;
  private xds?: { server: grpc.Server; ads: AdsService; address: string };
  private readonly adsClients: AdsClient[] = [];
  private readonly clients: grpc.Client[] = [];

  static async start(options: HarnessOptions = {}): Promise<AdminHarness> {
    const h = new AdminHarness();
    await h.init(options);
    return h;
  }

  private async init(options: HarnessOptions): Promise<void> {
    const logger = options.logger ?? silentLogger();
    this.store = await createFileStore({ dir: path.join(this.dir, 'store') });
    this.publisher = createPublisher({ cache: this.cache, logger, lookup: async (host) => Promise.reject(new Error(`no DNS in tests (${host})`)) });
    this.manager = await openConfigManager({ store: this.store, publisher: this.publisher, logger, initial: { document: options.config ?? baseConfig(), source: 'test' } });
    const serverOptions: AdminServerOptions = {
      manager: this.manager,
      registry: this.registry,
      logger,
      host: '127.0.0.1',
      port: 0,
      auth: options.auth ?? { mode: 'token', tokens: [TOKEN] },
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.maxReceiveMessageBytes ? { maxReceiveMessageBytes: options.maxReceiveMessageBytes } : {}),
      shutdownGraceMs: 200,
    };
    this.admin = await startAdminServer(serverOptions);
    this.client = this.newClient(options.clientCredentials, options.clientOptions);
    this.api = adminApi(this.client);
  }

  get address(): string {
    return `127.0.0.1:${this.admin.port}`;
  }

  newClient(credentials?: grpc.ChannelCredentials, options?: grpc.ChannelOptions): AdminClient {
    const c = createAdminClient(this.address, credentials, options);
    this.clients.push(c);
    return c;
  }

  /** A raw grpc.Client on the admin port, for calls the generated client cannot make. */
  rawClient(): grpc.Client {
    const c = new grpc.Client(this.address, grpc.credentials.createInsecure());
    this.clients.push(c);
    return c;
  }

  /** An ADS server over the harness's cache and registry (started on first use). */
  async adsClient(node: Partial<Node> & { id: string }): Promise<AdsClient> {
    if (!this.xds) {
      const server = new grpc.Server();
      const ads = addAdsService(server, { cache: this.cache, logger: silentLogger(), status: this.registry });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      this.xds = { server, ads, address: `127.0.0.1:${port}` };
    }
    const c = new AdsClient(this.xds.address, { node: { cluster: 'test', user_agent_name: 'envoy', ...node } });
    this.adsClients.push(c);
    return c;
  }

  version(): number {
    return this.manager.current().version;
  }

  async close(): Promise<void> {
    for (const c of this.adsClients) c.close();
    for (const c of this.clients) c.close();
    await this.admin?.close();
    if (this.xds) {
      this.xds.ads.close();
      this.xds.server.forceShutdown();
    }
    await this.manager?.close();
    this.publisher?.close();
    await this.store?.close();
    removeTempDir(this.dir);
  }
}
