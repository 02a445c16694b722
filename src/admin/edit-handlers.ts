/**
 * The targeted edits: each reads its request into one `DocumentEdit` of the current document
 * (control/mutations.ts), recorded in the version history under the call's source name; and
 * KeepEndpointAlive, an endpoint's lease-bound registration (cluster/endpoint-leases.ts).
 */
import { edits } from '../control/mutations';
import type { ConfigManagerApi, DocumentEdit, MutationOptions } from '../control/types';
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { DeleteBackendRequest__Output } from '../generated/tether/tether/admin/v1/DeleteBackendRequest';
import type { DeleteRouteRequest__Output } from '../generated/tether/tether/admin/v1/DeleteRouteRequest';
import type { DeleteServiceRequest__Output } from '../generated/tether/tether/admin/v1/DeleteServiceRequest';
import type { EndpointRequest__Output } from '../generated/tether/tether/admin/v1/EndpointRequest';
import type { KeepEndpointAliveRequest__Output } from '../generated/tether/tether/admin/v1/KeepEndpointAliveRequest';
import type { PromoteRequest__Output } from '../generated/tether/tether/admin/v1/PromoteRequest';
import type { SetSplitRequest__Output } from '../generated/tether/tether/admin/v1/SetSplitRequest';
import type { UpsertBackendRequest__Output } from '../generated/tether/tether/admin/v1/UpsertBackendRequest';
import type { UpsertRouteRequest__Output } from '../generated/tether/tether/admin/v1/UpsertRouteRequest';
import type { UpsertServiceRequest__Output } from '../generated/tether/tether/admin/v1/UpsertServiceRequest';
import { readEndpoint, readSplit } from './change-requests';
import type { HandlerWrappers } from './handler-wrappers';
import { RequestFields } from './request-fields';
import { DEFAULT_REGISTRATION_TTL_SECONDS, leasesUnavailable, type EndpointLeases } from '../cluster/endpoint-leases';

export type EditHandlers = Pick<
  AdminHandlers,
  | 'UpsertService'
  | 'DeleteService'
  | 'UpsertRoute'
  | 'DeleteRoute'
  | 'UpsertBackend'
  | 'DeleteBackend'
  | 'SetSplit'
  | 'Promote'
  | 'AddEndpoint'
  | 'RemoveEndpoint'
  | 'DrainEndpoint'
  | 'KeepEndpointAlive'
>;

export interface EditHandlerOptions {
  manager: ConfigManagerApi;
  /** Lease-bound self-registration (KeepEndpointAlive); only with a shared store. */
  leases?: EndpointLeases;
}

export function editHandlers(wrappers: HandlerWrappers, options: EditHandlerOptions): EditHandlers {
  const { unary, mutation } = wrappers;
  const { manager } = options;

  /** A targeted edit of the current document, under `source` in the version history. */
  const edit = (source: string, documentEdit: DocumentEdit) => (opts: MutationOptions) => manager.mutate(source, documentEdit, opts);

  return {
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
  };
}
