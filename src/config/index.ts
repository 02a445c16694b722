export {
  DEFAULT_CONFIG_YAML,
  configDocument,
  configDocumentSteps,
  defaultConfig,
  formatErrors,
  MAX_CONFIG_BYTES,
  parseConfigDocument,
  parseConfigText,
  validateConfig,
  validateConfigSteps,
  type DocumentResult,
  type FieldError,
  type ParseResult,
} from './parse';
export { parseDuration } from './durations';
export { ValidationMemo } from './incremental';
