/**
 * parseConfigDocument keeps the fast YAML reader's tree instead of copying it (a cold start
 * reads 5 MB of YAML): the document must be the one the copying path gives, and count as
 * checked (the config manager then keeps it as it is once frozen).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDocument, parseConfigDocument } from '../../src/config';
import { parseYaml } from '../../src/config/yaml-source';
import { deepFreeze } from '../../src/control/config-hash';

const GOLDEN = path.join(__dirname, '..', 'golden');
const texts = fs
  .readdirSync(GOLDEN)
  .filter((c) => fs.existsSync(path.join(GOLDEN, c, 'input.yaml')))
  .map((c) => [c, fs.readFileSync(path.join(GOLDEN, c, 'input.yaml'), 'utf8')] as const);
texts.push(['odd keys and values', 'services:\n  - name: a\n    __proto__: { x: 1 }\n    n: .nan\n    list: [1, null, ~, { k: null }]\nbackends: []\n']);

describe('parseConfigDocument on the fast reader', () => {
  it.each(texts)('%s: equals the copied document, and is kept as checked', (_, text) => {
    const parsed = parseConfigDocument(text);
    const yaml = parseYaml(text);
    expect(parsed.ok && yaml.ok).toBe(true);
    if (!parsed.ok || !yaml.ok) return;
    const copied = configDocument(yaml.value ?? {});
    expect(copied.ok && parsed.document).toStrictEqual(copied.ok ? copied.document : undefined);
    const again = configDocument(deepFreeze(parsed.document));
    expect(again.ok && again.document).toBe(parsed.document);
  });

  it('a text with aliases takes the copying path: each alias is its own copy', () => {
    const r = parseConfigDocument('x: &shared { k: 1 }\ny: *shared\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.document.x).toEqual(r.document.y);
    expect(r.document.x).not.toBe(r.document.y);
  });
});
