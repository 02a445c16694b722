/**
 * The config Tether starts from: the config file (or the built-in default) is read and parsed
 * once, seeds an empty history, and is otherwise only compared with what the history holds
 * (its hash tells a restart whether the file changed while Tether was down).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatErrors, parseConfigDocument, DEFAULT_CONFIG_YAML } from '../config';
import type { FieldError } from '../config';
import { openConfigManager, type ConfigManager } from '../control/config-manager';
import { toTetherError } from '../config/errors';
import type { Publisher } from '../control/publisher';
import { setSecretFileRules } from '../extproc';
import type { Logger } from '../log';
import type { ConfigStore } from '../store/types';
import type { TetherOptions } from './tether-options';

const DEFAULT_SOURCE_LABEL = 'built-in default config';

/** Identifies a config file's text, so a restart can tell whether the file changed meanwhile. */
export function fileHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ConfigRejectedError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid config:\n${formatErrors(errors)}`);
    this.name = 'ConfigRejectedError';
  }
}

export interface InitialConfig {
  /** The config file, or the built-in default's label (logs and the history's description). */
  label: string;
  text: string;
  document: ReturnType<typeof parseConfigDocument>;
}

/** Reads and parses the config file (or the built-in default), under the key-file directory rule. */
export function readInitialConfig(options: TetherOptions, dataDir: string): InitialConfig {
  const configPath = options.configPath;
  const label = configPath ?? DEFAULT_SOURCE_LABEL;
  // Before anything validates a config: the directory rule is part of what a valid config is.
  setSecretFileRules({
    dir: options.secretsDir ?? (configPath ? path.dirname(path.resolve(configPath)) : path.dirname(dataDir)),
    refuse: [dataDir, ...(options.admin && options.admin.tokenFile ? [options.admin.tokenFile] : [])],
  });
  const initialText = configPath ? fs.readFileSync(configPath, 'utf8') : DEFAULT_CONFIG_YAML;
  const initialDocument = parseConfigDocument(initialText, label);
  return { label, text: initialText, document: initialDocument };
}

/**
 * Opens the config manager on the history, seeded with the initial config when the history is
 * empty. A config the history cannot start from is a ConfigRejectedError naming every field.
 */
export async function openSeededManager(
  initial: InitialConfig,
  options: TetherOptions,
  parts: { store: ConfigStore; publisher: Publisher; logger: Logger },
): Promise<ConfigManager> {
  const { store, publisher, logger } = parts;
  const { label, text: initialText, document: initialDocument } = initial;
  const configPath = options.configPath;
  try {
    if (!initialDocument.ok && !(await store.current())) throw new ConfigRejectedError(initialDocument.errors);
    if (!initialDocument.ok) {
      logger.error({ source: label, errors: initialDocument.errors }, `config file rejected; serving the stored version:\n${formatErrors(initialDocument.errors)}`);
    }
    return await openConfigManager({
      store,
      publisher,
      logger,
      ...(configPath ? { configSource: { mode: options.configSource ?? 'auto', file: configPath } } : {}),
      // A file that does not parse seeds nothing and, without a fileHash, replaces nothing.
      initial: initialDocument.ok
        ? {
            document: initialDocument.document,
            source: configPath ? 'file' : 'default',
            description: label,
            ...(configPath ? { fileHash: fileHash(initialText) } : {}),
          }
        : { document: {}, source: 'file', description: label },
    });
  } catch (err) {
    if (err instanceof ConfigRejectedError) throw err;
    const e = toTetherError(err);
    throw e.code === 'INVALID_ARGUMENT' ? new ConfigRejectedError(e.fieldErrors) : e;
  }
}
