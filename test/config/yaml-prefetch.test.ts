/**
 * A config text read on a worker thread (src/config/yaml-prefetch.ts) gives exactly
 * parseConfigDocument's result: the same document (key order included) for plain YAML, and for
 * everything the worker does not hand over (values JSON does not hold exactly, anchors, tags,
 * syntax errors, an empty text) the text read on this thread, with the same errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigDocument } from '../../src/config';
import { prefetchConfigText } from '../../src/config/yaml-prefetch';
import { jsonExact } from '../../src/config/json-exact';
import { configDocument } from '../../bench/xds/config-gen';

const EXAMPLES = path.resolve(__dirname, '../../examples');

/** The result with every object's keys in order (toEqual ignores key order). */
function ordered(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `#${String(v)}` : Object.is(v, -0) ? '#-0' : v));
}

/** The same result either way; returns whether the worker handed its value over. */
async function expectSame(text: string): Promise<boolean> {
  const prefetch = prefetchConfigText(text, 0);
  const viaWorker = await prefetch.document('config.yaml');
  const here = parseConfigDocument(text, 'config.yaml');
  expect(viaWorker).toEqual(here);
  expect(ordered(viaWorker)).toBe(ordered(here));
  return prefetch.handedOver;
}

describe('a config text read on a worker thread', () => {
  it('is the document parseConfigDocument reads, for every example and a generated config', { timeout: 60_000 }, async () => {
    const handedOver: boolean[] = [];
    for (const file of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'))) {
      handedOver.push(await expectSame(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')));
    }
    expect(handedOver.filter(Boolean).length).toBeGreaterThan(handedOver.length / 2);
    expect(await expectSame(stringify(configDocument(200)))).toBe(true);
  });

  it('falls back to reading here where JSON would change the value or the fast reader refuses', { timeout: 60_000 }, async () => {
    const texts: Array<[string, boolean]> = [
      ['services: [{ name: a, routes: [{ backends: [{ name: b, weight: .inf }] }] }]\n', false],
      ['services: [{ name: a, routes: [{ backends: [{ name: b, weight: -0.0 }] }] }]\n', false],
      ['services: [{ name: a, routes: [{ backends: [{ name: b, weight: .nan }] }] }]\n', false],
      ['__proto__: { x: 1 }\nservices: []\n', false],
      ['base: &b { name: v1 }\nbackends: [*b]\n', false],
      ['services: !!str 1\n', false],
      ['services: [\n', false],
      ['services: []\nservices: []\n', false],
      ['', false],
      ['# nothing\n', false],
      // Plain and exact in JSON: handed over, nulls and key order (integer-like keys first) kept.
      ['listeners: ~\nservices: [{ name: a, domains: null }]\n', true],
      ['"1": one\n"0": zero\nb: 2\na: 1\n', true],
    ];
    for (const [text, handedOver] of texts) expect(await expectSame(text)).toBe(handedOver);
  });

  it('hands over only values JSON holds exactly', () => {
    expect(jsonExact({ a: [1, 'x', null, true, { b: 2.5 }] })).toBe(true);
    expect(jsonExact({ a: Infinity })).toBe(false);
    expect(jsonExact({ a: NaN })).toBe(false);
    expect(jsonExact({ a: -0 })).toBe(false);
    expect(jsonExact(JSON.parse('{"__proto__": 1}'))).toBe(false);
    expect(jsonExact({ a: new Date(0) })).toBe(false);
    // eslint-disable-next-line no-sparse-arrays
    expect(jsonExact([1, , 2])).toBe(false);
    expect(jsonExact({ a: undefined })).toBe(false);
  });
});
