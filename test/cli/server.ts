/** A real Tether with its admin API for the CLI tests: temp data dir, 127.0.0.1, ephemeral ports. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SnapshotCache } from '../../src/cache/snapshot-cache';
import { silentLogger } from '../../src/log';
import { startTether } from '../../src/server/tether';

export const TOKEN = 'cli-test-token';

export interface CliTestServer {
  adminAddress: string;
  xdsAddress: string;
  cache: SnapshotCache;
  currentVersion(): number;
  /** The current config document (the file shape), read in-process. */
  document(): Record<string, unknown>;
  close(): Promise<void>;
}

/** `tls`: PEM files for the admin port (mTLS when `ca` is set). */
export async function startCliTestServer(configText: string, dir: string, tls?: { cert: string; key: string; ca?: string }): Promise<CliTestServer> {
  const configPath = path.join(dir, 'tether.yaml');
  fs.writeFileSync(configPath, configText);
  const tether = await startTether({
    configPath,
    dataDir: path.join(dir, 'data'),
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    admin: { host: '127.0.0.1', port: 0, auth: { mode: 'token', tokens: [TOKEN] }, ...(tls ? { tls } : {}) },
    watch: false,
    logger: silentLogger(),
  });
  return {
    adminAddress: `127.0.0.1:${tether.adminPort}`,
    xdsAddress: `127.0.0.1:${tether.xdsPort}`,
    cache: tether.cache,
    currentVersion: () => tether.manager.current().version,
    document: () => JSON.parse(JSON.stringify(tether.manager.current().document)) as Record<string, unknown>,
    close: () => tether.close(),
  };
}
