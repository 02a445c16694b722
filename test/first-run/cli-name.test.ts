/**
 * The `tether` command as the README gives it: `npx tether …` in the checkout runs this
 * package's own bin (no download), and the package has a scoped name, so npx can never fetch
 * the unrelated `tether` package from the registry in its place.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };

describe('the tether command', () => {
  it('the package name is scoped, and its bin is `tether`', () => {
    expect(pkg.name).toMatch(/^@[a-z0-9-]+\/tether$/);
    expect(Object.keys(pkg.bin)).toEqual(['tether']);
  });

  it.skipIf(!fs.existsSync(path.join(ROOT, pkg.bin.tether)))('`npx --no-install tether --help` in the checkout runs this package', () => {
    const run = spawnSync('npx', ['--no-install', 'tether', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, npm_config_yes: 'false' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: tether');
    expect(run.stdout).toContain('serve');
  });

  it('the README uses `npx tether` for commands, never a bare `tether` at the start of a command line', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const bare = blocks.flatMap((b) => b.split('\n')).filter((line) => /^tether\s/.test(line));
    expect(bare).toEqual([]);
  });
});
