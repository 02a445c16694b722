/**
 * A small tmpfs of the test's own, for real ENOSPC and EROFS: mounting needs root (CI and
 * these machines run as root). Where it cannot mount, tests using it skip with a line.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  readOnly(on: boolean): void;
  unmount(): void;
}

export function mountTmpfs(sizeKiB: number): Tmpfs | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-tmpfs-'));
  const run = (...args: string[]) => spawnSync('mount', args, { encoding: 'utf8', timeout: 10_000 });
  if (run('-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir).status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    readOnly(on) {
      const r = run('-o', `remount,${on ? 'ro' : 'rw'}`, dir);
      if (r.status !== 0) throw new Error(`remount ${on ? 'ro' : 'rw'} ${dir}: ${r.stderr}`);
    },
    unmount() {
      spawnSync('umount', [dir], { timeout: 10_000 });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function canMountTmpfs(): boolean {
  const probe = mountTmpfs(64);
  if (!probe) {
    console.warn('skipping disk-full and read-only tests: cannot mount a tmpfs here (needs root)');
    return false;
  }
  probe.unmount();
  return true;
}
