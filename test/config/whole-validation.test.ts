/**
 * The full validation in steps (src/config/whole-validation.ts): each list entry through its own
 * schema, the rest of the document through the config's schema, merged in the order the schema
 * of the whole document gives; the same errors, messages and order as validating it at once
 * (the oracle below: the config's schema and the cross-checks over the whole document).
 */
import { describe, expect, it } from 'vitest';
import { validateConfigSteps } from '../../src/config';
import { crossCheck } from '../../src/config/cross-check';
import { dedupeErrors, type FieldError } from '../../src/config/field-errors';
import { withoutNulls } from '../../src/config/plain-data';
import { configSchema } from '../../src/config/schema';
import { runSchema } from '../../src/config/zod-issues';
import { configDocument } from '../../bench/xds/config-gen';

function atOnce(raw: unknown): FieldError[] {
  const cleaned = withoutNulls(raw);
  if ('cycle' in cleaned) throw new Error('no cycles here');
  const schema = runSchema(configSchema, cleaned.value);
  return dedupeErrors([...(schema.ok ? [] : schema.errors), ...crossCheck(cleaned.value)]);
}

function stepped(raw: unknown): { errors: FieldError[]; steps: number } {
  const g = validateConfigSteps(raw);
  let steps = 0;
  let r = g.next();
  for (; !r.done; r = g.next()) steps++;
  return { errors: r.value.ok ? [] : r.value.errors, steps };
}

describe('a config with mistakes, validated whole in steps', () => {
  it('names every mistake in the order of the whole schema: listeners, services, backends, extProc, then unknown top-level fields', () => {
    const doc = {
      zzz: 1,
      extProc: { bogus: 1 },
      backends: [{ name: 'b', endpoints: [], x: 1 }, { name: 'c', endpoints: ['10.0.0.2:80'] }, { name: 'b', endpoints: ['10.0.0.1:80'] }],
      services: [{ name: 1, routes: [] }, { name: 's', routes: [{ backends: [{ name: 'nope', weight: -1 }] }], junk: true }],
      listeners: [{ name: 'l', port: 'x' }],
      aaa: 2,
    };
    const { errors } = stepped(doc);
    expect(errors).toEqual(atOnce(doc));
    expect(errors.map((e) => e.path)).toEqual([
      'listeners[0].port',
      'services[0].name',
      'services[0].routes',
      'services[1].routes[0].backends[0].weight',
      'services[1]',
      'backends[0].endpoints',
      'backends[0]',
      'extProc',
      '',
      '',
      'backends[2].name',
      'services[1].routes[0].backends[0].name',
      'services[1].domains',
    ]);
  });

  it('lists that are not lists, and a document without lists', () => {
    for (const doc of [{ services: 'x', backends: {} }, { listeners: [{ name: 'l', port: 1 }, { name: 'l', port: 1 }] }, { extProc: 1, zzz: null }]) {
      expect(stepped(doc).errors).toEqual(atOnce(doc));
    }
  });

  it('steps per few entries, with the errors of checking the document at once', () => {
    const doc = configDocument(400) as { services: Array<{ routes: Array<{ backends: Array<Record<string, unknown>> }> }>; backends: Array<Record<string, unknown>> };
    doc.services[0].routes[0].backends[0].weight = 1.5;
    doc.backends[399].port = 1;
    doc.services[399].routes[1].backends[0].name = 'svc-4000-v1';
    const { errors, steps } = stepped(doc);
    expect(errors).toEqual(atOnce(doc));
    expect(errors).toHaveLength(3);
    // Null-stripping, size, schema and cross-checks each step every 16 entries of 800.
    expect(steps).toBeGreaterThanOrEqual((4 * 800) / 16);
  });
});
