import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { TlsFiles } from '../../src/admin/tls';
import { startTether, type AdminOptions, type Tether, type TetherOptions } from '../../src/server/tether';
import { silentLogger } from '../../src/log';
import { startReplica, type Replica } from '../../src/sample/replica';
import { createSampleClient } from '../../src/sample/sample-proto';
import type { HelloReply__Output } from '../../src/generated/tether/tether/sample/v1/HelloReply';
import { makeTempDir, removeTempDir } from './temp-dir';

/** The admin token every harness Tether accepts. */
export const ADMIN_TOKEN = 'test-admin-token';

/** The admin API of a test Tether: 127.0.0.1, an ephemeral port, ADMIN_TOKEN; TLS (mTLS with `ca`) when given. */
export function testAdminOptions(tls?: TlsFiles): AdminOptions {
  return { host: '127.0.0.1', port: 0, auth: { mode: 'token', tokens: [ADMIN_TOKEN] }, ...(tls ? { tls } : {}) };
}

let xdsRegistered = false;

/** grpc-js-xds registers the xds: scheme process-wide; do it once. */
export function registerXds(): void {
  if (xdsRegistered) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@grpc/grpc-js-xds').register();
  xdsRegistered = true;
}

/** A per-channel xDS bootstrap pointing at a Tether on 127.0.0.1 (env vars are per process). */
export function xdsChannelOptions(xdsPort: number, nodeId: string): grpc.ChannelOptions {
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: [] }],
    node: { id: nodeId, locality: {} },
  };
  return { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) };
}

export type SampleClient = ReturnType<typeof createSampleClient>;

/** A real @grpc/grpc-js-xds client for `xds:///<service>`. */
export function xdsSampleClient(service: string, xdsPort: number, nodeId = 'test-node'): SampleClient {
  registerXds();
  return createSampleClient(`xds:///${service}`, grpc.credentials.createInsecure(), xdsChannelOptions(xdsPort, nodeId));
}

export function hello(client: SampleClient, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<HelloReply__Output> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.Hello({}, md, { deadline: Date.now() + timeoutMs }, (err, reply) => (err || !reply ? reject(err ?? new Error('no reply')) : resolve(reply)));
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Replicas, a config file in a temp dir, and Tether serving it on 127.0.0.1. */
export class Harness {
  readonly dir = makeTempDir('test');
  readonly configPath = path.join(this.dir, 'config.yaml');
  readonly replicas: Replica[] = [];
  readonly clients: SampleClient[] = [];
  tether!: Tether;

  async replica(id: string, version = 'v1', coldDelayMs = 2, host = '127.0.0.1', grpcPort = 0): Promise<Replica> {
    const r = await startReplica({ id, version, coldDelayMs, host, grpcPort });
    this.replicas.push(r);
    return r;
  }

  writeConfig(config: unknown): void {
    // Write then rename, as editors do; the watcher must see it.
    const tmp = `${this.configPath}.tmp`;
    fs.writeFileSync(tmp, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    fs.renameSync(tmp, this.configPath);
  }

  async start(config: unknown, options: Partial<TetherOptions> = {}): Promise<Tether> {
    this.writeConfig(config);
    this.tether = await startTether({
      configPath: this.configPath,
      dataDir: path.join(this.dir, 'data'),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      admin: testAdminOptions(),
      logger: silentLogger(),
      ...options,
    });
    return this.tether;
  }

  client(service: string): SampleClient {
    const c = xdsSampleClient(service, this.tether.xdsPort);
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.tether?.close();
    await Promise.all(this.replicas.map((r) => r.close()));
    removeTempDir(this.dir);
  }
}
