/**
 * What this Tether is: its package version (package.json), the Node.js running it, and the
 * source revision when the build recorded one (TETHER_REVISION at build or run time, else the
 * checkout's git HEAD read from .git without running git). Shared by `tether version`, the
 * admin API's GetServerInfo and the `tether_build_info` metric, so all three agree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findPackageRoot } from './package-root';

export interface BuildInfo {
  /** package.json's version, e.g. "0.1.0". */
  version: string;
  /** process.version, e.g. "v20.20.2". */
  nodeVersion: string;
  /** A git commit (12 hex) or "unknown". */
  revision: string;
}

let cached: BuildInfo | undefined;

function gitHead(root: string): string | undefined {
  try {
    let gitDir = path.join(root, '.git');
    // A worktree or submodule: `.git` is a file naming the real directory.
    if (fs.statSync(gitDir).isFile()) {
      const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(gitDir, 'utf8'));
      if (!m) return undefined;
      gitDir = path.resolve(root, m[1]!.trim());
    }
    const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    // Loose ref in this dir or the common dir (worktrees), else packed-refs.
    const common = fs.existsSync(path.join(gitDir, 'commondir'))
      ? path.resolve(gitDir, fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim())
      : gitDir;
    for (const dir of [gitDir, common]) {
      const file = path.join(dir, ref);
      if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
    }
    const packed = path.join(common, 'packed-refs');
    if (fs.existsSync(packed)) {
      for (const line of fs.readFileSync(packed, 'utf8').split('\n')) {
        const [sha, name] = line.split(' ');
        if (name === ref && sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
      }
    }
  } catch {
    // No checkout (an installed package, a container image): the revision is unknown.
  }
  return undefined;
}

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = findPackageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
  const revision = process.env.TETHER_REVISION || gitHead(root);
  cached = {
    version: pkg.version ?? '0.0.0',
    nodeVersion: process.version,
    revision: revision ? revision.slice(0, 12) : 'unknown',
  };
  return cached;
}
