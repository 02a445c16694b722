/**
 * The reader of docs/demo.md's test blocks (doc-steps.ts): what it extracts, and that its
 * output matching rejects what it should (a checker that accepts anything checks nothing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { docSteps, lineMatches, outputLines, outputMatches } from './doc-steps';

describe('docSteps', () => {
  it('takes sh test blocks whole and console test blocks per $ command with their output; skips the rest', () => {
    const md = [
      '```sh', 'docker compose up', '```',
      '```sh test', 'hit() { curl; }', 'hit', '```',
      '```console test', '$ hit -H a', 'x-replica: replica-…', 'version: v1', '$ true', '```',
      '```console test eventually', '$ grep x log', 'x', '```',
      '```console', '$ not run', '```',
    ].join('\n');
    expect(docSteps(md)).toEqual([
      { command: 'hit() { curl; }\nhit', eventually: false, line: 5 },
      { command: 'hit -H a', expected: ['x-replica: replica-…', 'version: v1'], eventually: false, line: 9 },
      { command: 'true', expected: [], eventually: false, line: 12 },
      { command: 'grep x log', expected: ['x'], eventually: true, line: 15 },
    ]);
  });

  it('refuses output before the first command, other languages and unclosed blocks', () => {
    expect(() => docSteps('```console test\nx\n$ y\n```')).toThrow(/line 2: output before the first \$ command/);
    expect(() => docSteps('```yaml test\na: 1\n```')).toThrow(/must be sh or console/);
    expect(() => docSteps('```sh test\ntrue\n')).toThrow(/unclosed/);
  });

  it('finds the walkthrough in docs/demo.md: helpers first, every step of sections 1–8', () => {
    const steps = docSteps(fs.readFileSync(path.resolve(__dirname, '../../docs/demo.md'), 'utf8'));
    expect(steps[0]!.command).toMatch(/^# Send one request[\s\S]*hit\(\) \{/);
    const all = steps.map((s) => s.command).join('\n');
    for (const needle of ['tether status', "hit -H 'x-user: alice'", 'hit -c /tmp/jar', 'ip.demo.local', "userhash: 1013", 'tether split demo default demo-v1=90', 'tether rollback', 'shadow-check', 'replica4', 'strong', 'chat.demo.local']) {
      expect(all, needle).toContain(needle);
    }
    expect(all).not.toMatch(/docker compose/);
  });
});

describe('output matching', () => {
  it('ignores blank space differences; … is any text; ≈N is a number near N', () => {
    expect(lineMatches('      4 x-replica: replica-…', '4 x-replica:   replica-2')).toBe(true);
    expect(lineMatches('4 x-replica: replica-…', '3 x-replica: replica-2')).toBe(false);
    expect(lineMatches('x-replica: candidate-1', 'x-replica: candidate-10')).toBe(false);
    expect(lineMatches('set-cookie: tether-session="…"; Max-Age=3600', 'set-cookie: tether-session="ab12"; Max-Age=3600')).toBe(true);
    expect(lineMatches('set-cookie: tether-session="…"; Max-Age=3600', 'set-cookie: tether-session="ab12"; Max-Age=60')).toBe(false);
    expect(lineMatches('≈180 version: v1', '161 version: v1')).toBe(true);
    expect(lineMatches('≈180 version: v1', '100 version: v1')).toBe(false);
    expect(lineMatches('≈20 version: v2', '0 version: v2')).toBe(true); // 4·√20 + 3 ≈ 20.9
    expect(lineMatches('≈20 version: v2', '42 version: v2')).toBe(false);
    expect(lineMatches('a.b (c)', 'aXb (c)')).toBe(false);
  });

  it('matches whole outputs: every line, in order; a line of … stands for any lines', () => {
    expect(outputMatches(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(outputMatches(['a', 'b'], ['a', 'b', 'c'])).toBe(false);
    expect(outputMatches(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(outputMatches([], [])).toBe(true);
    expect(outputMatches([], ['unexpected'])).toBe(false);
    expect(outputMatches(['…', 'version 3 applied'], ['waiting: 0/1', 'waiting: 1/2', 'version 3 applied'])).toBe(true);
    expect(outputMatches(['…', 'version 3 applied'], ['version 3 applied'])).toBe(true);
    expect(outputMatches(['head', '…'], ['head'])).toBe(true);
    expect(outputMatches(['head', '…'], ['tail'])).toBe(false);
    expect(outputLines('a\nb\n\n')).toEqual(['a', 'b']);
  });
});
