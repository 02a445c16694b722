/**
 * A config file's text applied as a whole config (the file watcher, `Tether.applyText`): on any
 * error nothing changes, the refusal is counted and logged with every field's message.
 */
import { formatErrors, parseConfigDocument } from '../config';
import type { FieldError } from '../config';
import type { ConfigManager } from '../control/config-manager';
import { toTetherError, type TetherErrorCode } from '../config/errors';
import type { Logger } from '../log';
import { fileHash } from './config-seeding';
import type { ApplyResult } from './tether-options';

export interface ApplyTextOptions {
  manager: ConfigManager;
  /** The configured file: text from it is recorded as source "file", with its hash. */
  configPath: string | undefined;
  countRejected: (code: TetherErrorCode, from: 'api' | 'file') => void;
  logger: Logger;
}

export function createApplyText(options: ApplyTextOptions): (text: string, source: string) => Promise<ApplyResult> {
  const { manager, configPath, countRejected, logger } = options;
  return async (text: string, source: string): Promise<ApplyResult> => {
    const fromFile = configPath !== undefined && source === configPath;
    const parsed = parseConfigDocument(text, source);
    let errors: FieldError[];
    let lastError: unknown;
    if (parsed.ok) {
      try {
        const result = await manager.apply(parsed.document, {
          source: fromFile ? 'file' : 'apply',
          description: source,
          ...(fromFile ? { fileHash: fileHash(text) } : {}),
        });
        return { ok: true, version: String(result.version), changed: result.changed };
      } catch (err) {
        lastError = err;
        const e = toTetherError(err);
        errors = e.fieldErrors.length > 0 ? e.fieldErrors : [{ path: '', message: e.message }];
      }
    } else {
      errors = parsed.errors;
    }
    countRejected(parsed.ok ? toTetherError(lastError).code : 'INVALID_ARGUMENT', fromFile ? 'file' : 'api');
    logger.error({ source, errors }, `config rejected; still serving version ${manager.current().version}:\n${formatErrors(errors)}`);
    return { ok: false, errors };
  };
}
