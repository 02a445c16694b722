/**
 * A typed client for tether.admin.v1.Admin: promise wrappers with deadlines, bearer-token
 * metadata, TLS or plaintext, around the raw client of src/admin/admin-proto.ts. Used by the
 * `tether` subcommands and by sample replicas that register themselves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAdminClient as createRawAdminClient, type AdminClient as RawAdminClient } from '../admin/admin-proto';
import { adminMessageLimits } from '../admin/message-limits';
import type { ApplyConfigRequest } from '../generated/tether/tether/admin/v1/ApplyConfigRequest';
import type { DeleteBackendRequest } from '../generated/tether/tether/admin/v1/DeleteBackendRequest';
import type { DeleteRouteRequest } from '../generated/tether/tether/admin/v1/DeleteRouteRequest';
import type { DeleteServiceRequest } from '../generated/tether/tether/admin/v1/DeleteServiceRequest';
import type { EndpointRequest } from '../generated/tether/tether/admin/v1/EndpointRequest';
import type { KeepEndpointAliveRequest } from '../generated/tether/tether/admin/v1/KeepEndpointAliveRequest';
import type { KeepEndpointAliveResponse__Output } from '../generated/tether/tether/admin/v1/KeepEndpointAliveResponse';
import type { GetConfigRequest } from '../generated/tether/tether/admin/v1/GetConfigRequest';
import type { GetServerInfoRequest } from '../generated/tether/tether/admin/v1/GetServerInfoRequest';
import type { GetServerInfoResponse__Output } from '../generated/tether/tether/admin/v1/GetServerInfoResponse';
import type { GetConfigResponse__Output } from '../generated/tether/tether/admin/v1/GetConfigResponse';
import type { GetStatusRequest } from '../generated/tether/tether/admin/v1/GetStatusRequest';
import type { GetStatusResponse__Output } from '../generated/tether/tether/admin/v1/GetStatusResponse';
import type { ExplainRequest } from '../generated/tether/tether/admin/v1/ExplainRequest';
import type { ExplainResponse__Output } from '../generated/tether/tether/admin/v1/ExplainResponse';
import type { WhatIfRequest } from '../generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse__Output } from '../generated/tether/tether/admin/v1/WhatIfResponse';
import type { ListVersionsRequest } from '../generated/tether/tether/admin/v1/ListVersionsRequest';
import type { ListVersionsResponse__Output } from '../generated/tether/tether/admin/v1/ListVersionsResponse';
import type { MutationResponse__Output } from '../generated/tether/tether/admin/v1/MutationResponse';
import type { PromoteRequest } from '../generated/tether/tether/admin/v1/PromoteRequest';
import type { RollbackRequest } from '../generated/tether/tether/admin/v1/RollbackRequest';
import type { RolloutProgress__Output } from '../generated/tether/tether/admin/v1/RolloutProgress';
import type { SetSplitRequest } from '../generated/tether/tether/admin/v1/SetSplitRequest';
import type { UpsertBackendRequest } from '../generated/tether/tether/admin/v1/UpsertBackendRequest';
import type { UpsertRouteRequest } from '../generated/tether/tether/admin/v1/UpsertRouteRequest';
import type { UpsertServiceRequest } from '../generated/tether/tether/admin/v1/UpsertServiceRequest';
import type { WaitForRolloutRequest } from '../generated/tether/tether/admin/v1/WaitForRolloutRequest';
import type { GetServedResourcesRequest } from '../generated/tether/tether/admin/v1/GetServedResourcesRequest';
import type { GetServedResourcesResponse__Output } from '../generated/tether/tether/admin/v1/GetServedResourcesResponse';
import { CliError, outcomeUnknown, toCliError, unknownOutcomeError } from './errors';
import { DEFAULT_PORTS } from '../ports';

export type { GetConfigResponse__Output, GetStatusResponse__Output, ListVersionsResponse__Output, MutationResponse__Output, RolloutProgress__Output };
export type { NodeInfo__Output } from '../generated/tether/tether/admin/v1/NodeInfo';
export type { ResourceChange__Output } from '../generated/tether/tether/admin/v1/ResourceChange';
export type { VersionInfo__Output } from '../generated/tether/tether/admin/v1/VersionInfo';
export type { MutationOptions } from '../generated/tether/tether/admin/v1/MutationOptions';

export const DEFAULT_ADMIN_ADDRESS = `127.0.0.1:${DEFAULT_PORTS.admin}`;
/** Where `tether serve` with its default data dir writes the token it generates. */
export const DEFAULT_TOKEN_FILE = path.join('.tether', 'admin-token');
export const DEFAULT_DEADLINE_MS = 10_000;

