import { checkEnvoyRegex } from '../regex';

/**
 * A route regex is accepted only if Envoy will accept it: RE2 compiles it (as Envoy does, in
 * Latin-1 mode) and its program is within Envoy's default `re2.max_program_size.error_level`
 * (100). See src/regex/.
 */
export function checkRegex(pattern: string): string | undefined {
  return checkEnvoyRegex(pattern);
}
