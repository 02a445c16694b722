/**
 * Where one edit's time goes inside Tether, in order: a V8 .cpuprofile of the edits (from
 * `bench.js --cpu-prof DIR`, best with BENCH_PROFILE_INTERVAL_US=100) cut into bursts of work
 * separated by idle gaps (one burst per edit, the runner's polling aside), each burst's samples
 * labelled by the first phase found on their stack, printed as consecutive segments with their
 * offset from the burst's start.
 *
 *   node dist/bench/xds/profile-timeline.js FILE.cpuprofile [--gap-ms 30] [--min-busy-ms 2]
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

/** Phases by the function (and file) on the stack; the first match from the leaf up wins, in this list's order. */
const PHASES: [phase: string, test: (fn: string, url: string) => boolean][] = [
  ['gc', (fn) => fn === '(garbage collector)'],
  ['xds push', (fn, url) => fn === 'announce' && url.includes('snapshot-cache')],
  ['xds request', (fn, url) => fn === 'handleRequest' && url.includes('/xds/')],
  ['xds decode', (_fn, url) => url.includes('/xds/request-decoder')],
  ['diff', (fn, url) => url.includes('/diff/') || fn === 'diffSnapshots'],
  ['store', (_fn, url) => url.includes('/store/')],
  ['publisher', (_fn, url) => url.includes('/control/publisher') || url.includes('/translate/') || url.includes('/cache/')],
  ['validate', (_fn, url) => url.includes('/config/') || url.includes('zod')],
  ['config manager', (_fn, url) => url.includes('/control/')],
  ['admin', (_fn, url) => url.includes('/admin/')],
  ['metrics', (_fn, url) => url.includes('prom-client') || url.includes('/metrics/')],
  ['grpc-js', (_fn, url) => url.includes('@grpc/grpc-js')],
  ['bench ipc', (_fn, url) => url.includes('/bench/') || url.includes('child_process')],
  ['node', (_fn, url) => url.startsWith('node:')],
];

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-timeline FILE.cpuprofile [--gap-ms 30] [--min-busy-ms 2]');
  const num = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const gapMs = num('gap-ms', 30);
  const minBusyMs = num('min-busy-ms', 2);
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOf = new Map<number, string>();
  const phase = (id: number): string => {
    let known = phaseOf.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') known = 'idle';
    else if (n.callFrame.functionName === '(program)') known = 'program';
    else {
      const stack: ProfileNode[] = [];
      for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!);
      known = 'other';
      outer: for (const [name, test] of PHASES) {
        for (const f of stack) {
          if (test(f.callFrame.functionName, f.callFrame.url)) {
            known = name;
            break outer;
          }
        }
      }
    }
    phaseOf.set(id, known);
    return known;
  };
  // Samples with absolute times (ms from the profile's start).
  let t = 0;
  const samples = p.samples.map((id, i) => {
    t += (p.timeDeltas[i] ?? 0) / 1000;
    return { t, phase: phase(id) };
  });
  // Bursts: busy samples closer than gapMs.
  type Segment = { phase: string; from: number; to: number; busy: number };
  let burst: Segment[] = [];
  let lastBusy = -Infinity;
  const flush = () => {
    const busy = burst.reduce((a, s) => a + s.busy, 0);
    if (burst.length > 0 && busy >= minBusyMs) {
      const start = burst[0]!.from;
      console.log(`\nburst at ${start.toFixed(1)} ms (monotonic ${(p.startTime / 1000 + start).toFixed(1)} ms): ${(burst[burst.length - 1]!.to - start).toFixed(1)} ms long, ${busy.toFixed(1)} ms busy`);
      const totals = new Map<string, number>();
      for (const s of burst) {
        totals.set(s.phase, (totals.get(s.phase) ?? 0) + s.busy);
        if (s.busy >= 0.3) console.log(`  +${(s.from - start).toFixed(1).padStart(6)}  ${s.busy.toFixed(1).padStart(5)} ms  ${s.phase}`);
      }
      console.log(`  totals: ${[...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    }
    burst = [];
  };
  let prevT = 0;
  for (const s of samples) {
    const dt = s.t - prevT;
    prevT = s.t;
    if (s.phase === 'idle') continue;
    if (s.t - lastBusy > gapMs) flush();
    lastBusy = s.t;
    const last = burst[burst.length - 1];
    if (last && last.phase === s.phase) {
      last.to = s.t;
      last.busy += dt;
    } else burst.push({ phase: s.phase, from: s.t - dt, to: s.t, busy: dt });
  }
  flush();
}

main();
