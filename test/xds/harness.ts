/** Starts a real ADS server on 127.0.0.1:0 over a SnapshotCache, with captured logs. */
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import type { EnvoyResources } from '../../src/envoy/resources';
import type { NodeKind } from '../../src/model/node-targets';
import { ADS_SERVER_OPTIONS, addAdsService, type AdsServerOptions, type AdsService } from '../../src/xds/ads-server';
import { NodeRegistry } from '../../src/xds/node-status';
import type { Node } from '../../src/generated/envoy/config/core/v3/Node';
import { AdsClient } from '../support/ads-client';
import { DeltaClient } from '../support/delta-client';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface AdsHarness {
  address: string;
  cache: SnapshotCache;
  registry: NodeRegistry;
  ads: AdsService;
  server: grpc.Server;
  logs: LogLine[];
  /** Builds and sets a snapshot. */
  publish(kind: NodeKind, resources: EnvoyResources, configVersion: string): void;
  /** A raw ADS client; closed by close(). */
  client(node?: Partial<Node>): AdsClient;
  /** A raw delta ADS client; closed by close(). */
  deltaClient(node?: Partial<Node>): DeltaClient;
  close(): Promise<void>;
}

/** `options`: extra AdsServerOptions (e.g. pacing). The gRPC server has Tether's own server options. */
export async function startAds(options: Partial<AdsServerOptions> = {}): Promise<AdsHarness> {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const cache = new SnapshotCache();
  const registry = new NodeRegistry();
  const server = new grpc.Server(ADS_SERVER_OPTIONS);
  const ads = addAdsService(server, { cache, logger, status: registry, ...options });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const clients: (AdsClient | DeltaClient)[] = [];
  let nodeCount = 0;
  return {
    address,
    cache,
    registry,
    ads,
    server,
    logs,
    publish(kind, resources, configVersion) {
      cache.set(kind, buildSnapshot(resources, kind, configVersion));
    },
    client(node = {}) {
      const c = new AdsClient(address, { node: { id: `node-${++nodeCount}`, cluster: 'test', user_agent_name: 'envoy', ...node } });
      clients.push(c);
      return c;
    },
    deltaClient(node = {}) {
      const c = new DeltaClient(address, { id: `node-${++nodeCount}`, cluster: 'test', user_agent_name: 'envoy', ...node });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      ads.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
