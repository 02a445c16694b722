/**
 * "Nothing acknowledged is lost on a crash": the real `tether serve` binary is SIGKILLed right
 * after the admin API acknowledges an edit; a restart on the same data dir serves that edit at
 * the same version. (That a restart pushes nothing new is tested in test/control.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdminClient, type AdminClient } from '../../src/admin';
import type { MutationResponse__Output } from '../../src/generated/tether/tether/admin/v1/MutationResponse';
import type { GetConfigResponse__Output } from '../../src/generated/tether/tether/admin/v1/GetConfigResponse';

const BIN = path.resolve(__dirname, '../../dist/src/cli/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-crash-'));
const TOKEN = 'crash-test-token';
const children: ChildProcess[] = [];

const CONFIG = `
services:
  - name: app
    routes:
      - name: main
        backends: [{ name: v1, weight: 100 }, { name: v2, weight: 0 }]
backends:
  - { name: v1, endpoints: ["127.0.0.1:1001"] }
  - { name: v2, endpoints: ["127.0.0.1:1002"] }
`;

/** Starts the binary and resolves with its admin port once it logs that it listens. */
function serve(): Promise<{ child: ChildProcess; adminPort: number }> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', path.join(dir, 'config.yaml'), '--data-dir', path.join(dir, 'data'), '--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TETHER_ADMIN_TOKEN: TOKEN } },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tether did not start within 15 s')), 15_000);
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as { msg?: string; port?: number };
        buf = buf.slice(nl + 1);
        if (line.msg === 'admin API listening') {
          clearTimeout(timer);
          resolve({ child, adminPort: line.port! });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`tether exited early (${code})`)));
  });
}

function unary<Res>(client: AdminClient, method: string, req: object): Promise<Res> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  const fn = (client as unknown as Record<string, (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => void>)[method]!;
  return new Promise((resolve, reject) =>
    fn.call(client, req, md, { deadline: Date.now() + 5000 }, (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res))),
  );
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!fs.existsSync(BIN))('crash safety of the real binary', () => {
  it('keeps every acknowledged edit across kill -9, at the same version', async () => {
    fs.writeFileSync(path.join(dir, 'config.yaml'), CONFIG);
    let { child, adminPort } = await serve();
    const acknowledged: number[] = [];
    for (let round = 0; round < 3; round++) {
      const client = createAdminClient(`127.0.0.1:${adminPort}`);
      const weight = 10 * (round + 1);
      const res = await unary<MutationResponse__Output>(client, 'SetSplit', { service: 'app', route: 'main', weights: { v1: 100 - weight, v2: weight } });
      acknowledged.push(Number(res.version));
      child.kill('SIGKILL'); // right after the acknowledgement, no graceful shutdown
      client.close();
      await new Promise((r) => child.once('exit', r));

      ({ child, adminPort } = await serve());
      const again = createAdminClient(`127.0.0.1:${adminPort}`);
      const got = await unary<GetConfigResponse__Output>(again, 'GetConfig', {});
      again.close();
      expect(Number(got.version)).toBe(acknowledged.at(-1));
      expect(got.yaml).toContain(`weight: ${weight}`);
    }
    expect(acknowledged).toEqual([2, 3, 4]);
    child.kill('SIGTERM');
  });
});
