import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { durationArg, parseSplitArgs, uint32Arg, versionArg } from '../../src/cli/args';
import { CliError } from '../../src/cli/errors';

describe('split arguments', () => {
  it('takes backend=weight pairs, with an optional route first or as --route', () => {
    expect(parseSplitArgs('shop', ['v1=90', 'v2=10'])).toEqual({ service: 'shop', route: '', weights: { v1: 90, v2: 10 } });
    expect(parseSplitArgs('shop', ['main', 'v1=100', 'v2=0'])).toEqual({ service: 'shop', route: 'main', weights: { v1: 100, v2: 0 } });
    expect(parseSplitArgs('shop', ['v1=1'], 'api')).toEqual({ service: 'shop', route: 'api', weights: { v1: 1 } });
    expect(parseSplitArgs('shop', ['api', 'v1=1'], 'api').route).toBe('api');
  });

  it('says what is wrong', () => {
    const fails = (words: string[], route?: string) => {
      try {
        parseSplitArgs('shop', words, route);
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        return (err as Error).message;
      }
      throw new Error('expected a failure');
    };
    expect(fails(['v1=ninety'])).toContain("'v1=ninety': weight must be a whole number >= 0");
    expect(fails(['v1=-5'])).toContain('whole number');
    expect(fails(['v1=1.5'])).toContain('whole number');
    expect(fails(['v1=99999999999'])).toContain('whole number');
    expect(fails(['=5'])).toContain('missing backend name');
    expect(fails(['v1=5', 'v1=6'])).toContain("backend 'v1' given twice");
    expect(fails(['v1=5', 'main'])).toContain("'main': expected backend=weight");
    expect(fails(['main'])).toContain('no weights given');
    expect(fails([])).toContain('no weights given');
    expect(fails(['v1=0', 'v2=0'])).toContain('must not all be 0');
    expect(fails(['main', 'v1=1'], 'other')).toContain("route given twice: 'main' and --route 'other'");
  });
});

describe('value parsers', () => {
  it('durations: 30s, 500ms, 1m30s; a bare number needs a unit', () => {
    expect(durationArg('30s')).toBe(30_000);
    expect(durationArg('500ms')).toBe(500);
    expect(durationArg('1m30s')).toBe(90_000);
    expect(() => durationArg('30')).toThrow(InvalidArgumentError);
    expect(() => durationArg('30')).toThrow('missing unit');
    expect(() => durationArg('soon')).toThrow(/invalid duration/);
  });

  it('versions are positive integers kept as strings (uint64)', () => {
    expect(versionArg('7')).toBe('7');
    expect(versionArg('007')).toBe('7');
    expect(versionArg('18446744073709551615')).toBe('18446744073709551615');
    for (const bad of ['0', '-1', '1.5', 'v3', '']) expect(() => versionArg(bad)).toThrow(InvalidArgumentError);
  });

  it('weights fit a uint32', () => {
    expect(uint32Arg('0')).toBe(0);
    expect(uint32Arg('4294967295')).toBe(4294967295);
    for (const bad of ['4294967296', '-1', 'x', '1e3']) expect(() => uint32Arg(bad)).toThrow(InvalidArgumentError);
  });
});
