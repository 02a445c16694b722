/**
 * What the config manager's named parts share (config-manager.ts opens it, change-flow.ts
 * runs one change on it): the session of one running manager and its serial queue.
 */
import type { ValidationMemo } from '../config';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import type { ConfigStore, VersionRecord } from '../store/types';
import type { HashMemo } from './config-hash';
import type { Steps } from '../util/steps';
import type { ConfigSourceMode } from './config-source';
import { TetherError, toTetherError } from '../config/errors';
import type { Publisher } from './publisher';
import type { ConfigDocument, PathRewrite } from './types';

export interface ConfigManagerOptions {
  /** Durable history; the manager is its only writer while open. */
  store: ConfigStore;
  publisher: Publisher;
  logger: Logger;
  /**
   * The config Tether was started with (config file or built-in default). Committed as
   * version 1 into an empty store. With a non-empty store the stored current version is
   * served instead, unless `fileHash` is set and differs from the one on the newest version
   * made from a file: then the file changed while Tether was down, and it is applied as a
   * new version.
   */
  initial: { document: unknown; source: string; fileHash?: string; description?: string };
  /**
   * The config file and who wins between it and the admin API (config-source.ts); without a
   * file every source may change the config.
   */
  configSource?: { mode: ConfigSourceMode; file: string };
  /** Clock for createdAt (tests). */
  now?: () => Date;
  /**
   * A restart's head start (server/served-snapshot.ts): called with the stored current version
   * before anything validates it, when the config file is unchanged; returns true when it
   * served that version's persisted snapshot. Then openConfigManager returns at once, and the
   * version is validated, built and served from the fresh build in the background (`ready()`).
   */
  headStart?: (stored: VersionRecord) => boolean | Promise<boolean>;
}

export interface State {
  version: number;
  /** Deep-frozen: handed out by current() and to edits, never copied per call. */
  document: ConfigDocument;
  config: TetherConfig;
  /** A restored version's is computed after it is served (restore()): await it. */
  contentHash: string | Promise<string>;
  createdAt: string;
  /** Who made this version (VersionRecord.source, .description). */
  source: string;
  description: string;
}

/** One requested change: where it comes from and how to build the new document from the current one. */
export interface Change {
  source: string;
  /** The caller's text, stored after Tether's own summary of the change. */
  description: string;
  /** Tether's summary of the change, from the document before it and the validated result (steps when it compares whole documents). */
  summarize?(before: ConfigDocument, after: ConfigDocument): string | Steps<string>;
  /** Rollbacks: the version restored. */
  restores?: number;
  fileHash?: string;
  build(current: ConfigDocument | undefined): { document: unknown; errorPaths?: (result: ConfigDocument) => PathRewrite[] };
}

/** The running manager: what its named parts share. */
export interface Session {
  readonly store: ConfigStore;
  readonly publisher: Publisher;
  readonly log: Logger;
  readonly now: () => Date;
  readonly sourcePolicy: ConfigManagerOptions['configSource'];
  /** Entries validated before are not validated again (config/incremental.ts). */
  readonly validationMemo: ValidationMemo;
  /** Chunk hashes of the last config hashed (config-hash.ts). */
  readonly hashMemo: HashMemo;
  state: State | undefined;
  queue: Promise<unknown>;
  closing: boolean;
  /** Stops following a shared history's head (etcd). */
  unsubscribe?: (() => void) | undefined;
  /** The first version's restore after a head start (ConfigManagerOptions.headStart). */
  ready?: Promise<void>;
}

/** Mutations run one at a time, in call order; a failed one does not block the next. */
export function serially<T>(session: Session, task: () => Promise<T>): Promise<T> {
  if (session.closing) return Promise.reject(new TetherError('UNAVAILABLE', 'the config manager is shut down'));
  const run = session.queue.then(task);
  session.queue = run.catch(() => undefined);
  return run.catch((err: unknown) => Promise.reject(toTetherError(err)));
}

/** Passes the error on, logging rejected configs (the caller gets every error too). */
export const logRejection = (session: Session, source: string) => (err: unknown) => {
  const e = toTetherError(err);
  if (e.code === 'INVALID_ARGUMENT') session.log.warn({ source, errors: e.fieldErrors }, 'config rejected');
  throw e;
};

export function currentState(session: Session): State {
  if (!session.state) throw new TetherError('UNAVAILABLE', 'no config is loaded');
  return session.state;
}
