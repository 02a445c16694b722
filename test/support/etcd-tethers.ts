/**
 * Several in-process Tether instances sharing one history in a real etcd (test/support/etcd-cluster.ts):
 * each with its own xDS and admin port on 127.0.0.1, short probe intervals so tests stay fast.
 */
import * as path from 'node:path';
import { silentLogger } from '../../src/log';
import { startTether, type Tether, type TetherOptions } from '../../src/server/tether';
import { parseEtcdUrl } from '../../src/store/etcd-connection';
import type { ConfigDocument } from '../../src/control/types';
import { testAdminOptions } from './harness';
import { makeTempDir, removeTempDir } from './temp-dir';
import { APP_SPLIT_CONFIG } from './app-split-config';

/** The config the first instance seeds the shared history with (app splits between v1 and v2). */
export const SHARED_CONFIG = APP_SPLIT_CONFIG;

export interface EtcdTethers {
  readonly tethers: Tether[];
  /** Starts one more instance on the same prefix (options override the defaults). */
  add(options?: Partial<TetherOptions>): Promise<Tether>;
  close(): Promise<void>;
}

/** Instances on `storeUrl` (etcd://…/prefix); the first seeds the history from `configText`. */
export async function startEtcdTethers(storeUrl: string, count: number, configText = SHARED_CONFIG, extra: Partial<TetherOptions> = {}): Promise<EtcdTethers> {
  const dir = makeTempDir('etcd-tethers');
  const tethers: Tether[] = [];
  const fs = await import('node:fs');
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, configText);
  const add = async (options: Partial<TetherOptions> = {}) => {
    const t = await startTether({
      configPath,
      configSource: 'api',
      watch: false,
      dataDir: path.join(dir, `data-${tethers.length}`),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      admin: testAdminOptions(),
      logger: silentLogger(),
      // Short TTLs and intervals: failures show within seconds.
      etcd: { connection: { target: parseEtcdUrl(storeUrl), callTimeoutMs: 1000 }, probeIntervalMs: 200, nodeStatusTtlSeconds: 2, leaderTtlSeconds: 2, leaderIntervalMs: 200 },
      ...extra,
      ...options,
    });
    tethers.push(t);
    return t;
  };
  try {
    for (let i = 0; i < count; i++) await add();
  } catch (err) {
    await Promise.all(tethers.map((t) => t.close()));
    removeTempDir(dir);
    throw err;
  }
  return {
    tethers,
    add,
    async close() {
      await Promise.all(tethers.map((t) => t.close().catch(() => undefined)));
      removeTempDir(dir);
    },
  };
}

/** An edit of app/main's split: v2 gets `weight` percent (and, when given, v2's endpoint that port: an edit that always changes something). */
export function setV2Weight(weight: number, port?: number) {
  return (doc: ConfigDocument): ConfigDocument => {
    const next = structuredClone(doc) as { services: { routes: { backends: { name: string; weight: number }[] }[] }[] };
    next.services[0]!.routes[0]!.backends = [
      { name: 'v1', weight: 100 - weight },
      { name: 'v2', weight },
    ];
    if (port !== undefined) (next as unknown as { backends: { name: string; endpoints: string[] }[] }).backends[1]!.endpoints = [`127.0.0.1:${port}`];
    return next as unknown as ConfigDocument;
  };
}
