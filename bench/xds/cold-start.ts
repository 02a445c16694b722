/**
 * Cold start and restart at S services (bench/xds/config-gen.ts's config): startTether → the
 * first snapshot of both node kinds, wall and CPU of this process, first on an empty data dir
 * (seeded from the YAML file), then again on the history that start left (a restart, file
 * unchanged). Optional CPU profiles of both.
 *
 *   node dist/bench/xds/cold-start.js [--services 10000] [--prof DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from 'node:inspector/promises';
import pino from 'pino';
import { startTether } from '../../src/server/tether';
import { benchTetherSetup } from './bench-tether';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function timed(label: string, prof: string, start: () => Promise<{ close(): Promise<void>; cache: { get(kind: 'envoy' | 'grpc'): unknown } }>): Promise<void> {
  const session = prof ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const tether = await start();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const used = process.cpuUsage(cpu);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(path.join(prof, `${label}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  // The manager publishes before startTether resolves: both kinds are in the cache.
  const both = tether.cache.get('envoy') !== undefined && tether.cache.get('grpc') !== undefined;
  console.log(`${label}: ${wallMs.toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU${both ? '' : ' (a kind has no snapshot!)'}`);
  await tether.close();
}

async function main(): Promise<void> {
  const services = Number(arg('services', '10000'));
  const prof = arg('prof', '');
  if (prof) fs.mkdirSync(prof, { recursive: true });
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const { dir, configBytes, options } = benchTetherSetup(services, 'tether-cold-start-', logger);
  console.log(`S = ${services}, config ${(configBytes / 1e6).toFixed(1)} MB, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
  try {
    await timed('first start', prof, () => startTether({ ...options, extProc: false }));
    await timed('restart', prof, () => startTether({ ...options, extProc: false }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
