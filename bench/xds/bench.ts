/**
 * xDS fan-out benchmark (issue #7): how long a one-route admin edit takes to reach N ADS clients,
 * what it costs the server, and what an idle client costs in memory — for Tether and for a
 * baseline grpc-js server that only writes one pre-encoded response to every stream.
 *
 *   npm run build && node dist/bench/xds/bench.js [--clients 100,1000,10000] [--services 10,1000,10000]
 *       [--modes sotw,delta] [--edits 5] [--profile auto|envoy|grpc] [--per-client 3]
 *       [--streams-per-conn auto|K] [--loadgens 1] [--quiet-ms 200] [--json FILE] [--cpu-prof DIR]
 *       [--gcp [--gcp-bin FILE]] [--reps 1] [--no-baseline] [--no-build-timing] [--warmup-edits 0]
 *
 * Processes: this runner; Tether (tether-server.js: startTether with a generated config, admin
 * API without auth, --expose-gc); the baseline (baseline-server.js); one or more load generators
 * (loadgen.js) holding the client streams. They share the machine's cores.
 *
 * Per services count S: Tether starts with the config; the build time of a one-route change is
 * measured in its process. Then per clients count N and mode: idle memory with 0 clients, N
 * clients connect and sync, idle memory again (after GC); `edits` times: the load generator
 * starts counting, the runner reads Tether's CPU time, takes t0, calls admin UpsertRoute (svc-0's
 * `edit` route gets a new header value: one route, RDS only), waits until every client has ACKed a
 * response and no response has arrived for --quiet-ms, reads CPU time again; each client's
 * convergence is (its last ACK − t0). After the last edit WaitForRollout must report CONVERGED.
 * Then the same N clients connect to the baseline, which is told to write, per client, as many
 * responses and bytes as Tether sent per client for the edit; same measurement.
 * With --gcp, go-control-plane (bench/xds/gcp, built with the installed Go) serves Tether's own
 * resources of the same config (dumped from Tether's snapshots) to the same clients and makes the
 * same one-route edit; --reps R repeats each cell R times, Tether then go-control-plane each time,
 * and the comparison takes the ratio per repetition.
 * The runner kills the children it started (by PID) on exit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { objectToStruct } from '../../src/admin/convert';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { EDITED_SERVICE, editRoute, type Mode, type Profile } from './config-gen';
import type { ConnectCommand } from './loadgen';
import type { Announce } from './tether-server';
import { killChildren, startNode, stop, type Child } from './children';
import { buildGcp, gcpVersion, startGcp } from './gcp-comparator';
import { ANY, DELTA_REQ, DELTA_RES, NODE, RESOURCE, SOTW_REQ, SOTW_RES, TYPE } from './wire';

// ---------- flags ----------

export interface BenchOptions {
  clients: number[];
  services: number[];
  modes: Mode[];
  edits: number;
  profile: 'auto' | Profile;
  perClient: number;
  streamsPerConn: 'auto' | number;
  loadgens: number;
  quietMs: number;
  cpuProfDir?: string;
  /** Skip the baseline (e.g. while profiling Tether). */
  baseline: boolean;
  /** Give up on one convergence after this long. */
  editTimeoutMs: number;
  /** Also measure go-control-plane (bench/xds/gcp) on the same clients, alternating with Tether. */
  gcp: boolean;
  /** A prebuilt comparator binary (else `go build` into a temp dir). */
  gcpBin?: string;
  /** Repetitions of each cell: Tether, then the comparators, `reps` times. */
  reps: number;
  /** Skip the in-process build timing (slow at S = 10,000 on a loaded machine). */
  buildTiming: boolean;
  /** Edits per side and repetition run before the measured ones and not counted (default 0). */
  warmupEdits: number;
}

