export {
  DEFAULT_CONFIG_YAML,
  defaultConfig,
  formatErrors,
  parseConfigText,
  validateConfig,
  type FieldError,
  type ParseResult,
} from './parse';
export { parseDuration } from './durations';
