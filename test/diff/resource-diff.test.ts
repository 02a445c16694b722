import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config';
import { unifiedDiff } from '../../src/diff/line-diff';
import { diffResources } from '../../src/diff/resource-diff';
import { buildSnapshot, type Snapshot } from '../../src/cache/snapshot';
import { NODE_KINDS, staticEndpoints, translate, type NodeKind } from '../../src/translate';

const labels = { from: 'a/x', to: 'b/x' };
const lines = (n: number, f: (i: number) => string = (i) => `line ${i}`) => Array.from({ length: n }, (_, i) => f(i + 1)).join('\n') + '\n';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', labels)).toBe('');
    expect(unifiedDiff('', '', labels)).toBe('');
  });

  it('one changed line with three lines of context each side', () => {
    const before = lines(10);
    const after = before.replace('line 5\n', 'line five\n');
    expect(unifiedDiff(before, after, labels)).toBe(
      ['--- a/x', '+++ b/x', '@@ -2,7 +2,7 @@', ' line 2', ' line 3', ' line 4', '-line 5', '+line five', ' line 6', ' line 7', ' line 8', ''].join('\n'),
    );
  });

  it('separate hunks for distant changes, one hunk for near ones', () => {
    const before = lines(30);
    const far = before.replace('line 2\n', 'two\n').replace('line 28\n', 'twenty-eight\n');
    const diff = unifiedDiff(before, far, labels);
    expect(diff.match(/^@@.*@@$/gm)).toEqual(['@@ -1,5 +1,5 @@', '@@ -25,6 +25,6 @@']);
    const near = before.replace('line 10\n', 'ten\n').replace('line 15\n', 'fifteen\n');
    expect(unifiedDiff(before, near, labels).match(/^@@.*@@$/gm)).toEqual(['@@ -7,12 +7,12 @@']);
  });

  it('pure insertions and deletions, including from or to nothing', () => {
    expect(unifiedDiff('a\nc\n', 'a\nb\nc\n', labels)).toBe('--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n a\n+b\n c\n');
    expect(unifiedDiff('a\nb\n', 'a\n', labels)).toBe('--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n a\n-b\n');
    expect(unifiedDiff('', 'x\n', labels)).toBe('--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+x\n');
    expect(unifiedDiff('x\n', '', labels)).toBe('--- a/x\n+++ b/x\n@@ -1 +0,0 @@\n-x\n');
  });

  it('removals come before additions within a changed block, common lines are kept', () => {
    expect(unifiedDiff('a\nb\nc\nd\n', 'a\nB\nc\nD\n', labels)).toBe('--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n-d\n+D\n');
  });

  it('stays fast on large texts', () => {
    const before = lines(5000);
    const after = lines(5000, (i) => (i % 1000 === 0 ? `changed ${i}` : `line ${i}`));
    const started = Date.now();
    const diff = unifiedDiff(before, after, labels);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(diff.match(/^-line/gm)).toHaveLength(5);
    expect(diff.match(/^\+changed/gm)).toHaveLength(5);
  });

  it('shows a wholly different large text as replaced', () => {
    const diff = unifiedDiff(lines(2500), lines(2500, (i) => `other ${i}`), labels);
    expect(diff.match(/^@@.*@@$/gm)).toEqual(['@@ -1,2500 +1,2500 @@']);
    expect(diff.match(/^-/gm)).toHaveLength(2501); // with the '---' label
    expect(diff.split('\n')[3 + 2500]).toBe('+other 1');
  });
});

