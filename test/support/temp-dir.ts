import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A new empty directory `<os tmp>/tether-<prefix>-XXXXXX`. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tether-${prefix}-`));
}

/** Removes a directory and everything in it; undefined (a setup that failed early) is a no-op. */
export function removeTempDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