function arg(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

export function parseOptions(argv: string[]): BenchOptions {
  const list = (s: string) => s.split(',').map((x) => Number(x.replace(/_/g, '')));
  const spc = arg(argv, 'streams-per-conn', 'auto');
  const profile = arg(argv, 'profile', 'auto');
  if (!['auto', 'envoy', 'grpc'].includes(profile)) throw new Error(`--profile: auto, envoy or grpc`);
  const modes = arg(argv, 'modes', 'sotw,delta').split(',') as Mode[];
  for (const m of modes) if (m !== 'sotw' && m !== 'delta') throw new Error(`--modes: sotw and/or delta`);
  const cpuProf = arg(argv, 'cpu-prof', '');
  return {
    clients: list(arg(argv, 'clients', '100,1000,10000')),
    services: list(arg(argv, 'services', '10,1000,10000')),
    modes,
    edits: Number(arg(argv, 'edits', '5')),
    profile: profile as BenchOptions['profile'],
    perClient: Number(arg(argv, 'per-client', '3')),
    streamsPerConn: spc === 'auto' ? 'auto' : Number(spc),
    loadgens: Number(arg(argv, 'loadgens', '1')),
    quietMs: Number(arg(argv, 'quiet-ms', '200')),
    ...(cpuProf ? { cpuProfDir: path.resolve(cpuProf) } : {}),
    baseline: !argv.includes('--no-baseline'),
    editTimeoutMs: Number(arg(argv, 'edit-timeout-ms', '60000')),
    gcp: argv.includes('--gcp'),
    ...(arg(argv, 'gcp-bin', '') ? { gcpBin: path.resolve(arg(argv, 'gcp-bin', '')) } : {}),
    reps: Number(arg(argv, 'reps', '1')),
    buildTiming: !argv.includes('--no-build-timing'),
    warmupEdits: Number(arg(argv, 'warmup-edits', '0')),
  };
}

/** Full state (Envoy) while the initial sync stays around 1 GB in total; named subscriptions (proxyless gRPC) beyond. */
export function profileFor(o: BenchOptions, clients: number, services: number): Profile {
  if (o.profile !== 'auto') return o.profile;
  return clients * services <= 1_000_000 ? 'envoy' : 'grpc';
}

export function streamsPerConnFor(o: BenchOptions, clients: number): number {
  if (o.streamsPerConn !== 'auto') return o.streamsPerConn;
  return clients >= 10_000 ? 10 : 1;
}

// ---------- measurement helpers ----------

interface Stats {
  cpu: { user: number; system: number };
  mem: NodeJS.MemoryUsage;
  streams: number;
}

const cpuMs = (a: Stats, b: Stats) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
const hr = () => process.hrtime.bigint();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

interface Progress {
  synced: number;
  acked: number;
  responses: number;
  failed: number;
  failures: string[];
  sessionErrors: number;
  sinceLastResponseMs: number;
}

class Loadgens {
  constructor(readonly procs: Child[]) {}

  async connect(port: number, base: Omit<ConnectCommand, 'cmd' | 'port' | 'from' | 'to'>, n: number): Promise<number> {
    const k = this.procs.length;
    let sessions = 0;
    await Promise.all(
      this.procs.map(async (p, j) => {
        // Split on stream-per-connection boundaries.
        const per = Math.ceil(n / k / base.streamsPerConn) * base.streamsPerConn;
        const from = Math.min(n, j * per);
        const to = Math.min(n, from + per);
        const r = await p.request<{ sessions: number }>({ cmd: 'connect', port, ...base, from, to }, 'connecting');
        sessions += r.sessions;
      }),
    );
    return sessions;
  }

  async progress(): Promise<Progress> {
    const all = await Promise.all(this.procs.map((p) => p.request<Progress>({ cmd: 'progress' }, 'progress')));
    return all.reduce((a, b) => ({
      synced: a.synced + b.synced,
      acked: a.acked + b.acked,
      responses: a.responses + b.responses,
      failed: a.failed + b.failed,
      failures: [...a.failures, ...b.failures],
      sessionErrors: a.sessionErrors + b.sessionErrors,
      sinceLastResponseMs: Math.min(a.sinceLastResponseMs, b.sinceLastResponseMs),
    }));
  }

  async mark(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.request({ cmd: 'mark' }, 'marked')));
  }

  async collect(): Promise<{ lastAck: bigint[]; responses: number[]; bytes: number[] }> {
    const all = await Promise.all(this.procs.map((p) => p.request<{ lastAck: string[]; responses: number[]; bytes: number[] }>({ cmd: 'collect' }, 'collected')));
    return {
      lastAck: all.flatMap((a) => a.lastAck.map((s) => BigInt(s))),
      responses: all.flatMap((a) => a.responses),
      bytes: all.flatMap((a) => a.bytes),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.request({ cmd: 'close' }, 'closed', 30_000)));
  }
}

