/**
 * Cold start and restart at S services (bench/xds/config-gen.ts's config), first on an empty
 * data dir (seeded from the YAML file), then again on the history that start left (a restart,
 * file unchanged). Wall time from the call of startTether, and CPU of this process, until:
 * - "first snapshot": an Envoy node that keeps trying to connect from the start gets its first
 *   response (CDS), i.e. the first version is durable, Envoy's snapshot is in the cache and the
 *   xDS port is bound (first-response.ts);
 * - "gRPC": a proxyless gRPC node doing the same gets its first response (LDS); the first
 *   version is built for gRPC after Envoy's, in event-loop turns (publisher.ts, "First version,
 *   kinds deferred");
 * - "started": startTether resolved (every kind served, admin API up; /readyz ready).
 * CPU is the whole process's (GC and compiler threads too), with the main thread's own in
 * parentheses. Optional CPU profiles (up to "started"). With --processes each start runs in a new Node
 * process, as a real restart does (modules, protos and JIT cold); its line then also gives the
 * first snapshot since the process started.
 *
 *   node [--expose-gc] dist/bench/xds/cold-start.js [--services 10000] [--prof DIR [--prof-first]] [--processes] [--no-head-start]
 *
 * --no-head-start deletes the snapshot the first start persisted at shutdown, so the restart
 * validates, translates and encodes the stored version before serving it (as before).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from 'node:inspector/promises';
import pino from 'pino';
import * as net from 'node:net';
import type { TetherOptions } from '../../src/server/tether';
import { startTether } from '../../src/server/tether';
import { benchTetherOptions, benchTetherSetup } from './bench-tether';
import { firstResponse } from './first-response';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** A port free now (the probes must know it before Tether binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * CPU time of the main thread (Linux: /proc/self/task/PID/stat, in clock ticks of 10 ms), which
 * other processes on a loaded box inflate far less than wall time; undefined elsewhere.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function timed(label: string, prof: string, options: TetherOptions): Promise<void> {
  const port = await freePort();
  const session = prof ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  const t0 = process.hrtime.bigint();
  const since = () => {
    const used = process.cpuUsage(cpu);
    const main = mainThreadCpuMs();
    const mainText = main !== undefined && mainCpu !== undefined ? ` (main thread ${main - mainCpu} ms)` : '';
    return `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU${mainText}`;
  };
  const mark = () => {
    const at = since();
    return () => at;
  };
  const envoy = firstResponse(port, 'envoy').then(() => {
    const at = mark();
    const sinceProcess = `${(process.uptime() * 1000).toFixed(0)} ms since the process started`;
    return () => (process.env.COLD_START_CHILD ? `${at()} (${sinceProcess})` : at());
  });
  const grpc = firstResponse(port, 'grpc').then(mark);
  const stopProfile = async () => {
    if (!session) return;
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(path.join(prof, `${label}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
  // --prof-first: the profile ends at the first snapshot (what Envoys wait for), not at "started".
  const profiled = process.argv.includes('--prof-first') ? envoy.then(stopProfile) : undefined;
  const tether = await startTether({ ...options, xdsPort: port, extProc: false });
  const started = since();
  await (profiled ?? stopProfile());
  // With --expose-gc: what the started Tether holds (heap and external after a full GC).
  const gc = (globalThis as { gc?: () => void }).gc;
  let held = '';
  if (gc) {
    gc();
    const m = process.memoryUsage();
    held = `; held after GC ${((m.heapUsed + m.external) / 2 ** 20).toFixed(0)} MiB`;
  }
  console.log(`${label}: first snapshot ${(await envoy)()}; gRPC ${(await grpc)()}; started ${started}${held}`);
  await tether.close();
}

async function main(): Promise<void> {
  const services = Number(arg('services', '10000'));
  const prof = arg('prof', '');
  if (prof) fs.mkdirSync(prof, { recursive: true });
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const phase = arg('phase', '');
  if (phase) {
    await timed(phase, prof, benchTetherOptions(arg('dir', ''), logger));
    return;
  }
  const { dir, configBytes, options } = benchTetherSetup(services, 'tether-cold-start-', logger);
  console.log(`S = ${services}, config ${(configBytes / 1e6).toFixed(1)} MB, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
  try {
    if (process.argv.includes('--processes')) {
      for (const label of ['first start', 'restart']) {
        // --no-head-start: the restart takes the long way, as before served-snapshot.ts.
        if (label === 'restart' && process.argv.includes('--no-head-start')) fs.rmSync(path.join(dir, 'data', 'served-snapshot'), { recursive: true, force: true });
        const args = [...process.execArgv, process.argv[1]!, '--phase', label, '--dir', dir, ...(prof ? ['--prof', prof] : []), ...process.argv.filter((a) => a === '--prof-first' || a === '--no-head-start')];
        process.stdout.write(execFileSync(process.execPath, args, { env: { ...process.env, COLD_START_CHILD: '1' }, stdio: ['ignore', 'pipe', 'inherit'] }));
      }
    } else {
      await timed('first start', prof, options);
      if (process.argv.includes('--no-head-start')) fs.rmSync(path.join(dir, 'data', 'served-snapshot'), { recursive: true, force: true });
      await timed('restart', prof, options);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
