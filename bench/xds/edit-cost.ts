/**
 * What one admin edit costs Tether itself, without clients (issue 14's edit-cost targets):
 * cold start to the first snapshot, and per one-route UpsertRoute (bench/xds/config-gen.ts's
 * edit of svc-0) the admin call (validated, durable incl. fsync, published) and the time from
 * the call to both node kinds' snapshots being announced. Tether runs in this process
 * (startTether, temp data dir, so every edit is fsynced; admin API over real gRPC on 127.0.0.1).
 *
 *   npm run build && node dist/bench/xds/edit-cost.js --services 10,1000,10000 --edits 20
 *     [--cpu-prof DIR]   CPU profile of the edits only, per S (read with profile-summary.js)
 *     [--cold-prof DIR]  CPU profile of the start-up, per S
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { objectToStruct } from '../../src/admin/convert';
import { createAdminClient } from '../../src/cli/admin-client';
import { startTether } from '../../src/server/tether';
import { editRoute, EDITED_SERVICE } from './config-gen';
import { benchTetherSetup } from './bench-tether';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const hr = (): bigint => process.hrtime.bigint();
const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** A CPU profile of `run`, written to `file` (nothing when file is empty). */
async function profiled<T>(file: string, run: () => Promise<T>): Promise<T> {
  if (!file) return run();
  const session = new inspector.Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) => session.post(method, (err, r) => (err ? reject(err) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const r = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(file, JSON.stringify(r.profile));
    session.disconnect();
  }
}

interface Row {
  services: number;
  configBytes: number;
  startMs: number;
  firstSnapshotMs: number;
  /** CPU time (user + system) of this process from startTether to the first snapshot. */
  startCpuMs: number;
  adminP50: number;
  adminP99: number;
  snapshotP50: number;
  snapshotP99: number;
  /** CPU time of this process (user + system) per edit, call to announcement: less sensitive to a loaded box than wall time. */
  cpuP50: number;
}

async function measure(services: number, edits: number, cpuProfDir: string, coldProfDir: string): Promise<Row> {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const { dir, configBytes, options } = benchTetherSetup(services, 'tether-edit-cost-', logger);
  const startCpu = process.cpuUsage();
  const started = hr();
  let firstSnapshot: bigint | undefined;
  const tether = await profiled(coldProfDir && path.join(coldProfDir, `cold-S${services}.cpuprofile`), () => startTether({ ...options, extProc: false }));
  const startMs = ms(started, hr());
  // The first snapshot is in the cache once startTether resolved (the manager publishes before it returns).
  firstSnapshot = tether.cache.get("envoy") && tether.cache.get("grpc") ? hr() : undefined;
  const firstSnapshotMs = firstSnapshot ? ms(started, firstSnapshot) : NaN;
  const startCpuUsage = process.cpuUsage(startCpu);
  const startCpuMs = (startCpuUsage.user + startCpuUsage.system) / 1000;
  const announced = new Map<string, bigint>();
  const announcedKinds = new Map<string, number>();
  let wake: (() => void) | undefined;
  for (const kind of ['envoy', 'grpc'] as const) {
    tether.cache.watch(kind, (s) => {
      const at = hr();
      const prev = announced.get(s.configVersion);
      if (prev === undefined || at > prev) announced.set(s.configVersion, at);
      announcedKinds.set(s.configVersion, (announcedKinds.get(s.configVersion) ?? 0) + 1);
      wake?.();
    });
  }
  const admin = createAdminClient({ address: `127.0.0.1:${tether.adminPort}`, deadlineMs: 120_000 });
  const adminMs: number[] = [];
  const snapshotMs: number[] = [];
  const cpuMs: number[] = [];
  try {
    // One unmeasured edit warms the admin connection and the code paths.
    await admin.call('UpsertRoute', { service: EDITED_SERVICE, route: objectToStruct(editRoute(1)), position: 0 });
    await profiled(cpuProfDir && path.join(cpuProfDir, `edits-S${services}.cpuprofile`), async () => {
      for (let k = 2; k < edits + 2; k++) {
        const c0 = process.cpuUsage();
        const t0 = hr();
        const r = await admin.call('UpsertRoute', { service: EDITED_SERVICE, route: objectToStruct(editRoute(k)), position: 0 });
        const t1 = hr();
        if (!r.changed) throw new Error('the edit changed nothing');
        adminMs.push(ms(t0, t1));
        // Both kinds are announced before the call is answered (the manager publishes, then
        // replies); a bounded wait in case a kind comes later, woken by the watcher rather than
        // by polling (which would add its own CPU to the figure).
        if (announcedKinds.get(String(r.version)) !== 2) {
          await new Promise<void>((res) => {
            const timer = setTimeout(res, 10_000);
            wake = () => {
              if (announcedKinds.get(String(r.version)) !== 2) return;
              clearTimeout(timer);
              res();
            };
          });
          wake = undefined;
        }
        const at = announced.get(String(r.version));
        snapshotMs.push(at === undefined ? NaN : ms(t0, at));
        const c = process.cpuUsage(c0);
        cpuMs.push((c.user + c.system) / 1000);
      }
    });
  } finally {
    admin.close();
    await tether.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    services,
    configBytes,
    startMs,
    firstSnapshotMs,
    startCpuMs,
    adminP50: quantile(adminMs, 0.5),
    adminP99: quantile(adminMs, 0.99),
    snapshotP50: quantile(snapshotMs, 0.5),
    snapshotP99: quantile(snapshotMs, 0.99),
    cpuP50: quantile(cpuMs, 0.5),
  };
}

async function main(): Promise<void> {
  const services = arg('services', '10,1000,10000').split(',').map(Number);
  const edits = Number(arg('edits', '20'));
  const cpuProfDir = arg('cpu-prof', '');
  const coldProfDir = arg('cold-prof', '');
  for (const d of [cpuProfDir, coldProfDir]) if (d) fs.mkdirSync(d, { recursive: true });
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg()[0]!.toFixed(1)}, ${edits} edits per S`);
  console.log('| S | config (YAML) | startTether | first snapshot | its CPU | admin call p50 | p99 | edit → snapshot p50 | p99 | CPU per edit p50 |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of services) {
    const r = await measure(s, edits, cpuProfDir, coldProfDir);
    console.log(
      `| ${r.services} | ${(r.configBytes / 1024).toFixed(0)} KiB | ${f(r.startMs)} ms | ${f(r.firstSnapshotMs)} ms | ${f(r.startCpuMs)} ms | ${f(r.adminP50)} ms | ${f(r.adminP99)} ms | ${f(r.snapshotP50)} ms | ${f(r.snapshotP99)} ms | ${f(r.cpuP50)} ms |`,
    );
  }
  console.log(`load after ${os.loadavg()[0]!.toFixed(1)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
