/**
 * What `/readyz` checks: a config is served to every kind of node (so a proxy connecting now
 * gets one), and the config history's directory takes a write (so an edit can be made
 * durable: a read-only or full disk makes Tether not ready, while it keeps serving).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadinessCheck } from '../metrics';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';

export interface ReadinessSources {
  /** The served snapshot of a kind of node (the snapshot cache). */
  snapshot(kind: NodeKind): { configVersion: string } | undefined;
  /** The data directory of the config history. */
  dataDir: string;
  /** How long the store probe may take. Default 2 s. */
  probeTimeoutMs?: number;
}

async function storeWritable(dataDir: string, timeoutMs: number): Promise<ReadinessCheck> {
  // A small file written, flushed and removed: what an edit's commit needs, at a tiny scale.
  const probe = path.join(dataDir, `.readyz-${process.pid}`);
  const attempt = (async () => {
    const handle = await fs.promises.open(probe, 'w');
    try {
      await handle.writeFile('readyz\n');
      await handle.sync();
    } finally {
      await handle.close();
      await fs.promises.rm(probe, { force: true });
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([attempt, timeout]);
    return { name: 'store', ok: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { name: 'store', ok: false, detail: `cannot write to ${dataDir}: ${e.code ?? e.message}` };
  } finally {
    clearTimeout(timer);
    attempt.catch(() => undefined);
  }
}

export function readinessChecks(sources: ReadinessSources): () => Promise<ReadinessCheck[]> {
  return async () => {
    const missing = NODE_KINDS.filter((k) => !sources.snapshot(k));
    const version = sources.snapshot(NODE_KINDS[0]!)?.configVersion;
    const config: ReadinessCheck =
      missing.length === 0 ? { name: 'config', ok: true, detail: `version ${version}` } : { name: 'config', ok: false, detail: `nothing served yet to ${missing.join(', ')} nodes` };
    return [config, await storeWritable(sources.dataDir, sources.probeTimeoutMs ?? 2000)];
  };
}
