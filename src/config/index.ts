export {
  DEFAULT_CONFIG_YAML,
  configDocument,
  defaultConfig,
  formatErrors,
  MAX_CONFIG_BYTES,
  parseConfigDocument,
  parseConfigText,
  validateConfig,
  type DocumentResult,
  type FieldError,
  type ParseResult,
} from './parse';
export { parseDuration } from './durations';
export { ValidationMemo } from './incremental';
