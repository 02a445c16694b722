export { checkEnvoyRegex, envoyProgramSize, ENVOY_MAX_PROGRAM_SIZE, fullMatch, hasTopLevelAlternation, latin1Chars, MAX_REGEX_BYTES } from './re2-engine';
export { Re2SyntaxError } from './re2-parse';
