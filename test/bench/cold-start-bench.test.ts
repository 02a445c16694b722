/**
 * The cold-start bench (bench/xds/cold-start.ts) at a small S: its probes, an Envoy and a gRPC
 * node connecting from the start, each get a first response, in the order a cold start serves
 * them (Envoy no later than gRPC, gRPC no later than startTether resolving).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const BENCH = path.resolve(__dirname, '../../dist/bench/xds/cold-start.js');

describe('cold-start bench', () => {
  it('S = 40: first snapshot, gRPC and started are measured for a first start and a restart', async () => {
    if (!fs.existsSync(BENCH)) throw new Error(`${BENCH} missing: run npm run build first`);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [BENCH, '--services', '40'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`bench failed: ${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    // The main thread's own CPU in parentheses where /proc has it (Linux).
    const cpu = process.platform === 'linux' ? '\\d+ ms CPU \\(main thread \\d+ ms\\)' : '\\d+ ms CPU(?: \\(main thread \\d+ ms\\))?';
    const line = new RegExp(`^(first start|restart): first snapshot (\\d+) ms wall, ${cpu}; gRPC (\\d+) ms wall, ${cpu}; started (\\d+) ms wall`, 'm');
    const runs = out.split('\n').flatMap((l) => {
      const m = line.exec(l);
      return m ? [{ label: m[1], envoy: Number(m[2]), grpc: Number(m[3]), started: Number(m[4]) }] : [];
    });
    expect(runs.map((r) => r.label)).toEqual(['first start', 'restart']);
    for (const r of runs) {
      expect(r.envoy).toBeGreaterThan(0);
      // The probes retry every 20 ms and read in the loop's turns: some slack on a loaded box.
      expect(r.envoy).toBeLessThanOrEqual(r.grpc + 250);
      expect(r.grpc).toBeLessThanOrEqual(r.started + 250);
    }
  });
});
