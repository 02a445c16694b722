import type { TetherConfig } from '../model/types';
import type { VersionMeta } from '../store/types';
import type { ConfigWarning } from './config-warnings';
import type { ResourceChange } from '../diff/resource-diff';

export interface MutationOptions {
  /** Validate and diff only; change nothing. */
  dryRun?: boolean;
  /** When set (non-zero) and not the current version: TetherError ABORTED, nothing changes. */
  expectedVersion?: number;
  description?: string;
  /** Who asks (admin identity: client-certificate subject or token fingerprint); kept with the version. */
  author?: string;
}

export interface MutationResult {
  version: number;
  changed: boolean;
  dryRun: boolean;
  changes: ResourceChange[];
  /** Rollback only: the version whose config it restores (or would, for a dry run). */
  restores?: number;
  /** Translation warnings of the resulting config (the served one when nothing changed). */
  warnings: readonly ConfigWarning[];
}

/**
 * Moves validation errors about the part of the document a targeted edit wrote onto the
 * request's own fields: `{from: 'services[3]', to: 'service'}` turns
 * `services[3].routes[0].backends` into `service.routes[0].backends`.
 */
export interface PathRewrite {
  from: string;
  to: string;
}

/** A config document in the file's shape (docs/config-reference.md). */
export type ConfigDocument = Record<string, unknown>;

/**
 * A targeted edit (see mutations.ts `edits`): `apply` returns an edited copy of the document
 * (never modifying its input) or throws TetherError (NOT_FOUND, FAILED_PRECONDITION,
 * INVALID_ARGUMENT); `errorPaths` says where the edit landed in the result.
 */
export interface DocumentEdit {
  apply(document: ConfigDocument): ConfigDocument;
  errorPaths?(result: ConfigDocument): PathRewrite[];
  /** What the edit does, for the version history (`split shop/main: v1=90 v2=10`), from the document it edits. */
  describe?(before: ConfigDocument): string;
}

export interface CurrentConfig {
  version: number;
  /** The document as accepted (file shape). Deep-frozen: copy it to edit. */
  document: Record<string, unknown>;
  config: TetherConfig;
  createdAt: string;
}

/**
 * Every change to the served config goes through here (admin API, CLI, config file):
 * one at a time, validated against the whole result, diffed, made durable in the store,
 * then published to the snapshot cache. Any failure leaves everything as it was and is
 * thrown as a TetherError.
 */
export interface ConfigManagerApi {
  current(): CurrentConfig;
  /** Replace the whole config. */
  apply(document: unknown, options: MutationOptions & { source: string; fileHash?: string }): Promise<MutationResult>;
  /**
   * A targeted edit of the current document. `edit` returns the new document or throws
   * TetherError (NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT); a DocumentEdit (from
   * mutations.ts `edits`) also points validation errors at the request's fields.
   */
  mutate(
    source: string,
    edit: DocumentEdit | ((document: Record<string, unknown>) => Record<string, unknown>),
    options: MutationOptions,
  ): Promise<MutationResult>;
  /**
   * Make a version from history current again, as a new version. 0 → step back (undo): the
   * version before the current one, where a rollback version counts as the version it
   * restored, so repeated rollbacks walk back through history (see undo.ts).
   */
  rollback(toVersion: number, options: MutationOptions): Promise<MutationResult>;
  history(): Promise<VersionMeta[]>;
}
