/**
 * The control layer: every change to the served config (admin API, CLI, config file) goes
 * through the config manager, which validates, diffs, stores and publishes it.
 */
export { openConfigManager, type ConfigManager, type ConfigManagerOptions } from './config-manager';
export { createPublisher, type Publisher, type PublisherOptions, type PreparedConfig, type ServedConfig } from './publisher';
export { configWarnings, countByKind, formatWarnings, type ConfigWarning } from './config-warnings';
export {
  addEndpoint,
  deleteBackend,
  deleteRoute,
  deleteService,
  drainEndpoint,
  edits,
  promote,
  removeEndpoint,
  setSplit,
  upsertBackend,
  upsertRoute,
  upsertService,
} from './mutations';
export { rewritePaths } from './document';
export type { ConfigDocument, ConfigManagerApi, CurrentConfig, DocumentEdit, MutationOptions, MutationResult, PathRewrite } from './types';
