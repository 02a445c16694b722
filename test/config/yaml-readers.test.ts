/**
 * The two YAML readers (src/config/yaml-source.ts): js-yaml's fast path must read every
 * plain-data document exactly as `yaml` does, and leave to `yaml` every text where they could
 * differ (tags, directives, anchors and aliases, errors), so error messages keep their lines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configDocument } from '../../bench/xds/config-gen';
import { parseYaml, readPlainYaml } from '../../src/config/yaml-source';

const bySlowReader = (text: string) => parseDocument(text, { uniqueKeys: true, merge: true }).toJS();

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));
}

describe('YAML readers', () => {
  it('the fast path reads the examples, the golden inputs and a generated config as `yaml` does', () => {
    const texts = [...yamlFiles('examples'), ...yamlFiles('test/golden').filter((f) => f.endsWith('input.yaml'))].map((f) => fs.readFileSync(f, 'utf8'));
    texts.push(stringify(configDocument(50)));
    let fast = 0;
    for (const text of texts) {
      const plain = readPlainYaml(text);
      if (plain) fast++;
      expect(parseYaml(text)).toEqual({ ok: true, value: bySlowReader(text) });
    }
    // Most of them are plain data; the check above is vacuous if none took the fast path.
    expect(fast).toBeGreaterThan(texts.length / 2);
  });

  it('reads YAML 1.2 core scalars as `yaml` does', () => {
    const scalars = ['1', '-1', '+1', '0o17', '017', '0x1F', '0b101', '1.5', '1e3', '.5', '.inf', '-.inf', '.nan', 'true', 'True', 'yes', 'on', 'no', 'null', '~', '', '2001-12-14', '12:30:45', '"1"', "'x'", '1_000'];
    for (const s of scalars) {
      const text = `a: ${s}\nb: [${s || 'x'}]\n`;
      expect(readPlainYaml(text), s).toBeDefined();
      expect(parseYaml(text), s).toEqual({ ok: true, value: bySlowReader(text) });
    }
  });

  it('leaves tags, directives, anchors, aliases and bad YAML to `yaml`', () => {
    for (const text of [
      'a: !!float 3\n',
      'a: !custom x\n',
      '%YAML 1.1\n---\na: yes\n',
      'a: &x 1\nb: *x\n',
      'base: &b {x: 1}\nc:\n  <<: *b\n',
      'a: 1\na: 2\n',
      '---\na: 1\n---\nb: 2\n',
      '',
    ]) {
      expect(readPlainYaml(text), text).toBeUndefined();
    }
    expect(parseYaml('%YAML 1.1\n---\na: yes\n')).toEqual({ ok: true, value: { a: true } });
    expect(parseYaml('a: !!float 3\n')).toEqual({ ok: true, value: { a: '3' } });
    const dup = parseYaml('services:\n  - name: a\n    name: b\n', 'c.yaml');
    expect(dup.ok).toBe(false);
    expect(!dup.ok && dup.errors[0]!.message).toMatch(/^c\.yaml:3:5: Map keys must be unique/);
  });

  it('a merge key without aliases reads as `yaml` reads it', () => {
    const text = 'a:\n  <<: {x: 1, y: 2}\n  y: 3\n';
    expect(readPlainYaml(text)).toBeDefined();
    expect(parseYaml(text)).toEqual({ ok: true, value: bySlowReader(text) });
  });
});
