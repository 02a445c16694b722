/**
 * Every flag that takes a time takes it with a unit (`--push-debounce 200ms`,
 * `--resolve-interval 30s`), and a value without one, or not a duration, is refused with an
 * error naming the flag. The commands are parsed as the binary parses them; their actions are
 * swapped for one that records the options, so nothing is started.
 */
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli/main';

/** Parses `args` as `tether …` would; returns the options the command's action received, or the error text. */
async function parse(args: string[]): Promise<{ opts?: Record<string, unknown>; error?: string }> {
  const program = buildCli();
  let error = '';
  let opts: Record<string, unknown> | undefined;
  const prepare = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => void (error += s), writeOut: () => undefined });
    for (const sub of cmd.commands) prepare(sub);
  };
  prepare(program);
  const target = program.commands.find((c) => c.name() === args[0])!;
  target.action((o: Record<string, unknown>, maybe?: unknown) => {
    // Commands with arguments get them first; the options object is the one before the Command.
    opts = maybe instanceof Command ? o : (o as Record<string, unknown>);
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return { error };
  }
  return { opts: opts! };
}

describe('durations on flags', () => {
  it('serve: --push-debounce 200ms, --resolve-interval 30s, 1m30s; defaults', async () => {
    expect((await parse(['serve', '--push-debounce', '200ms', '--resolve-interval', '30s'])).opts).toMatchObject({ pushDebounce: 200, resolveInterval: 30_000 });
    expect((await parse(['serve', '--resolve-interval', '1m30s', '--push-debounce', '0'])).opts).toMatchObject({ pushDebounce: 0, resolveInterval: 90_000 });
    expect((await parse(['serve'])).opts).toMatchObject({ pushDebounce: 100, resolveInterval: 30_000 });
  });

  it('a number without a unit, or not a duration: refused, naming the flag', async () => {
    const bare = await parse(['serve', '--push-debounce', '200']);
    expect(bare.error).toContain(`option '--push-debounce <duration>' argument '200' is invalid. missing unit: write e.g. 200ms or 200s`);
    const word = await parse(['serve', '--resolve-interval', 'soon']);
    expect(word.error).toContain(`option '--resolve-interval <duration>' argument 'soon' is invalid. invalid duration 'soon'`);
    const zero = await parse(['serve', '--resolve-interval', '0s']);
    expect(zero.error).toContain(`option '--resolve-interval <duration>' argument '0s' is invalid. must be longer than 0`);
  });

  it('the other timed flags: wait --timeout, verify --envoy-timeout, sample --cold-delay/--drain-grace, demo --interval', async () => {
    expect((await parse(['wait', '--timeout', '2m'])).opts).toMatchObject({ timeout: 120_000 });
    expect((await parse(['verify', '--envoy-admin', 'http://127.0.0.1:1', '--envoy-timeout', '1500ms'])).opts).toMatchObject({ envoyTimeout: 1500 });
    expect((await parse(['sample', '--id', 'x', '--cold-delay', '250ms', '--drain-grace', '2s'])).opts).toMatchObject({ coldDelay: 250, drainGrace: 2000 });
    expect((await parse(['demo', '--interval', '10s'])).opts).toMatchObject({ interval: 10 });
    expect((await parse(['demo', '--interval', '1500ms'])).error).toContain(`option '--interval <duration>' argument '1500ms' is invalid. must be whole seconds`);
    expect((await parse(['wait', '--timeout', '30'])).error).toContain(`option '--timeout <duration>' argument '30' is invalid. missing unit`);
  });
});
