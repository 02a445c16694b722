/**
 * Which of two writers wins: the config file Tether was started with, or the admin API.
 * Without a rule a comment-only save of the file silently undid `tether split …` (issue 13).
 *
 * - `auto` (default): both may change the config, but a file change that would drop admin
 *   edits made since the file's last version is refused, loudly, until an operator decides
 *   (`tether apply -f FILE` makes the file win through the API).
 * - `file`: the file is the only truth (GitOps): every save is applied, admin mutations
 *   (and rollbacks) are refused.
 * - `api`: the file only seeds an empty history; after that the admin API owns the config
 *   and file changes are ignored.
 */
import { TetherError } from '../config/errors';

export type ConfigSourceMode = 'auto' | 'file' | 'api';
export const CONFIG_SOURCE_MODES: readonly ConfigSourceMode[] = ['auto', 'file', 'api'];

/** Sources that are the config file (or the built-in default standing in for one). */
const FILE_SOURCES = new Set(['file', 'default']);

export interface CurrentOrigin {
  version: number;
  source: string;
  description: string;
}

/** Why a change from `incoming` may not replace `current`, or undefined when it may. */
export function sourceConflict(mode: ConfigSourceMode, file: string | undefined, incoming: string, current: CurrentOrigin | undefined): TetherError | undefined {
  if (file === undefined) return undefined;
  const fromFile = incoming === 'file';
  if (mode === 'file') {
    if (FILE_SOURCES.has(incoming)) return undefined;
    return new TetherError('FAILED_PRECONDITION', `the config is managed by the file ${file} (--config-source file): edit the file instead`);
  }
  if (!fromFile || current === undefined) return undefined;
  if (mode === 'api') {
    return new TetherError('FAILED_PRECONDITION', `the config file ${file} changed; ignored, the admin API owns the config (--config-source api)`);
  }
  if (FILE_SOURCES.has(current.source)) return undefined;
  const what = current.description ? `${current.source}: ${current.description}` : current.source;
  return new TetherError(
    'FAILED_PRECONDITION',
    `the config file ${file} changed, but version ${current.version} (${what}) was made through the admin API after the file's last version, ` +
      `and applying the file would drop it: the file was NOT applied, version ${current.version} stays served. ` +
      `To make the file win, run \`tether apply -f ${file}\`, or start Tether with --config-source file; to keep admin edits and ignore the file, --config-source api.`,
  );
}
