/**
 * The config side of an edit alone (issue 14): the config manager with a real file store
 * (fsynced version files in a temp dir) and a publisher that translates nothing, so what is
 * measured is building the new document, checking, freezing, validating and normalising it,
 * hashing it, describing it and writing its version file — per one-route UpsertRoute of
 * bench/xds/config-gen.ts's config, and for a whole new config applied on top.
 *
 *   npm run build && node dist/bench/config-edit-cost.js [--services 10000] [--edits 40] [--cpu-prof FILE]
 *     [--apply-prof FILE]  CPU profile of the whole-config apply, and FILE.holds.json: the loop
 *                          turns that held it over 30 ms of the process's CPU (monotonic µs, as
 *                          the profile's; the process's CPU includes GC and I/O threads)
 *
 * Prints per edit the wall time and the CPU time of this process (p50, p90), and for the
 * whole-config apply its wall and CPU time and applyHold: the most CPU of the loop's thread one
 * event-loop turn took (as loop-stalls-10k.js measures it).
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { openConfigManager } from '../src/control/config-manager';
import { edits } from '../src/control/mutations';
import { silentLogger } from '../src/log';
import { createFileStore } from '../src/store';
import { configDocument, editRoute, EDITED_SERVICE } from './xds/config-gen';
import { watchLoop } from '../test/support/loop-stalls';
import { nullPublisher } from '../test/control/null-publisher';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Loop turns of more than `ms` of this process's CPU: their monotonic start and end (µs) and CPU. */
function turnsOver(ms: number): { stop(): Array<{ fromUs: number; toUs: number; cpuMs: number }> } {
  const found: Array<{ fromUs: number; toUs: number; cpuMs: number }> = [];
  let last = process.hrtime.bigint();
  let lastCpu = process.cpuUsage();
  const tick = () => {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(lastCpu);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (cpuMs > ms) found.push({ fromUs: Number(last / 1000n), toUs: Number(now / 1000n), cpuMs });
    last = now;
    lastCpu = process.cpuUsage();
    timer = setTimeout(tick, 1);
  };
  let timer = setTimeout(tick, 1);
  return {
    stop() {
      clearTimeout(timer);
      return found;
    },
  };
}

const quantile = (values: number[], q: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
const round = (n: number): number => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const services = Number(arg('services', '10000'));
  const count = Number(arg('edits', '40'));
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'tether-config-edit-'));
  const store = await createFileStore({ dir: path.join(dir, 'data') });
  const manager = await openConfigManager({ store, publisher: nullPublisher(), logger: silentLogger(), initial: { document: configDocument(services), source: 'bench' } });
  const wall: number[] = [];
  const cpu: number[] = [];
  const profile = arg('cpu-prof', '');
  const session = new inspector.Session();
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (err, r) => (err ? reject(err) : resolve(r))));
  if (profile) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  for (let k = 1; k <= count; k++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await manager.mutate('upsert-route', edits.upsertRoute(EDITED_SERVICE, editRoute(k)), {});
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  if (profile) {
    const r = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(profile, JSON.stringify(r.profile));
    session.disconnect();
  }
  const applyProfile = arg('apply-prof', '');
  if (applyProfile) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  // Generated before the clocks start: the bench's own work is not Tether's.
  const whole = configDocument(services);
  const holds = turnsOver(30);
  const watch = watchLoop();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await manager.apply(whole, { source: 'bench' });
  const applyWall = performance.now() - t0;
  const applyCpu = process.cpuUsage(c0);
  const applyHold = watch.stop().maxHoldMs;
  const held = holds.stop();
  if (applyProfile) {
    const r = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(applyProfile, JSON.stringify(r.profile));
    fs.writeFileSync(`${applyProfile}.holds.json`, JSON.stringify(held));
    session.disconnect();
  }
  await manager.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const row = {
    services,
    edits: count,
    wallP50: round(quantile(wall, 0.5)),
    wallP90: round(quantile(wall, 0.9)),
    cpuP50: round(quantile(cpu, 0.5)),
    cpuP90: round(quantile(cpu, 0.9)),
    applyWall: round(applyWall),
    applyCpu: round((applyCpu.user + applyCpu.system) / 1000),
    applyHold: round(applyHold),
    load: round(loadavg()[0]!),
  };
  console.log(JSON.stringify(row));
  // The compute worker and the store's I/O may keep handles; the bench is done.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
