/**
 * Reading a decoded request into checked values. Each reader collects problems as
 * FieldErrors named by the request's own field path (`options.expected_version`,
 * `service.name`), and `done()` throws them all as one INVALID_ARGUMENT: a malformed request
 * never reaches the config manager.
 */
import type { FieldError } from '../config';
import { parseHostPort } from '../util/addresses';
import { NAME_PATTERN } from '../config/schema-primitives';
import type { MutationOptions } from '../control/types';
import type { MutationOptions__Output } from '../generated/tether/tether/admin/v1/MutationOptions';
import type { Struct__Output } from '../generated/tether/google/protobuf/Struct';
import { readUint64, structToObject } from './convert';
import { invalidRequest } from './errors';

const MAX_NAME = 253;
const MAX_ADDRESS = 300;
const MAX_DESCRIPTION = 4096;

/** How a name is quoted in a message: bounded, since it came from the client. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function nameProblem(value: string): string | undefined {
  if (value.length > MAX_NAME) return `must be at most ${MAX_NAME} characters`;
  if (!NAME_PATTERN.test(value)) return `${quote(value)} is not a valid name (lowercase letters, digits, '-' or '.', starting and ending with a letter or digit)`;
  return undefined;
}

export class RequestFields {
  readonly errors: FieldError[] = [];

  /** A required resource name (service, route, backend). */
  name(value: string | undefined, path: string): string {
    if (!value) {
      this.errors.push({ path, message: 'required' });
      return '';
    }
    const problem = nameProblem(value);
    if (problem) this.errors.push({ path, message: problem });
    return value;
  }

  /** A name that may be empty (meaning "not given"). */
  optionalName(value: string | undefined, path: string): string | undefined {
    return value ? this.name(value, path) : undefined;
  }

  /**
   * A required Struct document (a service, route or backend entry). Its content, name
   * included, is checked by the edit and the config validator, with paths under `path`.
   */
  document(struct: Struct__Output | null | undefined, path: string): Record<string, unknown> {
    return structToObject(struct, [path], this.errors);
  }

  /** A required endpoint address, `host:port`. */
  address(value: string | undefined, path: string): string {
    if (!value) {
      this.errors.push({ path, message: 'required' });
      return '';
    }
    if (value.length > MAX_ADDRESS) {
      this.errors.push({ path, message: `must be at most ${MAX_ADDRESS} characters` });
      return value;
    }
    const parsed = parseHostPort(value);
    if ('error' in parsed) this.errors.push({ path, message: parsed.error });
    return value;
  }

  uint64(value: string | number | null | undefined, path: string): number {
    return readUint64(value, [path], this.errors);
  }

  /** MutationOptions (absent → defaults). */
  mutationOptions(options: MutationOptions__Output | null | undefined): MutationOptions {
    const description = options?.description ?? '';
    if (description.length > MAX_DESCRIPTION) this.errors.push({ path: 'options.description', message: `must be at most ${MAX_DESCRIPTION} characters` });
    const expectedVersion = this.uint64(options?.expected_version, 'options.expected_version');
    return {
      dryRun: options?.dry_run ?? false,
      ...(expectedVersion > 0 ? { expectedVersion } : {}),
      ...(description ? { description } : {}),
    };
  }

  problem(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** Throws every collected problem as INVALID_ARGUMENT. */
  done(): void {
    if (this.errors.length > 0) throw invalidRequest(this.errors);
  }
}
