/**
 * `tether completion bash|zsh|fish`: each script is loaded into the real shell and asked to
 * complete what a user types (bash through COMP_WORDS and the completion function, zsh through
 * its bashcompinit layer, fish through `complete -C`). The scripts come from the program's own
 * commands, so a new command or choice shows without editing them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli/main';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-completion-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  let out = '';
  const program = buildCli({ stdout: (t) => void (out += t), stderr: () => undefined });
  await program.parseAsync(['completion', shell], { from: 'user' });
  const file = path.join(dir, `tether.${shell}`);
  fs.writeFileSync(file, out);
  return file;
}

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** What bash offers after `words` (the last one being completed). */
function bashComplete(file: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _tether_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', timeout: 10_000 });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe.skipIf(!has('bash'))('bash', () => {
  it('completes commands, subcommands, options, choices, positional choices', async () => {
    const file = await script('bash');
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    expect(bashComplete(file, ['tether', 'pro'])).toEqual(['promote', 'proxy-config']);
    expect(bashComplete(file, ['tether', 'endpoints', ''])).toEqual(expect.arrayContaining(['add', 'remove', 'drain']));
    expect(bashComplete(file, ['tether', 'proxy-config', 'node-1', ''])).toEqual(['listeners', 'routes', 'clusters', 'endpoints', 'all']);
    expect(bashComplete(file, ['tether', 'serve', '--push-'])).toEqual(['--push-debounce']);
    expect(bashComplete(file, ['tether', 'translate', '--kind', ''])).toEqual(['envoy', 'grpc']);
    expect(bashComplete(file, ['tether', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // Options and their values before the command do not count as the command.
    expect(bashComplete(file, ['tether', '--server', '127.0.0.1:1', 'endpoints', 'dr'])).toEqual(['drain']);
    expect(bashComplete(file, ['tether', 'what-if', 'endpoints', 'a'])).toEqual(['add']);
    expect(bashComplete(file, ['tether', 'get', '--'])).toEqual(expect.arrayContaining(['--version', '--server', '--output']));
  });
});

describe.skipIf(!has('zsh'))('zsh', () => {
  it('loads through bashcompinit and completes the same way', async () => {
    const file = await script('zsh');
    expect(fs.readFileSync(file, 'utf8').startsWith('#compdef tether\n')).toBe(true);
    const r = spawnSync(
      'zsh',
      ['-f', '-c', `autoload -U compinit && compinit -u -D; source '${file}'; setopt ksharrays; COMP_WORDS=(tether proxy-config n1 ''); COMP_CWORD=3; _tether_complete; print -l -- "\${COMPREPLY[@]}"`],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['listeners', 'routes', 'clusters', 'endpoints', 'all']);
  });
});

describe.skipIf(!has('fish'))('fish', () => {
  it('completes with descriptions through complete -C', async () => {
    const file = await script('fish');
    const complete = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source '${file}'; complete -C '${line}'`], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    };
    expect(complete('tether pro')).toEqual(['promote', 'proxy-config']);
    expect(complete('tether endpoints ')).toEqual(expect.arrayContaining(['add', 'remove', 'drain']));
    expect(complete('tether proxy-config n1 ')).toEqual(expect.arrayContaining(['listeners', 'routes', 'clusters', 'endpoints', 'all']));
    expect(complete('tether translate --kind ')).toEqual(['envoy', 'grpc']);
    expect(complete('tether serve --push-')).toEqual(['--push-debounce']);
  });
});
