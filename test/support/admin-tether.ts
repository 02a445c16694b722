/**
 * A real Tether with its admin API, for tests that drive it from outside (the built CLI, a
 * replica registering itself): 127.0.0.1, ephemeral ports, ADMIN_TOKEN, optional TLS on the
 * admin port, and no file watching (every edit comes through the admin API).
 */
import type { TlsFiles } from '../../src/admin/tls';
import type { SnapshotCache } from '../../src/cache/snapshot-cache';
import { Harness, testAdminOptions } from './harness';

export interface AdminTether {
  /** A temp dir holding the config file and the data dir; tests may add files. close() removes it. */
  dir: string;
  adminAddress: string;
  xdsAddress: string;
  cache: SnapshotCache;
  currentVersion(): number;
  /** The current config document (the file shape), read in-process. */
  document(): Record<string, unknown>;
  /** Ids of the xDS nodes connected now. */
  nodeIds(): string[];
  close(): Promise<void>;
}

/** Serves `configText` (YAML or JSON); `tls`: PEM files for the admin port (mTLS when `ca` is set). */
export async function startAdminTether(configText: string, options: { tls?: TlsFiles } = {}): Promise<AdminTether> {
  const h = new Harness();
  const tether = await h.start(configText, { watch: false, admin: testAdminOptions(options.tls) }).catch(async (err: unknown) => {
    await h.close();
    throw err;
  });
  return {
    dir: h.dir,
    adminAddress: `127.0.0.1:${tether.adminPort}`,
    xdsAddress: `127.0.0.1:${tether.xdsPort}`,
    cache: tether.cache,
    currentVersion: () => tether.manager.current().version,
    document: () => JSON.parse(JSON.stringify(tether.manager.current().document)) as Record<string, unknown>,
    nodeIds: () => tether.registry.list().map((n) => n.nodeId),
    close: () => h.close(),
  };
}
