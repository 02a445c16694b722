/**
 * The Admin service's handlers. Each one checks auth, reads and checks its request
 * (request-fields.ts), then makes exactly one call to the config manager, which validates
 * the whole resulting config, persists it and publishes it, or changes nothing and throws.
 * Whatever is thrown becomes a status in errors.ts; no handler can end the process.
 */
import type { Rendition } from '../control/rendition';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogLimiter } from '../util/log-limiter';
import { edits } from '../control/mutations';
import type { ConfigManagerApi, DocumentEdit, MutationOptions, MutationResult } from '../control/types';
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { KeepEndpointAliveRequest__Output } from '../generated/tether/tether/admin/v1/KeepEndpointAliveRequest';
import { DEFAULT_REGISTRATION_TTL_SECONDS, leasesUnavailable, type EndpointLeases } from '../cluster/endpoint-leases';
import type { ApplyConfigRequest__Output } from '../generated/tether/tether/admin/v1/ApplyConfigRequest';
import type { DeleteBackendRequest__Output } from '../generated/tether/tether/admin/v1/DeleteBackendRequest';
import type { DeleteRouteRequest__Output } from '../generated/tether/tether/admin/v1/DeleteRouteRequest';
import type { DeleteServiceRequest__Output } from '../generated/tether/tether/admin/v1/DeleteServiceRequest';
import type { EndpointRequest__Output } from '../generated/tether/tether/admin/v1/EndpointRequest';
import type { ExplainRequest__Output } from '../generated/tether/tether/admin/v1/ExplainRequest';
import type { GetStatusRequest__Output } from '../generated/tether/tether/admin/v1/GetStatusRequest';
import type { PromoteRequest__Output } from '../generated/tether/tether/admin/v1/PromoteRequest';
import type { RollbackRequest__Output } from '../generated/tether/tether/admin/v1/RollbackRequest';
import type { SetSplitRequest__Output } from '../generated/tether/tether/admin/v1/SetSplitRequest';
import type { UpsertBackendRequest__Output } from '../generated/tether/tether/admin/v1/UpsertBackendRequest';
import type { UpsertRouteRequest__Output } from '../generated/tether/tether/admin/v1/UpsertRouteRequest';
import type { UpsertServiceRequest__Output } from '../generated/tether/tether/admin/v1/UpsertServiceRequest';
import type { WhatIfRequest__Output } from '../generated/tether/tether/admin/v1/WhatIfRequest';
import type { MutationOptions__Output } from '../generated/tether/tether/admin/v1/MutationOptions';
import type { MutationResponse } from '../generated/tether/tether/admin/v1/MutationResponse';
import type { Logger } from '../log';
import type { NodeRegistry } from '../xds/node-status';
import type { LookupFn } from '../resolve/resolver';
import type { AuthCheck } from './auth';
import { toTimestamp } from './convert';
import { decodedRequest, getConfigResponse } from './large-messages';
import type { GetConfigResponse } from '../generated/tether/tether/admin/v1/GetConfigResponse';
import { invalidRequest, toStatus } from './errors';
import { explain } from './explain';
import { createExplainSource } from './explain-source';
import { isMalformed } from './request-decoding';
import { RequestFields } from './request-fields';
import { startRolloutCall } from './rollout-call';
import { getStatus, readNodeKind } from './status';
import { whatIf } from './what-if';
import { servedResources, type ServedSnapshots } from './served-resources';
import type { GetServedResourcesRequest__Output } from '../generated/tether/tether/admin/v1/GetServedResourcesRequest';
import { readConfigDocument, readEndpoint, readSplit } from './change-requests';
import type { GetConfigRequest__Output } from '../generated/tether/tether/admin/v1/GetConfigRequest';
import { TetherError, toTetherError, type TetherErrorCode } from '../control/errors';
import { buildInfo } from '../util/build-info';

/** Versions kept in history (the store), for GetConfig of an earlier version. */
export interface VersionHistory {
  get(version: number): Promise<{ version: number; document: Record<string, unknown>; createdAt: string } | undefined>;
}

async function storedVersion(history: VersionHistory | undefined, version: number) {
  if (!history) throw new TetherError('FAILED_PRECONDITION', 'this admin server has no access to the version history');
  const record = await history.get(version);
  if (!record) throw new TetherError('NOT_FOUND', `version ${version} is not in the history (\`tether history\` lists the versions kept)`);
  return record;
}

/** When this process started: GetServerInfo's started_at. */
const startedAt = new Date().toISOString();

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

/** GetStatus's store fields (README, "Operating several instances"). */
export interface StoreStatus {
  store: string;
  /** Why this instance is stale, '' when it is in touch with its store. */
  stale: string;
  /** This instance's name when several share a store, else ''. */
  instance: string;
}

export interface AdminService {
  handlers: AdminHandlers;
  /** Ends every open WaitForRollout stream (UNAVAILABLE), so a shutdown does not wait on them. */
  close(): void;
}

/**
 * YAML parsing costs ~3 s per MB on one core and blocks the event loop (xDS included), so
 * config text is capped well below the message limit; bigger configs go as a Struct.
 */