/** Request and response of every unary method. */
export interface UnaryMethods {
  GetConfig: [GetConfigRequest, GetConfigResponse__Output];
  ApplyConfig: [ApplyConfigRequest, MutationResponse__Output];
  UpsertService: [UpsertServiceRequest, MutationResponse__Output];
  DeleteService: [DeleteServiceRequest, MutationResponse__Output];
  UpsertRoute: [UpsertRouteRequest, MutationResponse__Output];
  DeleteRoute: [DeleteRouteRequest, MutationResponse__Output];
  UpsertBackend: [UpsertBackendRequest, MutationResponse__Output];
  DeleteBackend: [DeleteBackendRequest, MutationResponse__Output];
  SetSplit: [SetSplitRequest, MutationResponse__Output];
  Promote: [PromoteRequest, MutationResponse__Output];
  Rollback: [RollbackRequest, MutationResponse__Output];
  ListVersions: [ListVersionsRequest, ListVersionsResponse__Output];
  AddEndpoint: [EndpointRequest, MutationResponse__Output];
  RemoveEndpoint: [EndpointRequest, MutationResponse__Output];
  DrainEndpoint: [EndpointRequest, MutationResponse__Output];
  KeepEndpointAlive: [KeepEndpointAliveRequest, KeepEndpointAliveResponse__Output];
  GetStatus: [GetStatusRequest, GetStatusResponse__Output];
  Explain: [ExplainRequest, ExplainResponse__Output];
  WhatIf: [WhatIfRequest, WhatIfResponse__Output];
  GetServedResources: [GetServedResourcesRequest, GetServedResourcesResponse__Output];
  GetServerInfo: [GetServerInfoRequest, GetServerInfoResponse__Output];
}
export type UnaryMethod = keyof UnaryMethods;

/** The methods that change the config (their response is a MutationResponse). */
const MUTATIONS: ReadonlySet<UnaryMethod> = new Set<UnaryMethod>([
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
  'AddEndpoint',
  'RemoveEndpoint',
  'DrainEndpoint',
]);

/** A real change (not a dry run) whose failure may have happened after the server made it. */
function mayHaveChanged(method: UnaryMethod, request: unknown, err: grpc.ServiceError): boolean {
  if (!MUTATIONS.has(method) || !outcomeUnknown(err)) return false;
  const options = (request as { options?: { dry_run?: boolean } | null }).options;
  return options?.dry_run !== true;
}

export interface AdminClientOptions {
  /** `host:port` of the admin server. */
  address: string;
  /** Sent as `authorization: Bearer <token>`; absent → no credentials (a server with auth disabled). */
  token?: string;
  /** PEM material; when set the channel uses TLS, else plaintext. */
  tls?: {
    /** Roots to trust; absent → the system's. */
    ca?: Buffer;
    /** Client certificate and key, for mTLS. */
    cert?: Buffer;
    key?: Buffer;
    /** Name to verify the server's certificate against instead of the address's host. */
    serverName?: string;
  };
  /** Deadline of each unary call, ms. Default 10 s. */
  deadlineMs?: number;
}

export interface CallOptions {
  /** Overrides the client's deadline, ms. */
  deadlineMs?: number;
  /** Cancels the call (it then rejects with CANCELLED). */
  signal?: AbortSignal;
}

export interface AdminClient {
  readonly address: string;
  /** One unary call; rejects with a CliError carrying the server's status and text. */
  call<M extends UnaryMethod>(method: M, request: UnaryMethods[M][0], options?: CallOptions): Promise<UnaryMethods[M][1]>;
  /**
   * Streams WaitForRollout, handing every message to `onProgress`, and resolves with the last
   * one (done = true). A stream that ends without it rejects.
   */
  waitForRollout(request: WaitForRolloutRequest, options: CallOptions & { onProgress?: (progress: RolloutProgress__Output) => void }): Promise<RolloutProgress__Output>;
  close(): void;
}

