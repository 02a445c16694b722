/**
 * Tether under test, in its own process (run with --expose-gc): the real server (startTether)
 * serving a generated config of S services from a temporary data dir, xDS and admin (auth
 * off) on 127.0.0.1 ephemeral ports, logging at `warn` (at `info` Tether writes a line per push
 * per stream). Over IPC it reports its CPU time and memory (after a full GC when asked), the
 * moment each config version's snapshot was announced to the streams, and the build time of a
 * one-route change measured in process.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import pino from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config';
import { createPublisher } from '../../src/control/publisher';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { startTether } from '../../src/server/tether';
import { configDocument, editedDocument } from './config-gen';
import { writeDump } from './gcp-comparator';
import { benchTetherSetup } from './bench-tether';

export type TetherCommand =
  | { cmd: 'stats'; gc: boolean }
  | { cmd: 'announces' }
  | { cmd: 'build'; edits: number }
  | { cmd: 'profile'; file?: string }
  | { cmd: 'dump'; file: string }
  | { cmd: 'stop' };

/** One snapshot announced to the streams of a kind; times are process.hrtime (ns, decimal strings). */
export interface Announce {
  kind: string;
  version: string;
  at: string;
  pushed: string;
  flushed: string;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with --expose-gc');
  g();
  g();
}

/** translate + buildSnapshot (both node kinds) for a cold start, then for one-route edits with a warm encode cache. */
async function buildTimes(services: number, edits: number): Promise<{ coldMs: number; editMs: number[] }> {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const publisher = createPublisher({ cache: new SnapshotCache(), logger, resolveIntervalMs: 3_600_000 });
  const parse = (doc: Record<string, unknown>) => {
    const r = parseConfigText(stringify(doc));
    if (!r.ok) throw new Error(`generated config invalid: ${JSON.stringify(r.errors.slice(0, 3))}`);
    return r.config;
  };
  try {
    const base = parse(configDocument(services));
    let t = process.hrtime.bigint();
    (await publisher.prepare(base, 1)).publish();
    const coldMs = Number(process.hrtime.bigint() - t) / 1e6;
    const editMs: number[] = [];
    for (let k = 1; k <= edits; k++) {
      const config = parse(editedDocument(services, 1000 + k));
      t = process.hrtime.bigint();
      const prepared = await publisher.prepare(config, 1 + k);
      editMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      prepared.publish();
    }
    return { coldMs, editMs };
  } finally {
    publisher.close();
  }
}

async function main(): Promise<void> {
  const services = Number(process.argv[2]);
  const logger = pino({ level: process.env.BENCH_TETHER_LOG ?? 'warn' }, pino.destination(2));
  const { dir, options } = benchTetherSetup(services, 'tether-xds-bench-', logger);
  const started = process.hrtime.bigint();
  const tether = await startTether(options);
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  // Registered before any stream, so it runs before the pushes: the moment a snapshot is ready
  // (`at`). The streams' pushes follow (the first FIRST_WATCHERS at once, the rest once those
  // are written: snapshot-cache.ts); once every watcher was told (`pushed`: every stream of the
  // kind wrote), an immediate after HTTP/2 has handed the writes to the sockets (`flushed`: Node
  // sends a session's pending frames from a native immediate scheduled by the first write, which
  // runs before this one).
  const announces: Announce[] = [];
  const now = () => process.hrtime.bigint().toString();
  for (const kind of ['envoy', 'grpc'] as const) {
    tether.cache.watch(kind, (s) => {
      announces.push({ kind, version: s.configVersion, at: now(), pushed: '', flushed: '' });
    });
  }
  tether.cache.onAnnounced((kind, s) => {
    let a: Announce | undefined;
    for (let i = announces.length - 1; i >= 0 && !a; i--) if (announces[i]!.kind === kind && announces[i]!.version === s.configVersion) a = announces[i];
    if (!a || a.pushed) return;
    a.pushed = now();
    setImmediate(() => (a.flushed = now()));
  });
  // Watchers that are not streams (Tether's own, e.g. metrics, and the two above): streams are the rest.
  const fixedWatchers = tether.cache.watcherCount('envoy') + tether.cache.watcherCount('grpc');
  process.send!({ cmd: 'ready', xdsPort: tether.xdsPort, adminPort: tether.adminPort, startMs, version: tether.current().version });

  let profiler: inspector.Session | undefined;
  process.on('message', (m: TetherCommand) => {
    switch (m.cmd) {
      case 'stats': {
        if (m.gc) gc();
        process.send!({
          cmd: 'stats',
          cpu: process.cpuUsage(),
          mem: process.memoryUsage(),
          streams: tether.cache.watcherCount('envoy') + tether.cache.watcherCount('grpc') - fixedWatchers,
        });
        break;
      }
      case 'announces':
        process.send!({ cmd: 'announces', announces: announces.splice(0) });
        break;
      case 'build':
        void buildTimes(services, m.edits).then(
          (r) => process.send!({ cmd: 'build', ...r }),
          (err: Error) => process.send!({ cmd: 'build', error: err.message }),
        );
        break;
      case 'profile':
        // Profiles only the edits (not start-up or the initial sync): start with no file, stop with one.
        if (!m.file) {
          profiler ??= new inspector.Session();
          profiler.connect();
          // BENCH_PROFILE_INTERVAL_US: a finer sampling interval for profile-timeline.js (V8's default: 1,000 µs).
          const interval = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 0);
          profiler.post('Profiler.enable', () =>
            profiler!.post('Profiler.setSamplingInterval', interval > 0 ? { interval } : { interval: 1000 }, () =>
              profiler!.post('Profiler.start', () => process.send!({ cmd: 'profile' })),
            ),
          );
        } else {
          const file = m.file;
          profiler!.post('Profiler.stop', (err, r) => {
            if (!err) fs.writeFileSync(file, JSON.stringify(r.profile));
            profiler!.disconnect();
            process.send!({ cmd: 'profile', ...(err ? { error: err.message } : {}) });
          });
        }
        break;
      case 'dump': {
        // The served snapshots of both node kinds, for the go-control-plane comparator.
        const envoy = tether.cache.get('envoy');
        const grpc = tether.cache.get('grpc');
        if (!envoy || !grpc) process.send!({ cmd: 'dump', error: 'no snapshot yet' });
        else {
          writeDump(m.file, { envoy, grpc });
          process.send!({ cmd: 'dump', version: envoy.configVersion });
        }
        break;
      }
      case 'stop':
        void tether.close().finally(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          process.exit(0);
        });
        break;
    }
  });
  process.on('disconnect', () => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