function toMutationResponse(result: MutationResult): MutationResponse {
  return {
    version: result.version,
    changed: result.changed,
    dry_run: result.dryRun,
    changes: result.changes.map((c) => ({ node_kind: c.nodeKind, type: c.type, name: c.name, action: c.action, diff: c.diff ?? '' })),
    restores: result.restores ?? 0,
    warnings: result.warnings.map((w) => ({ node_kind: w.nodeKind, path: w.path, message: w.message })),
  };
}

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Who made an admin call, for the version history: the client certificate's subject under
 * mTLS, else a fingerprint of the bearer token (enough to tell rotated or per-team tokens
 * apart, useless to an attacker), else undefined (auth disabled).
 */
export function callerIdentity(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>): string | undefined {
  const subject = call.getAuthContext().sslPeerCertificate?.subject as Record<string, string | string[] | undefined> | undefined;
  if (subject && Object.keys(subject).length > 0) {
    return `cert:${Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : (v ?? '')}`).join(',')}`;
  }
  const bearer = /^Bearer[ \t]+(\S+)/i.exec(String(call.metadata.get('authorization')[0] ?? ''));
  return bearer ? `token:${createHash('sha256').update(bearer[1]!, 'utf8').digest('hex').slice(0, 8)}` : undefined;
}

/** `ipv4:1.2.3.4:5678` → `ipv4:1.2.3.4`: a client's every connection is one peer for the log limiter. */
function peerHost(peer: string): string {
  const cut = peer.lastIndexOf(':');
  return cut > 0 ? peer.slice(0, cut) : peer;
}

export function createAdminService(options: AdminServiceOptions): AdminService {
  const { manager, registry, auth } = options;
  const log = options.logger;
  const rollouts = new Set<() => void>();
  // A client retrying with a bad token must not fill the log: one line per peer and reason per 10 s.
  const refusals = createLogLimiter(REFUSAL_LOG_INTERVAL_MS);
  const refused = (context: { method: string; peer: string }, reason: string | undefined) => {
    const held = refusals.admit(`${peerHost(context.peer)} ${reason ?? ''}`);
    if (held !== undefined) log.warn({ ...context, reason, ...(held > 0 ? { heldBack: held } : {}) }, 'admin call refused');
  };
  const explainSource = createExplainSource({
    manager,
    logger: log,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.served ? { served: options.served } : {}),
  });
  const connectedKinds = () => registry.list().map((n) => n.kind);

  /** Auth first, then the request's own well-formedness; `fn` only ever sees a decoded request. */
  function unary<Req, Res>(method: string, fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const context = { method, peer: call.getPeer() };
      const denied = auth(call.metadata);
      if (denied) {
        refused(context, denied.details);
        callback(denied);
        return;
      }
      decodedRequest(call.request)
        .then((request) => {
          if (isMalformed(request)) throw invalidRequest([{ path: '', message: `malformed request message: ${request.reason}` }]);
          return fn(request as Req, call);
        })
        .then(
          (response) => callback(null, response),
          (err: unknown) => callback(toStatus(err, log, context)),
        );
    };
  }

  /** A mutation: validated request → one manager call → its result, logged. */
  function mutation<Req extends { options: MutationOptions__Output | null }>(
    method: string,
    run: (request: Req, fields: RequestFields) => (opts: MutationOptions) => Promise<MutationResult>,
  ) {
    return unary<Req, MutationResponse>(method, async (request, serverCall) => {
      const fields = new RequestFields();
      const author = callerIdentity(serverCall);
      const opts = { ...fields.mutationOptions(request.options), ...(author ? { author } : {}) };
      let result: MutationResult;
      try {
        const call = run(request, fields);
        fields.done();
        result = await call(opts);
      } catch (err) {
        // A refused edit, whether the request or the resulting config was at fault (not a dry run).
        if (request.options?.dry_run !== true) options.editRejected?.(toTetherError(err).code);
        throw err;
      }
      log.info(
        { method, author, version: result.version, changed: result.changed, dryRun: result.dryRun, changes: result.changes.length, warnings: result.warnings.length },
        'admin mutation',
      );
      return toMutationResponse(result);
    });
  }

  /** A targeted edit of the current document, under `source` in the version history. */
  const edit = (source: string, documentEdit: DocumentEdit) => (opts: MutationOptions) => manager.mutate(source, documentEdit, opts);

  const handlers: AdminHandlers = {
    GetConfig: unary('GetConfig', async (req: GetConfigRequest__Output) => {
      const fields = new RequestFields();
      const wanted = fields.uint64(req.version, 'version');
      fields.done();
      const current = manager.current();
      // `tether get --version N`: a version the history keeps, exactly as it was accepted.
      const record = wanted === 0 || wanted === current.version ? current : await storedVersion(options.history, wanted);
      // A large config's bytes come pre-encoded from the worker (large-messages.ts, pre-encoded.ts).
      return (await getConfigResponse(record)) as GetConfigResponse;
    }),

    ApplyConfig: mutation('ApplyConfig', (req: ApplyConfigRequest__Output, fields) => {
      const document = readConfigDocument(fields, req);
      return (opts) => manager.apply(document, { ...opts, source: 'apply' });
    }),

    UpsertService: mutation('UpsertService', (req: UpsertServiceRequest__Output, fields) => {
      const service = fields.document(req.service, 'service');
      return edit('upsert-service', edits.upsertService(service));
    }),

    DeleteService: mutation('DeleteService', (req: DeleteServiceRequest__Output, fields) => {
      const name = fields.name(req.name, 'name');
      return edit('delete-service', edits.deleteService(name));
    }),

    UpsertRoute: mutation('UpsertRoute', (req: UpsertRouteRequest__Output, fields) => {
      const service = fields.name(req.service, 'service');
      const route = fields.document(req.route, 'route');
      return edit('upsert-route', edits.upsertRoute(service, route, req.position));
    }),

    DeleteRoute: mutation('DeleteRoute', (req: DeleteRouteRequest__Output, fields) => {
      const service = fields.name(req.service, 'service');
      const route = fields.name(req.route, 'route');
      return edit('delete-route', edits.deleteRoute(service, route));
    }),

    UpsertBackend: mutation('UpsertBackend', (req: UpsertBackendRequest__Output, fields) => {
      const backend = fields.document(req.backend, 'backend');
      return edit('upsert-backend', edits.upsertBackend(backend));
    }),

    DeleteBackend: mutation('DeleteBackend', (req: DeleteBackendRequest__Output, fields) => {
      const name = fields.name(req.name, 'name');
      return edit('delete-backend', edits.deleteBackend(name));
    }),

    SetSplit: mutation('SetSplit', (req: SetSplitRequest__Output, fields) => {
      const { service, route, weights } = readSplit(fields, req);
      return edit('set-split', edits.setSplit(service, route, weights));
    }),

    Promote: mutation('Promote', (req: PromoteRequest__Output, fields) => {
      const service = fields.name(req.service, 'service');
      const backend = fields.name(req.backend, 'backend');
      const route = fields.optionalName(req.route, 'route');
      return edit('promote', edits.promote(service, backend, route));
    }),

    Rollback: mutation('Rollback', (req: RollbackRequest__Output, fields) => {
      const toVersion = fields.uint64(req.to_version, 'to_version');
      return (opts) => manager.rollback(toVersion, opts);
    }),

    ListVersions: unary('ListVersions', async () => {
      const versions = await manager.history();
      return {
        current_version: manager.current().version,
        versions: versions.map((v) => ({
          version: v.version,
          created_at: toTimestamp(v.createdAt),
          source: v.source,
          description: v.description,
          content_hash: v.contentHash,
          restores: v.restores ?? 0,
          author: v.author ?? '',
        })),
      };
    }),

    AddEndpoint: mutation('AddEndpoint', (req: EndpointRequest__Output, fields) => {
      const { backend, address, weight, grpcPort } = readEndpoint(fields, req, true);
      return edit('add-endpoint', edits.addEndpoint(backend, address, weight, grpcPort));
    }),

    RemoveEndpoint: mutation('RemoveEndpoint', (req: EndpointRequest__Output, fields) => {
      const { backend, address } = readEndpoint(fields, req, false);
      return edit('remove-endpoint', edits.removeEndpoint(backend, address));
    }),

    DrainEndpoint: mutation('DrainEndpoint', (req: EndpointRequest__Output, fields) => {
      const { backend, address } = readEndpoint(fields, req, false);
      return edit('drain-endpoint', edits.drainEndpoint(backend, address));
    }),

    KeepEndpointAlive: unary('KeepEndpointAlive', async (req: KeepEndpointAliveRequest__Output) => {
      const fields = new RequestFields();
      if (!req.endpoint) fields.problem('endpoint', 'required');
      const { backend, address, weight, grpcPort } = readEndpoint(fields, req.endpoint ?? ({} as EndpointRequest__Output), true, 'endpoint');
      const ttlSeconds = req.ttl_seconds || DEFAULT_REGISTRATION_TTL_SECONDS;
      if (ttlSeconds < 2 || ttlSeconds > 3600) fields.problem('ttl_seconds', 'must be from 2 to 3600 (or 0 for 10)');
      if (req.lease && !/^\d{1,20}$/.test(req.lease)) fields.problem('lease', 'must be a lease id a previous call returned');
      fields.done();
      const leases = options.leases ?? leasesUnavailable();
      return leases.keepAlive({ backend, address, weight, ...(grpcPort !== undefined ? { grpcPort } : {}), ttlSeconds, lease: req.lease });
    }),

    GetStatus: unary('GetStatus', (req: GetStatusRequest__Output) => {
      const fields = new RequestFields();
      const kind = readNodeKind(req.node_kind, 'node_kind', fields.errors);
      fields.done();
      return { ...getStatus(registry, manager.current().version, kind), ...options.storeStatus?.() };
    }),

    Explain: unary('Explain', (req: ExplainRequest__Output) => explain(explainSource, req, connectedKinds)),

    WhatIf: unary('WhatIf', (req: WhatIfRequest__Output) => whatIf(explainSource, req, connectedKinds)),

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

  return {
    handlers,
    close() {
      for (const cancel of [...rollouts]) cancel();
    },
  };
}
