/**
 * Reads a console API request's JSON body field by field, collecting every problem with the
 * field's name; `done()` throws them all as INVALID_ARGUMENT (HTTP 400), so a wrong body
 * never reaches the admin functions half-read.
 */
import type { FieldError } from '../config';
import { TetherError } from '../config/errors';

const MAX_STRING = 8192;
const MAX_ENTRIES = 1000;

export class BodyReader {
  private readonly errors: FieldError[] = [];
  private readonly seen = new Set<string>();
  private readonly body: Record<string, unknown>;

  constructor(body: unknown) {
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) this.body = body as Record<string, unknown>;
    else {
      this.body = {};
      this.errors.push({ path: '', message: 'the body must be a JSON object' });
    }
  }

  private get(name: string): unknown {
    this.seen.add(name);
    return this.body[name];
  }

  string(name: string, required = false): string {
    const v = this.get(name);
    if (v === undefined || v === null || v === '') {
      if (required) this.errors.push({ path: name, message: 'required' });
      return '';
    }
    if (typeof v !== 'string') this.errors.push({ path: name, message: `must be a string, got ${typeof v}` });
    else if (v.length > MAX_STRING) this.errors.push({ path: name, message: `at most ${MAX_STRING} characters` });
    else return v;
    return '';
  }

  uint(name: string): number {
    const v = this.get(name);
    if (v === undefined || v === null || v === '') return 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      this.errors.push({ path: name, message: `must be a whole number from 0 to ${0xffffffff}` });
      return 0;
    }
    return v;
  }

  private map(name: string): Array<[string, unknown]> {
    const v = this.get(name);
    if (v === undefined || v === null) return [];
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.errors.push({ path: name, message: 'must be an object of name → value' });
      return [];
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > MAX_ENTRIES) {
      this.errors.push({ path: name, message: `at most ${MAX_ENTRIES} entries` });
      return [];
    }
    return entries;
  }

  stringMap(name: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of this.map(name)) {
      if (typeof value === 'string' && value.length <= MAX_STRING) out[key] = value;
      else this.errors.push({ path: `${name}.${key}`, message: 'must be a string' });
    }
    return out;
  }

  uintMap(name: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, value] of this.map(name)) {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) out[key] = value;
      else this.errors.push({ path: `${name}.${key}`, message: 'must be a whole number >= 0' });
    }
    return out;
  }

  strings(name: string): string[] {
    const v = this.get(name);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.errors.push({ path: name, message: 'must be a list of strings' });
      return [];
    }
    return v as string[];
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.string(name, true);
    if (v && !(values as readonly string[]).includes(v)) this.errors.push({ path: name, message: `must be one of ${values.join(', ')}` });
    return (values as readonly string[]).includes(v) ? (v as T) : undefined;
  }

  /** Throws every problem found, and names fields the body has that nothing read. */
  done(): void {
    for (const key of Object.keys(this.body)) if (!this.seen.has(key)) this.errors.push({ path: key, message: 'unknown field' });
    if (this.errors.length > 0) throw TetherError.invalid(this.errors, 'invalid request');
  }
}