function channelCredentials(tls: AdminClientOptions['tls']): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if ((tls.cert && !tls.key) || (!tls.cert && tls.key)) throw new CliError('mTLS needs both a client certificate and its key');
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  // The server's limits both ways: a config Tether accepted is one `tether get` can read.
  const channelOptions: grpc.ChannelOptions = { ...adminMessageLimits() };
  if (options.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
  const raw: RawAdminClient = createRawAdminClient(options.address, channelCredentials(options.tls), channelOptions);
  const defaultDeadline = options.deadlineMs ?? DEFAULT_DEADLINE_MS;

  const metadata = (): grpc.Metadata => {
    // Per-call metadata rather than call credentials: grpc-js refuses call credentials on
    // plaintext channels, and a loopback admin port without TLS is the common case.
    const md = new grpc.Metadata();
    if (options.token) md.set('authorization', `Bearer ${options.token}`);
    return md;
  };
  const deadline = (ms: number | undefined) => new Date(Date.now() + (ms ?? defaultDeadline));

  const bindAbort = (signal: AbortSignal | undefined, call: { cancel(): void }) => {
    if (!signal) return () => undefined;
    const onAbort = () => call.cancel();
    if (signal.aborted) call.cancel();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  };

  return {
    address: options.address,

    call(method, request, callOptions = {}) {
      return new Promise((resolve, reject) => {
        // The generated client's overloads are per method; all unary ones share this shape.
        const fn = raw[method] as unknown as (
          req: unknown,
          md: grpc.Metadata,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res?: unknown) => void,
        ) => grpc.ClientUnaryCall;
        // grpc-js always calls back asynchronously, so `unbind` is set by then.
        let unbind: () => void = () => undefined;
        const call = fn.call(raw, request, metadata(), { deadline: deadline(callOptions.deadlineMs) }, (err, response) => {
          unbind();
          if (err) reject(mayHaveChanged(method, request, err) ? unknownOutcomeError(err, method, options.address) : toCliError(err, options.address));
          else resolve(response as never);
        });
        unbind = bindAbort(callOptions.signal, call);
      });
    },

    waitForRollout(request, callOptions) {
      return new Promise((resolve, reject) => {
        const stream = raw.WaitForRollout(request, metadata(), { deadline: deadline(callOptions.deadlineMs) });
        const release = bindAbort(callOptions.signal, stream);
        let last: RolloutProgress__Output | undefined;
        stream.on('data', (progress: RolloutProgress__Output) => {
          last = progress;
          callOptions.onProgress?.(progress);
        });
        stream.on('error', (err) => {
          release();
          reject(toCliError(err, options.address));
        });
        stream.on('end', () => {
          release();
          if (last?.done) resolve(last);
          else reject(new CliError('the rollout stream ended before a final state'));
        });
      });
    },

    close() {
      raw.close();
    },
  };
}

/** How the connection was asked for on the command line. */
export interface ConnectionFlags {
  server?: string;
  token?: string;
  tokenFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

/**
 * Client options from flags, then the environment, then defaults:
 * address `--server` > TETHER_ADMIN_ADDR > 127.0.0.1:18001;
 * token `--token` > `--token-file` > TETHER_ADMIN_TOKEN > ./.tether/admin-token if it exists;
 * TLS when `--tls-ca` or `--tls-cert` is given, else plaintext.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AdminClientOptions {
  const address = flags.server || env.TETHER_ADMIN_ADDR || DEFAULT_ADMIN_ADDRESS;
  const options: AdminClientOptions = { address };
  const token = resolveToken(flags, env, cwd);
  if (token) options.token = token;
  if (flags.tlsCa || flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCert !== !flags.tlsKey) throw new CliError('--tls-cert and --tls-key go together (mTLS)');
    options.tls = {
      ...(flags.tlsCa ? { ca: readFile(flags.tlsCa, '--tls-ca') } : {}),
      ...(flags.tlsCert ? { cert: readFile(flags.tlsCert, '--tls-cert') } : {}),
      ...(flags.tlsKey ? { key: readFile(flags.tlsKey, '--tls-key') } : {}),
      ...(flags.tlsServerName ? { serverName: flags.tlsServerName } : {}),
    };
  }
  return options;
}

function resolveToken(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (flags.token) return flags.token;
  if (flags.tokenFile) return readFile(flags.tokenFile, '--token-file').toString('utf8').trim();
  if (env.TETHER_ADMIN_TOKEN) return env.TETHER_ADMIN_TOKEN;
  const fallback = path.resolve(cwd, DEFAULT_TOKEN_FILE);
  return fs.existsSync(fallback) ? fs.readFileSync(fallback, 'utf8').trim() : undefined;
}

function readFile(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
