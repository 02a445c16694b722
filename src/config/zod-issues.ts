import { z } from 'zod';
import { formatPath, type FieldError } from './field-errors';
import { closest, unknownFieldMessage } from './suggestions';

/**
 * Runs a zod schema and turns its issues into FieldErrors with short messages. Zod's own
 * wording ("Invalid input: expected string, received number") is replaced because these
 * messages are read by people editing YAML, often through an admin API response.
 */

type Issue = z.core.$ZodRawIssue;

export type SchemaResult<T> = { ok: true; data: T } | { ok: false; errors: FieldError[] };

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
};

function typeMessage(iss: Issue): string {
  const input: unknown = iss.input;
  if (input === undefined) return 'required';
  const expected = String(iss['expected']);
  if (expected === 'int' && typeof input === 'number') return 'must be a whole number';
  const base = `must be ${TYPE_NAMES[expected] ?? expected}`;
  // YAML makes these two easy to get wrong in both directions.
  if ((expected === 'number' || expected === 'int') && typeof input === 'string' && input.trim() !== '' && !Number.isNaN(Number(input))) {
    return `${base} (remove the quotes)`;
  }
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return `${base} (quote the value)`;
  }
  return base;
}

function valueMessage(iss: Issue): string {
  const values = (iss['values'] as unknown[] | undefined) ?? [];
  if (values.length === 1) return `must be ${JSON.stringify(values[0])}`;
  const names = values.map(String);
  const base = `must be one of: ${names.join(', ')}`;
  const near = typeof iss.input === 'string' ? closest(iss.input, names) : undefined;
  return near ? `${base}; did you mean '${near}'?` : base;
}

function sizeMessage(iss: Issue, small: boolean): string {
  const origin = String(iss['origin']);
  const bound = Number(small ? iss['minimum'] : iss['maximum']);
  const inclusive = iss['inclusive'] !== false;
  if (origin === 'array') {
    return small ? `must have at least ${bound} item${bound === 1 ? '' : 's'}` : `must have at most ${bound} items`;
  }
  if (origin === 'string') {
    if (small && bound === 1) return 'must not be empty';
    return small ? `must be at least ${bound} characters` : `must be at most ${bound} characters`;
  }
  if (small) return inclusive ? `must be >= ${bound}` : `must be > ${bound}`;
  return inclusive ? `must be <= ${bound}` : `must be < ${bound}`;
}

/** Known keys of the object schema that raised an unrecognized_keys issue. */
function shapeKeys(iss: Issue): string[] {
  const inst = iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined;
  return Object.keys(inst?._zod?.def?.shape ?? {});
}

/** `prefix`: where `input` sits in the document (an entry of a list validated alone), put before every error's path. */
export function runSchema<T>(schema: z.ZodType<T>, input: unknown, prefix: ReadonlyArray<string | number> = []): SchemaResult<T> {
  // The error map sees the schema behind each issue; the final issues do not, so the known
  // keys for "did you mean" are captured on the way through.
  const knownKeys = new Map<string, string[]>();
  const result = schema.safeParse(input, {
    error: (iss) => {
      switch (iss.code) {
        case 'invalid_type':
          return typeMessage(iss);
        case 'invalid_value':
          return valueMessage(iss);
        case 'too_small':
          return sizeMessage(iss, true);
        case 'too_big':
          return sizeMessage(iss, false);
        case 'unrecognized_keys':
          knownKeys.set(formatPath([...prefix, ...(iss.path ?? [])]), shapeKeys(iss));
          return 'unknown field';
        case 'invalid_key': {
          const inner = (iss['issues'] as Array<{ message?: string }> | undefined)?.[0];
          return inner?.message ?? 'invalid key';
        }
        case 'invalid_format':
          return 'has an invalid format';
        case 'invalid_union':
          return 'has an invalid value';
        default:
          return undefined;
      }
    },
  });
  if (result.success) return { ok: true, data: result.data };

  const errors: FieldError[] = [];
  for (const issue of result.error.issues) {
    const path = formatPath([...prefix, ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys.get(path) ?? [];
      for (const key of issue.keys) errors.push({ path, message: unknownFieldMessage(key, known) });
    } else {
      errors.push({ path, message: issue.message });
    }
  }
  return { ok: false, errors };
}
