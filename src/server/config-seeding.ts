/**
 * The config Tether starts from: the config file (or the built-in default) is read once, seeds
 * an empty history, and is otherwise only compared with what the history holds (its hash tells
 * a restart whether the file changed while Tether was down). It is parsed only when it is used:
 * a restart whose file is unchanged reads the store's compact JSON instead (at 10,000 services
 * the YAML parse alone is seconds of CPU).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatErrors, parseConfigDocument, DEFAULT_CONFIG_YAML } from '../config';
import type { DocumentResult, FieldError } from '../config';
import { prefetchConfigText, type YamlPrefetch } from '../config/yaml-prefetch';
import { openConfigManager, type ConfigManager, type ConfigManagerOptions } from '../control/config-manager';
import { toTetherError } from '../config/errors';
import type { Publisher } from '../control/publisher';
import { deepFreeze } from '../control/config-hash';
import { setSecretFileRules } from '../extproc';
import type { Logger } from '../log';
import type { ConfigStore } from '../store/types';
import type { TetherOptions } from './tether-options';

const DEFAULT_SOURCE_LABEL = 'built-in default config';

let lastHashed: { text: string; hash: string } | undefined;

/** Identifies a config file's text, so a restart can tell whether the file changed meanwhile. */
export function fileHash(text: string): string {
  // A start asks twice for the same (megabytes of) text: before and while seeding.
  if (lastHashed?.text === text) return lastHashed.hash;
  const hash = createHash('sha256').update(text).digest('hex');
  lastHashed = { text, hash };
  return hash;
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
  /** The parsed text; parses on the first call only. */
  document(): DocumentResult | Promise<DocumentResult>;
  /**
   * Starts reading a large file on a worker thread (config/yaml-prefetch.ts) when the history
   * will need it, i.e. unless it already holds this file as its newest file version.
   */
  prefetch?(store: ConfigStore): Promise<void>;
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
  let prefetched: YamlPrefetch | undefined;
  let parsed: Promise<DocumentResult> | undefined;
  const parse = async () => {
    const result = prefetched ? await prefetched.document(label) : parseConfigDocument(initialText, label);
    // Frozen, the checked document is what the config manager keeps as it is, instead of
    // copying all of it again before validating (a second copy of 5 MB on a cold start).
    if (result.ok) deepFreeze(result.document);
    return result;
  };
  return {
    label,
    text: initialText,
    document: () => (parsed ??= parse()),
    prefetch: async (store) => {
      if (!configPath || prefetched || parsed) return;
      if (await unchangedSinceLastRun(store, fileHash(initialText))) return;
      prefetched = prefetchConfigText(initialText);
    },
  };
}

/**
 * Whether the history already holds this file's text as its newest file version: then the
 * config manager neither seeds nor re-applies it (the same test as its start-up), and the file
 * need not be parsed.
 */
async function unchangedSinceLastRun(store: ConfigStore, hash: string | undefined): Promise<boolean> {
  if (hash === undefined) return false;
  // list(), not current(): metadata only, the stored document is read once, by the manager.
  const lastFromFile = (await store.list()).find((m) => m.fileHash !== undefined);
  return lastFromFile !== undefined && lastFromFile.fileHash === hash;
}

/** What the config manager seeds an empty history with, or applies when the file changed. */
async function initialVersion(
  initial: InitialConfig,
  hash: string | undefined,
  store: ConfigStore,
  logger: Logger,
): Promise<ConfigManagerOptions['initial']> {
  const { label } = initial;
  // Not read: the history is not empty and its newest file version has this hash.
  if (await unchangedSinceLastRun(store, hash)) return { document: {}, source: 'file', description: label, fileHash: hash! };
  const parsed = await initial.document();
  if (!parsed.ok && !(await store.current())) throw new ConfigRejectedError(parsed.errors);
  if (!parsed.ok) {
    logger.error({ source: label, errors: parsed.errors }, `config file rejected; serving the stored version:\n${formatErrors(parsed.errors)}`);
    // A file that does not parse seeds nothing and, without a fileHash, replaces nothing.
    return { document: {}, source: 'file', description: label };
  }
  return {
    document: parsed.document,
    source: hash !== undefined ? 'file' : 'default',
    description: label,
    ...(hash !== undefined ? { fileHash: hash } : {}),
  };
}

/**
 * Opens the config manager on the history, seeded with the initial config when the history is
 * empty. A config the history cannot start from is a ConfigRejectedError naming every field.
 */
export async function openSeededManager(
  initial: InitialConfig,
  options: TetherOptions,
  parts: { store: ConfigStore; publisher: Publisher; logger: Logger; headStart?: ConfigManagerOptions['headStart'] },
): Promise<ConfigManager> {
  const { store, publisher, logger } = parts;
  const configPath = options.configPath;
  try {
    return await openConfigManager({
      store,
      publisher,
      logger,
      ...(configPath ? { configSource: { mode: options.configSource ?? 'auto', file: configPath } } : {}),
      initial: await initialVersion(initial, configPath ? fileHash(initial.text) : undefined, store, logger),
      ...(parts.headStart ? { headStart: parts.headStart } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigRejectedError) throw err;
    const e = toTetherError(err);
    throw e.code === 'INVALID_ARGUMENT' ? new ConfigRejectedError(e.fieldErrors) : e;
  }
}