/** Waits until all n clients synced, then until nothing has arrived for quietMs. */
async function waitSynced(lg: Loadgens, n: number, timeoutMs: number, quietMs: number, what: string): Promise<number> {
  const t0 = hr();
  const deadline = Date.now() + timeoutMs;
  let synced = -1;
  for (;;) {
    const p = await lg.progress();
    if (p.failed > 0) throw new Error(`${what}: ${p.failed} clients failed: ${p.failures.join('; ')}`);
    if (p.synced === n && synced < 0) synced = Number(hr() - t0) / 1e6;
    if (synced >= 0 && p.sinceLastResponseMs >= quietMs) return synced;
    if (Date.now() > deadline) throw new Error(`${what}: ${p.synced}/${n} clients synced after ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface EditOutcome {
  /** When the edit started (runner's hrtime). */
  t0: bigint;
  /** Per client: last ACK − t0, ms. */
  latencies: number[];
  cpuMs: number;
  responsesPerClient: number;
  bytesPerClient: number;
  adminMs?: number;
  /** The edit's snapshots announced to the streams (the first kind's: publishing began), from t0. */
  snapshotMs?: number;
  /** Every stream of every kind has written its response (every watcher told: snapshot-cache.ts). */
  pushedMs?: number;
  /** HTTP/2 has handed those writes to the sockets. */
  flushedMs?: number;
  version?: string;
}

/** When Tether announced, pushed and flushed the edit's version (tether-server.ts records them), from t0. */
async function announcedTimes(tether: Child, out: EditOutcome): Promise<Pick<EditOutcome, 'snapshotMs' | 'pushedMs' | 'flushedMs'>> {
  const { announces } = await tether.request<{ announces: Announce[] }>({ cmd: 'announces' }, 'announces');
  const mine = announces.filter((a) => a.version === out.version);
  const since = (pick: (a: Announce) => string, reduce: (a: bigint, b: bigint) => bigint) =>
    mine.length > 0 && mine.every((a) => pick(a) !== '') ? Number(mine.map((a) => BigInt(pick(a))).reduce(reduce) - out.t0) / 1e6 : NaN;
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  return { snapshotMs: since((a) => a.at, min), pushedMs: since((a) => a.pushed, max), flushedMs: since((a) => a.flushed, max) };
}

/** After `trigger` (at t0): every client ACKed at least once, then quiet. */
async function converge(lg: Loadgens, n: number, server: Child, trigger: () => Promise<Partial<EditOutcome>>, o: BenchOptions, what: string): Promise<EditOutcome> {
  await lg.mark();
  const before = await server.request<Stats>({ cmd: 'stats', gc: false }, 'stats');
  const t0 = hr();
  const extra = await trigger();
  const deadline = Date.now() + o.editTimeoutMs;
  let after: Stats | undefined;
  for (;;) {
    const p = await lg.progress();
    if (p.failed > 0) throw new Error(`${what}: ${p.failed} clients failed: ${p.failures.join('; ')}`);
    if (p.acked === n && !after) after = await server.request<Stats>({ cmd: 'stats', gc: false }, 'stats');
    if (after && p.sinceLastResponseMs >= o.quietMs) break;
    if (Date.now() > deadline) throw new Error(`${what}: ${p.acked}/${n} clients ACKed within ${o.editTimeoutMs} ms`);
    await sleep(p.acked === n ? 20 : 5);
  }
  const c = await lg.collect();
  const latencies = c.lastAck.map((t) => Number(t - t0) / 1e6);
  if (latencies.some((l) => l < 0)) throw new Error(`${what}: a client has no ACK after the edit`);
  return {
    ...extra,
    t0,
    latencies,
    cpuMs: cpuMs(before, after),
    responsesPerClient: c.responses.reduce((a, b) => a + b, 0) / n,
    bytesPerClient: c.bytes.reduce((a, b) => a + b, 0) / n,
  };
}

interface Side {
  p50: number;
  p99: number;
  /** Median over edits of the time until the last client ACKed. */
  all: number;
  cpuPerPushMs: number;
  /** Idle memory per client, bytes: heapUsed + external, and RSS. */
  heapPerClient: number;
  rssPerClient: number;
  syncMs: number;
  responsesPerClient: number;
  bytesPerClient: number;
}

export interface Row {
  mode: Mode;
  profile: Profile;
  clients: number;
  services: number;
  streamsPerConn: number;
  connections: number;
  edits: number;
  /** Medians over repetitions (each repetition: p50/p99 pooled over its edits' clients). */
  tether: TetherSide;
  /** Set when WaitForRollout did not report CONVERGED after the last edit although every client ACKed. */
  rolloutNote?: string;
  baseline?: Side;
  gcp?: Side;
  /** Each repetition's own figures (the ratios are taken per repetition, side by side in time). */
  reps: { tether: TetherSide; baseline?: Side; gcp?: Side }[];
}

export type TetherSide = Side & {
  adminMs: number;
  /** Medians over edits, from t0: snapshot announced (publishing began), every stream written, written to the sockets. */
  snapshotMs: number;
  pushedMs: number;
  flushedMs: number;
  /** p99 over clients of (its last ACK − the moment its edit's snapshot was announced): the fan-out alone. */
  fanoutP99: number;
};

export interface BuildRow {
  services: number;
  startMs: number;
  coldBuildMs: number;
  editBuildMs: number;
}

export interface BenchResult {
  options: BenchOptions;
  gcpVersion?: string;
  node: string;
  cpus: string;
  date: string;
  loadBefore: number;
  loadAfter: number;
  builds: BuildRow[];
  rows: Row[];
}

function summarize(edits: EditOutcome[], mem0: Stats, mem1: Stats, n: number, syncMs: number): Side {
  const pooled = edits.flatMap((e) => e.latencies).sort((a, b) => a - b);
  return {
    p50: quantile(pooled, 0.5),
    p99: quantile(pooled, 0.99),
    all: median(edits.map((e) => Math.max(...e.latencies))),
    cpuPerPushMs: median(edits.map((e) => e.cpuMs)),
    heapPerClient: (mem1.mem.heapUsed + mem1.mem.external - mem0.mem.heapUsed - mem0.mem.external) / n,
    rssPerClient: (mem1.mem.rss - mem0.mem.rss) / n,
    syncMs,
    responsesPerClient: median(edits.map((e) => e.responsesPerClient)),
    bytesPerClient: median(edits.map((e) => e.bytesPerClient)),
  };
}

async function waitStreams(server: Child, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await server.request<Stats>({ cmd: 'stats', gc: false }, 'stats');
    if (s.streams === expected) return;
    if (Date.now() > deadline) throw new Error(`${server.name}: ${s.streams} streams open, expected ${expected}`);
    await sleep(50);
  }
}

/** Envoy's field numbers, checked once against the loaded protos (wire.ts hard-codes them). */
function checkFieldNumbers(): void {
  const check = (type: string, expected: Record<string, number>) => {
    const t = lookupEnvoyType(type);
    for (const [name, id] of Object.entries(expected)) {
      if (t.fields[name]?.id !== id) throw new Error(`${type}.${name} is field ${t.fields[name]?.id}, wire.ts says ${id}`);
    }
  };
  check('envoy.service.discovery.v3.DiscoveryRequest', SOTW_REQ);
  check('envoy.service.discovery.v3.DiscoveryResponse', SOTW_RES);
  check('envoy.service.discovery.v3.DeltaDiscoveryRequest', DELTA_REQ);
  check('envoy.service.discovery.v3.DeltaDiscoveryResponse', DELTA_RES);
  check('envoy.service.discovery.v3.Resource', RESOURCE);
  check('google.protobuf.Any', ANY);
  check('envoy.config.core.v3.Node', NODE);
}

/** Median of each numeric field over repetitions. */
function medianSide<T extends Side>(sides: T[]): T {
  const out: Record<string, number> = {};
  for (const key of Object.keys(sides[0]!)) out[key] = median(sides.map((x) => (x as unknown as Record<string, number>)[key]!));
  return out as unknown as T;
}

interface Cell {
  cell: string;
  clients: number;
  base: Omit<ConnectCommand, 'cmd' | 'port' | 'from' | 'to' | 'idPrefix'>;
  connectTimeout: number;
}

/**
 * One side of one cell: N clients connect to `server` at `port` and sync, then `o.edits` edits
 * converge (`edit(e)` triggers the e-th one, at t0), then the clients close. Memory per client
 * is the difference after GC with 0 and with N synced idle clients.
 */
async function measureSide(
  lg: Loadgens,
  server: Child,
  port: number,
  c: Cell,
  idPrefix: string,
  o: BenchOptions,
  what: string,
  edit: (e: number) => Promise<Partial<EditOutcome>>,
  hooks: { beforeEdits?: () => Promise<void>; afterEdit?: (out: EditOutcome, warmup: boolean) => Promise<void> } = {},
): Promise<{ side: Side; edits: EditOutcome[]; connections: number }> {
  await waitStreams(server, 0, 30_000);
  const m0 = await server.request<Stats>({ cmd: 'stats', gc: true }, 'stats');
  const connections = await lg.connect(port, { ...c.base, idPrefix }, c.clients);
  const syncMs = await waitSynced(lg, c.clients, c.connectTimeout, o.quietMs, `${c.cell} (${what} sync)`);
  const m1 = await server.request<Stats>({ cmd: 'stats', gc: true }, 'stats');
  const edits: EditOutcome[] = [];
  await hooks.beforeEdits?.();
  // Warm-up edits (--warmup-edits) run and converge like the others but are not counted.
  for (let e = 0; e < o.warmupEdits + o.edits; e++) {
    const warmup = e < o.warmupEdits;
    const out = await converge(lg, c.clients, server, () => edit(e), o, `${c.cell} ${what} ${warmup ? 'warm-up ' : ''}edit ${e + 1}`);
    await hooks.afterEdit?.(out, warmup);
    if (!warmup) edits.push(out);
  }
  await lg.close();
  return { side: summarize(edits, m0, m1, c.clients, syncMs), edits, connections };
}

/**
 * Runs the matrix. `partial` (optional) receives each build and row as it completes, so a run
 * that fails or times out later still reports what it measured.
 */
export async function runBench(
  o: BenchOptions,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  partial: { builds: BuildRow[]; rows: Row[] } = { builds: [], rows: [] },
): Promise<BenchResult> {
  checkFieldNumbers();
  const loadBefore = os.loadavg()[0]!;
  const gcpBin = o.gcp ? (o.gcpBin ?? buildGcp()) : undefined;
  const lg = new Loadgens(Array.from({ length: o.loadgens }, (_, i) => startNode(`loadgen-${i}`, 'loadgen.js', [], ['--max-old-space-size=8192'])));
  await Promise.all(lg.procs.map((p) => p.next('ready')));
  const baseline = o.baseline ? startNode('baseline', 'baseline-server.js', [], ['--expose-gc']) : undefined;
  const baselinePort = baseline ? Number((await baseline.next('ready')).port) : 0;
  const { builds, rows } = partial;
  let runId = 0;
  try {
    for (const services of o.services) {
      // BENCH_TETHER_EXEC_ARGV: extra Node/V8 flags for Tether's process (diagnostics, e.g. --no-flush-bytecode).
      const execArgv = ['--expose-gc', '--max-old-space-size=8192', ...(process.env.BENCH_TETHER_EXEC_ARGV?.split(' ').filter(Boolean) ?? [])];
      const tether = startNode(`tether(S=${services})`, 'tether-server.js', [String(services)], execArgv);
      const ready = await tether.next<{ xdsPort: number; adminPort: number; startMs: number }>('ready', 300_000);
      const build = o.buildTiming
        ? await tether.request<{ coldMs: number; editMs: number[]; error?: string }>({ cmd: 'build', edits: 3 }, 'build', 300_000)
        : { coldMs: NaN, editMs: [NaN] };
      if ('error' in build && build.error) throw new Error(`build timing: ${build.error}`);
      builds.push({ services, startMs: ready.startMs, coldBuildMs: build.coldMs, editBuildMs: median(build.editMs) });
      log(`S=${services}: Tether started in ${ready.startMs.toFixed(0)} ms; build cold ${build.coldMs.toFixed(0)} ms, one-route edit ${median(build.editMs).toFixed(0)} ms`);
      const admin: AdminClient = createAdminClient({ address: `127.0.0.1:${ready.adminPort}`, deadlineMs: 120_000 });
      let gcp: { child: Child; port: number } | undefined;
      if (gcpBin) {
        // go-control-plane serves Tether's own resources of this config (before any edit).
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tether-gcp-dump-')), 'resources.json');
        const dumped = await tether.request<{ error?: string }>({ cmd: 'dump', file }, 'dump', 120_000);
        if (dumped.error) throw new Error(`dump: ${dumped.error}`);
        gcp = await startGcp(gcpBin);
        const loaded = await gcp.child.request<{ error?: string; resources: unknown }>({ cmd: 'load', file }, 'loaded', 300_000);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
        if (loaded.error) throw new Error(`go-control-plane load: ${loaded.error}`);
        log(`S=${services}: go-control-plane loaded ${JSON.stringify(loaded.resources)}`);
      }
      let editSeq = 0;
      try {
        for (const clients of o.clients) {
          for (const mode of o.modes) {
            const profile = profileFor(o, clients, services);
            const spc = streamsPerConnFor(o, clients);
            const c: Cell = {
              cell: `${mode} ${profile} N=${clients} S=${services}`,
              clients,
              base: { mode, profile, services, perClient: o.perClient, streamsPerConn: spc },
              connectTimeout: 60_000 + (profile === 'envoy' ? clients * services * 0.2 : clients * 5),
            };
            const reps: Row['reps'] = [];
            let connections = 0;
            let rolloutNote = '';
            for (let rep = 1; rep <= o.reps; rep++) {
              const tag = o.reps > 1 ? ` rep ${rep}` : '';
              // Tether.
              const t = await measureSide(
                lg,
                tether,
                ready.xdsPort,
                c,
                `r${++runId}-${mode}`,
                o,
                'Tether',
                async () => {
                  const k = ++editSeq;
                  const at = hr();
                  const r = await admin.call('UpsertRoute', { service: EDITED_SERVICE, route: objectToStruct(editRoute(k)), position: 0 });
                  if (!r.changed) throw new Error('the edit changed nothing');
                  return { adminMs: Number(hr() - at) / 1e6, version: String(r.version) };
                },
                {
                  // Profiles only the edits (not the connect and initial sync), of the first repetition.
                  beforeEdits: async () => {
                    // The admin channel connected before t0, as go-control-plane's command pipe is:
                    // an edit's time starts at the call, not at a TCP and HTTP/2 handshake.
                    await admin.call('GetServerInfo', {});
                    if (o.cpuProfDir && rep === 1) await tether.request({ cmd: 'profile' }, 'profile');
                  },
                  afterEdit: async (out, warmup) => {
                  Object.assign(out, await announcedTimes(tether, out));
                  log(
                    `  Tether${tag} ${warmup ? 'warm-up ' : ''}edit: p50 ${quantile([...out.latencies].sort((a, b) => a - b), 0.5).toFixed(1)} ms, all ${Math.max(...out.latencies).toFixed(1)} ms, ` +
                      `admin call ${out.adminMs?.toFixed(1)} ms, snapshot ${out.snapshotMs?.toFixed(1)} ms, pushed ${out.pushedMs?.toFixed(1)} ms, flushed ${out.flushedMs?.toFixed(1)} ms, ` +
                      `CPU ${out.cpuMs.toFixed(1)} ms, ${out.responsesPerClient.toFixed(2)} responses / ${Math.round(out.bytesPerClient)} B per client (t0 ${(Number(out.t0) / 1e6).toFixed(1)} ms monotonic)`,
                  );
                  },
                },
              );
              connections = t.connections;
              if (o.cpuProfDir && rep === 1) {
                fs.mkdirSync(o.cpuProfDir, { recursive: true });
                const file = path.join(o.cpuProfDir, `tether-${mode}-N${clients}-S${services}.cpuprofile`);
                await tether.request({ cmd: 'profile', file }, 'profile', 60_000);
                log(`  CPU profile of the edits: ${file}`);
              }
              const last = t.edits[t.edits.length - 1]!.version!;
              const rollout = await admin.waitForRollout({ version: last, timeout_ms: 10_000 }, { deadlineMs: 20_000 });
              if (rollout.state !== 'CONVERGED') {
                // Every client ACKed every response, yet Tether does not count them as applied: record it, show one node, go on.
                const status = await admin.call('GetStatus', {});
                const node = status.nodes.find((x) => rollout.pending.includes(x.node_id));
                rolloutNote = `WaitForRollout(${last}) ${rollout.state}: ${rollout.pending.length}/${clients} pending`;
                log(`  ${rolloutNote}; current ${status.current_version}; e.g. ${JSON.stringify(node)}`);
              }
              const fanout = t.edits.flatMap((e) => e.latencies.map((l) => l - (e.snapshotMs ?? NaN))).sort((a, b) => a - b);
              const tether1: TetherSide = {
                ...t.side,
                adminMs: median(t.edits.map((e) => e.adminMs ?? NaN)),
                snapshotMs: median(t.edits.map((e) => e.snapshotMs ?? NaN)),
                pushedMs: median(t.edits.map((e) => e.pushedMs ?? NaN)),
                flushedMs: median(t.edits.map((e) => e.flushedMs ?? NaN)),
                fanoutP99: quantile(fanout, 0.99),
              };
              const r: Row['reps'][number] = { tether: tether1 };

              // go-control-plane: same clients, same edit, its own snapshot cache and server.
              if (gcp) {
                const g = gcp;
                const side = await measureSide(lg, g.child, g.port, c, `g${runId}-${mode}`, o, 'go-control-plane', async () => {
                  const done = await g.child.request<{ error?: string }>({ cmd: 'edit', seq: ++editSeq }, 'edited', 120_000);
                  if (done.error) throw new Error(`go-control-plane edit: ${done.error}`);
                  return {};
                });
                r.gcp = side.side;
              }

              // Baseline: same clients, same bytes and responses per client per push.
              if (baseline) {
                const count = Math.max(1, Math.round(tether1.responsesPerClient));
                const size = Math.max(64, Math.round(tether1.bytesPerClient / count));
                const side = await measureSide(lg, baseline, baselinePort, c, `b${runId}-${mode}`, o, 'baseline', async () => {
                  baseline.send({ cmd: 'push', delta: mode === 'delta', typeUrl: TYPE.RDS, size, count, seq: ++editSeq });
                  return {};
                });
                r.baseline = side.side;
              }
              reps.push(r);
              log(formatRowLine(c.cell + tag, r));
            }
            const row: Row = {
              mode,
              profile,
              clients,
              services,
              streamsPerConn: spc,
              connections,
              edits: o.edits,
              tether: medianSide(reps.map((r) => r.tether)),
              ...(baseline ? { baseline: medianSide(reps.map((r) => r.baseline!)) } : {}),
              ...(gcp ? { gcp: medianSide(reps.map((r) => r.gcp!)) } : {}),
              ...(rolloutNote ? { rolloutNote } : {}),
              reps,
            };
            rows.push(row);
          }
        }
      } finally {
        admin.close();
        await stop(tether, { cmd: 'stop' });
        if (gcp) await stop(gcp.child, { cmd: 'stop' });
      }
    }
  } finally {
    if (baseline) await stop(baseline, { cmd: 'stop' });
    for (const p of lg.procs) await stop(p, { cmd: 'exit' });
  }
  return {
    options: o,
    ...(o.gcp ? { gcpVersion: gcpVersion() } : {}),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    date: new Date().toISOString().slice(0, 10),
    loadBefore,
    loadAfter: os.loadavg()[0]!,
    builds,
    rows,
  };
}

// ---------- output ----------

const ms = (x: number) => (Number.isNaN(x) ? '–' : x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const ratio = (a: number, b: number | undefined) => (b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`);

function formatRowLine(label: string, r: Row['reps'][number]): string {
  const side = (name: string, x: Side | undefined) =>
    x ? ` | ${name} p50 ${ms(x.p50)} p99 ${ms(x.p99)} all ${ms(x.all)}, ${x.responsesPerClient.toFixed(1)} responses / ${Math.round(x.bytesPerClient)} B, ${kib(x.heapPerClient)} per client` : '';
  return side('Tether', r.tether).replace(/^ \| /, `${label}: `) + side('go-control-plane', r.gcp) + side('baseline', r.baseline);
}

/** Median of the per-repetition ratios, with their range when there are several. */
function repRatio(r: Row, pick: (s: Side) => number): string {
  const xs = r.reps.filter((x) => x.gcp).map((x) => pick(x.tether) / pick(x.gcp!));
  if (xs.length === 0) return '–';
  const m = median(xs);
  return xs.length > 1 ? `${m.toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : `${m.toFixed(2)}×`;
}

/** Tether against go-control-plane, the table: ratios taken per repetition (the two ran back to back). */
export function formatComparison(res: BenchResult): string {
  const out: string[] = [
    `Tether / go-control-plane ${res.gcpVersion ?? ''} (${res.options.reps} repetitions of ${res.options.edits} edits; each repetition runs Tether then go-control-plane on the same clients; ratio = median of the repetitions' ratios, (min–max)):`,
    '',
    '| mode | clients | N | S | Tether p99 | go-control-plane p99 | p99 ratio | all ratio | Tether heap+ext / client | go-control-plane heap+stacks / client | memory ratio | Tether admin call | its edit → snapshot | → pushed | → flushed | Tether snapshot → all ACKed, p99 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of res.rows) {
    if (!r.gcp) continue;
    out.push(
      `| ${r.mode} | ${r.profile} | ${r.clients} | ${r.services} | ${ms(r.tether.p99)} | ${ms(r.gcp.p99)} | ${repRatio(r, (s) => s.p99)} | ${repRatio(r, (s) => s.all)} | ` +
        `${kib(r.tether.heapPerClient)} | ${kib(r.gcp.heapPerClient)} | ${repRatio(r, (s) => s.heapPerClient)} | ${ms(r.tether.adminMs)} | ${ms(r.tether.snapshotMs)} | ${ms(r.tether.pushedMs)} | ${ms(r.tether.flushedMs)} | ${ms(r.tether.fanoutP99)} |`,
    );
  }
  return out.join('\n');
}

export function formatMarkdown(res: BenchResult): string {
  const out: string[] = [];
  out.push(
    `node ${res.node}, ${res.cpus}, ${res.date}; ${res.options.edits} edits per row; 1-min load average ${res.loadBefore.toFixed(1)} before / ${res.loadAfter.toFixed(1)} after`,
    '',
    'Convergence (edit → every client ACKed; p50/p99 over all clients of all edits; "all" = median over edits of the last client):',
    '',
    '| mode | clients (profile) | N | S | conns | Tether p50 | p99 | all | baseline p50 | p99 | all | p99 ratio | all ratio | admin call | edit → snapshot | bytes / client / edit |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of res.rows) {
    const b = r.baseline;
    out.push(
      `| ${r.mode} | ${r.profile} | ${r.clients} | ${r.services} | ${r.connections} | ${ms(r.tether.p50)} | ${ms(r.tether.p99)} | ${ms(r.tether.all)} | ` +
        `${b ? ms(b.p50) : '–'} | ${b ? ms(b.p99) : '–'} | ${b ? ms(b.all) : '–'} | ${ratio(r.tether.p99, b?.p99)} | ${ratio(r.tether.all, b?.all)} | ` +
        `${ms(r.tether.adminMs)} | ${ms(r.tether.snapshotMs)} | ${Math.round(r.tether.bytesPerClient)} B in ${r.tether.responsesPerClient.toFixed(0)} |`,
    );
  }
  out.push(
    '',
    'Server cost (CPU time of the server process per edit, from the admin call to the last ACK; idle memory per connected client after GC):',
    '',
    '| mode | profile | N | S | Tether CPU / push | baseline CPU / push | ratio | Tether heap+ext / client | RSS / client | baseline heap+ext / client | RSS / client | initial sync (Tether / baseline) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of res.rows) {
    const b = r.baseline;
    out.push(
      `| ${r.mode} | ${r.profile} | ${r.clients} | ${r.services} | ${ms(r.tether.cpuPerPushMs)} | ${b ? ms(b.cpuPerPushMs) : '–'} | ${ratio(r.tether.cpuPerPushMs, b?.cpuPerPushMs)} | ` +
        `${kib(r.tether.heapPerClient)} | ${kib(r.tether.rssPerClient)} | ${b ? kib(b.heapPerClient) : '–'} | ${b ? kib(b.rssPerClient) : '–'} | ${ms(r.tether.syncMs)} / ${b ? ms(b.syncMs) : '–'} |`,
    );
  }
  out.push('', 'Build (in the Tether process: resolve + translate + buildSnapshot for both node kinds; edit = one route, warm encode cache, median of 3):', '');
  out.push('| S | Tether start | cold build | one-route edit build |', '| ---: | ---: | ---: | ---: |');
  for (const b of res.builds) out.push(`| ${b.services} | ${ms(b.startMs)} | ${ms(b.coldBuildMs)} | ${ms(b.editBuildMs)} |`);
  if (res.rows.some((r) => r.gcp)) out.push('', formatComparison(res));
  return out.join('\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const maxSeconds = Number(arg(process.argv, 'max-seconds', '1800'));
  const partial = { builds: [] as BuildRow[], rows: [] as Row[] };
  const loadBefore = os.loadavg()[0]!;
  // What was measured before a failure or the time limit is still printed (marked partial).
  const report = (res: BenchResult, complete: boolean) => {
    const json = arg(process.argv, 'json', '');
    if (json) fs.writeFileSync(json, JSON.stringify({ ...res, complete }, null, 2));
    console.log((complete ? '' : 'PARTIAL RESULT (the run failed or timed out; rows measured so far):\n') + formatMarkdown(res));
  };
  const partialResult = (): BenchResult => ({
    options: o,
    ...(o.gcp ? { gcpVersion: gcpVersion() } : {}),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    date: new Date().toISOString().slice(0, 10),
    loadBefore,
    loadAfter: os.loadavg()[0]!,
    ...partial,
  });
  const timer = setTimeout(() => {
    process.stderr.write(`giving up after ${maxSeconds} s\n`);
    report(partialResult(), false);
    killChildren();
    process.exit(2);
  }, maxSeconds * 1000);
  timer.unref();
  try {
    report(await runBench(o, undefined, partial), true);
  } catch (err) {
    report(partialResult(), false);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    killChildren();
    process.exit(1);
  });
}