function resources(yaml: string): Map<NodeKind, Snapshot> {
  const parsed = parseConfigText(yaml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return new Map(NODE_KINDS.map((k) => [k, buildSnapshot(translate(parsed.config, staticEndpoints(parsed.config), k), k, '1')]));
}

const BASE = `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    routes: [{ backends: [{ name: shop-v1 }] }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:8080", "10.0.0.2:8080"]
`;

describe('diffResources', () => {
  it('everything is ADDED when nothing was served, in kind, type and name order', () => {
    const changes = diffResources(undefined, resources(BASE));
    expect(changes.map((c) => `${c.nodeKind} ${c.type} ${c.name} ${c.action}`)).toEqual([
      'envoy LDS http ADDED',
      'envoy RDS http ADDED',
      'envoy CDS shop-v1 ADDED',
      'envoy EDS shop-v1 ADDED',
      'grpc LDS shop ADDED',
      'grpc RDS shop ADDED',
      'grpc CDS shop-v1 ADDED',
      'grpc EDS shop-v1 ADDED',
    ]);
    expect(changes.every((c) => c.diff === undefined)).toBe(true);
  });

  it('no changes for equal resources', () => {
    expect(diffResources(resources(BASE), resources(BASE))).toEqual([]);
  });

  it('a drained endpoint modifies EDS only, with a diff of the YAML form', () => {
    const after = resources(BASE.replace('"10.0.0.2:8080"', '{ address: "10.0.0.2:8080", drain: true }'));
    const changes = diffResources(resources(BASE), after);
    expect(changes.map((c) => `${c.nodeKind} ${c.type} ${c.name} ${c.action}`)).toEqual(['envoy EDS shop-v1 MODIFIED', 'grpc EDS shop-v1 MODIFIED']);
    const diff = changes[0]!.diff!;
    expect(diff.split('\n').slice(0, 2)).toEqual(['--- a/envoy/EDS/shop-v1', '+++ b/envoy/EDS/shop-v1']);
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual(['+        health_status: DRAINING']);
    expect(diff).toMatch(/^ +address: 10\.0\.0\.2$/m);
  });

  it('a new backend in a split: CDS and EDS added, RDS modified; a removed backend: REMOVED', () => {
    const split = BASE.replace('[{ name: shop-v1 }]', '[{ name: shop-v1, weight: 90 }, { name: shop-v2, weight: 10 }]') + '  - name: shop-v2\n    endpoints: ["10.0.1.1:8080"]\n';
    const changes = diffResources(resources(BASE), resources(split));
    expect(changes.filter((c) => c.nodeKind === 'envoy').map((c) => `${c.type} ${c.name} ${c.action}`)).toEqual([
      'RDS http MODIFIED',
      'CDS shop-v2 ADDED',
      'EDS shop-v2 ADDED',
    ]);
    const back = diffResources(resources(split), resources(BASE));
    expect(back.filter((c) => c.nodeKind === 'grpc').map((c) => `${c.type} ${c.name} ${c.action}`)).toEqual([
      'RDS shop MODIFIED',
      'CDS shop-v2 REMOVED',
      'EDS shop-v2 REMOVED',
    ]);
  });

  it('a route configuration is diffed per virtual host: only the changed one is shown, labelled by its name', () => {
    const many = (weight: number) =>
      [
        'listeners: [{ name: http, port: 10000 }]',
        'services:',
        ...Array.from({ length: 50 }, (_, i) => `  - name: s${i}\n    domains: [s${i}.example]\n    routes: [{ backends: [{ name: b${i}, weight: ${i === 7 ? weight : 1} }, { name: b${i}x, weight: 1 }] }]`),
        'backends:',
        ...Array.from({ length: 50 }, (_, i) => `  - name: b${i}\n    endpoints: ["10.0.0.${i}:8080"]\n  - name: b${i}x\n    endpoints: ["10.0.1.${i}:8080"]`),
      ].join('\n');
    const changes = diffResources(resources(many(1)), resources(many(3))).filter((c) => c.nodeKind === 'envoy');
    expect(changes.map((c) => `${c.type} ${c.name} ${c.action}`)).toEqual(['RDS http MODIFIED']);
    const diff = changes[0]!.diff!;
    expect(diff.split('\n').slice(0, 2)).toEqual(['--- a/envoy/RDS/http/virtual_hosts/s7', '+++ b/envoy/RDS/http/virtual_hosts/s7']);
    expect(diff).not.toMatch(/virtual_hosts\/s[0-68-9]/);
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual(['-              value: 1', '+              value: 3']);
  });
});
