/**
 * Smoke test of the xDS fan-out benchmark (bench/xds): a tiny run — 10 clients, 10 services,
 * 2 edits, SotW and delta — of the compiled bench (it forks its compiled children, so it runs
 * from dist/, which `npm test` builds first). It checks that every client converged on every
 * edit, against Tether and the baseline, and that the numbers are sane, so the bench cannot
 * silently rot.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/xds/bench';
import { readResponseHead, readRequestHead, field, fields, SOTW_RES, DELTA_REQ, TYPE } from '../../bench/xds/wire';
import { response } from '../../bench/xds/baseline-server';
import { subscriptionOf } from '../../bench/xds/config-gen';

const BENCH = path.resolve(__dirname, '../../dist/bench/xds/bench.js');

describe('xDS fan-out bench', () => {
  it('wire helpers read what they write; the baseline pads responses to the requested size', () => {
    const msg = fields(field(SOTW_RES.version_info, 'v7'), field(SOTW_RES.resources, Buffer.alloc(300)), field(SOTW_RES.type_url, TYPE.RDS), field(SOTW_RES.nonce, 'n1'));
    expect(readResponseHead(msg, false)).toMatchObject({ version: 'v7', typeUrl: TYPE.RDS, nonce: 'n1', resources: 1 });
    expect(readRequestHead(fields(field(DELTA_REQ.type_url, TYPE.CDS), field(DELTA_REQ.response_nonce, '3')), true)).toEqual({ typeUrl: TYPE.CDS, nonce: '3' });
    for (const size of [200, 1489, 140_000]) {
      // Exact, except where a varint length crosses a boundary (then one byte over).
      for (const delta of [false, true]) expect(response(delta, TYPE.RDS, 'b1', 'b1', size).length - size).toBeOneOf([0, 1]);
    }
    const sub = subscriptionOf('grpc', 100, 3, 7);
    expect(sub.LDS).toContain('svc-0');
    expect(sub.LDS).toHaveLength(3);
  });

  it(
    'N=10, S=10, 2 edits: every client converges on Tether and the baseline',
    async () => {
      if (!fs.existsSync(BENCH)) throw new Error(`${BENCH} missing: run npm run build first`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xds-bench-test-'));
      const json = path.join(dir, 'result.json');
      try {
        await new Promise<void>((resolve, reject) => {
          execFile(
            process.execPath,
            [BENCH, '--clients', '10', '--services', '10', '--edits', '2', '--quiet-ms', '100', '--max-seconds', '20', '--json', json],
            { timeout: 22_000 },
            (err, _stdout, stderr) => (err ? reject(new Error(`bench failed: ${err.message}\n${stderr}`)) : resolve()),
          );
        });
        const res = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchResult;
        expect(res.rows.map((r) => r.mode)).toEqual(['sotw', 'delta']);
        expect(res.builds[0]!.editBuildMs).toBeGreaterThan(0);
        for (const r of res.rows) {
          expect(r.clients).toBe(10);
          expect(r.profile).toBe('envoy');
          for (const side of [r.tether, r.baseline!]) {
            // Converged: finite positive times under the edit timeout, p50 ≤ p99 ≤ all-clients time.
            expect(side.p50).toBeGreaterThan(0);
            expect(side.p50).toBeLessThanOrEqual(side.p99);
            expect(side.p99).toBeLessThan(15_000);
            expect(side.cpuPerPushMs).toBeGreaterThan(0);
            expect(side.responsesPerClient).toBeGreaterThanOrEqual(1);
          }
          // A one-route edit is one RDS response per Envoy client; the baseline sent as many bytes.
          expect(r.tether.responsesPerClient).toBe(1);
          expect(r.tether.bytesPerClient).toBeGreaterThan(100);
          expect(Math.abs(r.baseline!.bytesPerClient - r.tether.bytesPerClient)).toBeLessThan(16);
          expect(r.tether.snapshotMs).toBeGreaterThan(0);
          expect(r.tether.snapshotMs).toBeLessThanOrEqual(r.tether.p50);
          // Announced, then every stream written, then handed to the sockets.
          expect(r.tether.pushedMs).toBeGreaterThanOrEqual(r.tether.snapshotMs);
          expect(r.tether.flushedMs).toBeGreaterThanOrEqual(r.tether.pushedMs);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    25_000,
  );
});
