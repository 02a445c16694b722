/**
 * How long the publisher holds the event loop while it translates and encodes a whole
 * generated config (config-gen.ts, S services): a cold prepare, then a second version of the
 * same config (every unit memoised), then a cold prepare on a fresh publisher (nothing memoised, but
 * the Envoy protos already loaded: loading them is a one-off ~0.2–0.7 s of the first encode). The hold is the CPU time of this thread between two turns
 * of a 1 ms timer (Linux schedstat, as test/support/loop-stalls.ts measures it), so that a
 * loaded box does not inflate it; the wall gap is printed beside it.
 *
 *   npm run build && node dist/bench/xds/publish-hold.js --services 10000
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { validateConfig } from '../../src/config';
import { createPublisher } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import { configDocument } from './config-gen';

const statPath = `/proc/self/task/${process.pid}/schedstat`;
const threadCpuMs = (): number => Number(readFileSync(statPath, 'utf8').split(' ')[0]) / 1e6;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const services = Number(arg('services', '10000'));
  const validated = validateConfig(configDocument(services));
  if (!validated.ok) throw new Error('the generated config is invalid');
  const fresh = () => createPublisher({ cache: new SnapshotCache(), logger: silentLogger(), resolveIntervalMs: 3_600_000 });
  let publisher = fresh();
  console.log(`node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}, S = ${services}`);
  for (const [version, label] of [[1, 'cold prepare'], [2, 'second version, same config'], [1, 'cold prepare, fresh publisher']] as const) {
    if (label === 'cold prepare, fresh publisher') {
      publisher.close();
      publisher = fresh();
    }
    let lastWall = performance.now();
    let lastCpu = threadCpuMs();
    let maxHold = 0;
    let maxGap = 0;
    let timer: NodeJS.Timeout;
    const tick = () => {
      const wall = performance.now();
      const cpu = threadCpuMs();
      maxHold = Math.max(maxHold, cpu - lastCpu);
      maxGap = Math.max(maxGap, wall - lastWall);
      lastWall = wall;
      lastCpu = cpu;
      timer = setTimeout(tick, 1);
    };
    timer = setTimeout(tick, 1);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    (await publisher.prepare(validated.config, version)).publish();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    tick();
    clearTimeout(timer!);
    console.log(
      `${label}: wall ${wall.toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, longest hold ${maxHold.toFixed(0)} ms CPU (wall gap ${maxGap.toFixed(0)} ms)`,
    );
  }
  publisher.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
