/**
 * Summarizes a V8 .cpuprofile (from `bench.js --cpu-prof DIR`): self and inclusive time per
 * function (inclusive counts a sample once per distinct function on its stack), top entries.
 *
 *   node dist/bench/xds/profile-summary.js FILE.cpuprofile [--top 40] [--match src/] [--under announce]
 *
 * `--under NAME` counts only samples with a function of that name on their stack (one phase's
 * subtree, e.g. `announce`: the synchronous fan-out of a snapshot to the streams).
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N] [--match TEXT]');
  const topIdx = process.argv.indexOf('--top');
  const top = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 40;
  const matchIdx = process.argv.indexOf('--match');
  const match = matchIdx > 0 ? process.argv[matchIdx + 1]! : '';
  const underIdx = process.argv.indexOf('--under');
  const under = underIdx > 0 ? process.argv[underIdx + 1]! : undefined;
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!)!;
    if (node.callFrame.functionName === '(idle)') continue;
    if (under !== undefined) {
      let inside = false;
      for (let id: number | undefined = node.id; id !== undefined && !inside; id = parent.get(id)) inside = byId.get(id)!.callFrame.functionName === under;
      if (!inside) continue;
    }
    total += dt;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + dt);
    }
  }
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (busy total ${total.toFixed(0)} ms)`);
    [...m]
      .filter(([l]) => l.includes(match))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .forEach(([l, ms]) => console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${l}`));
  };
  print('self', self);
  print('inclusive', incl);
}

main();
