/**
 * The calls on the whole config and its history: GetConfig (current or an earlier version),
 * ApplyConfig (a whole document), Rollback and ListVersions.
 */
import type { AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';
import type { ApplyConfigRequest__Output } from '../generated/tether/tether/admin/v1/ApplyConfigRequest';
import type { GetConfigRequest__Output } from '../generated/tether/tether/admin/v1/GetConfigRequest';
import type { RollbackRequest__Output } from '../generated/tether/tether/admin/v1/RollbackRequest';
import { TetherError } from '../config/errors';
import type { ConfigManagerApi } from '../control/types';
import { readConfigDocument } from './change-requests';
import { toTimestamp } from './convert';
import { getConfigResponse } from './large-messages';
import type { GetConfigResponse } from '../generated/tether/tether/admin/v1/GetConfigResponse';
import type { HandlerWrappers } from './handler-wrappers';
import { RequestFields } from './request-fields';

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

export interface ConfigHandlerOptions {
  manager: ConfigManagerApi;
  /** The version history, for GetConfig of an earlier version (FAILED_PRECONDITION without it). */
  history?: VersionHistory;
}

export type ConfigHandlers = Pick<AdminHandlers, 'GetConfig' | 'ApplyConfig' | 'Rollback' | 'ListVersions'>;

export function configHandlers(wrappers: HandlerWrappers, options: ConfigHandlerOptions): ConfigHandlers {
  const { unary, mutation } = wrappers;
  const { manager } = options;
  return {
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
  };
}
