import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config';
import { parseYaml } from '../../src/config/yaml-source';

/**
 * Bad input gets an error naming its field, never "internal error while validating": every
 * object and list in the example configs is replaced, one at a time, by values of the wrong
 * type. Checks that run even when a sibling failed (schema-primitives ALWAYS) once read such a
 * value as an object (`backends: [null]` answered "Cannot read properties of null").
 */
const EXAMPLES = join(__dirname, '../../examples');
const WRONG: unknown[] = [null, 7, 'text', true, []];

type Path = (string | number)[];

function containers(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  if (typeof value !== 'object' || value === null) return out;
  if (path.length > 0) out.push(path);
  for (const [k, v] of Object.entries(value)) containers(v, [...path, Array.isArray(value) ? Number(k) : k], out);
  return out;
}

function replaced(doc: unknown, path: Path, wrong: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = wrong;
  return copy;
}

describe('wrong-typed values in a config', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

  it('has examples to mutate', () => {
    expect(files.length).toBeGreaterThan(3);
  });

  it.each(files)('%s: each object or list replaced by null, a number, a string, a boolean or [] is an error naming a field', (file) => {
    const parsed = parseYaml(readFileSync(join(EXAMPLES, file), 'utf8'), file);
    if (!parsed.ok) throw new Error(`${file} does not parse`);
    expect(validateConfig(parsed.value).ok).toBe(true);
    const paths = containers(parsed.value);
    expect(paths.length).toBeGreaterThan(3);
    for (const path of paths) {
      for (const wrong of WRONG) {
        if (Array.isArray(wrong) && Array.isArray(pathValue(parsed.value, path))) continue;
        const result = validateConfig(replaced(parsed.value, path, wrong));
        const where = `${path.join('.')} = ${JSON.stringify(wrong)}`;
        if (result.ok) continue; // e.g. an optional list left empty
        for (const e of result.errors) {
          expect(e.message, where).not.toMatch(/internal error/);
        }
        expect(result.errors.some((e) => e.path !== ''), `${where}: ${JSON.stringify(result.errors)}`).toBe(true);
      }
    }
  });
});

function pathValue(doc: unknown, path: Path): unknown {
  let at = doc as Record<string | number, unknown>;
  for (const key of path) at = at[key] as Record<string | number, unknown>;
  return at;
}
