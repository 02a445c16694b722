import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Tether's package root (where package.json and protos/ are), found from `start` upwards: the
 * same answer from src/ under ts-node or vitest and from dist/src/ after a build.
 */
export function findPackageRoot(start: string = __dirname): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'protos'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find Tether's package root above ${start}`);
    dir = parent;
  }
  return dir;
}
