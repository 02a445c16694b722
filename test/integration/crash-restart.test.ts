/**
 * "Nothing acknowledged is lost on a crash": the real `tether serve` binary is SIGKILLed right
 * after the admin API acknowledges an edit; a restart on the same data dir serves that edit at
 * the same version. (That a restart pushes nothing new is tested in test/control.)
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdminClient, type AdminClient } from '../../src/admin';
import type { MutationResponse__Output } from '../../src/generated/tether/tether/admin/v1/MutationResponse';
import type { GetConfigResponse__Output } from '../../src/generated/tether/tether/admin/v1/GetConfigResponse';
import { APP_SPLIT_CONFIG } from '../support/app-split-config';
import { BIN, startServe } from '../cli/harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-crash-'));
const TOKEN = 'crash-test-token';
const children: ChildProcess[] = [];

/** Starts the binary and resolves with its admin port once it logs that it listens. */
async function serve(): Promise<{ child: ChildProcess; adminPort: number }> {
  const { child, line } = await startServe(
    ['serve', '--config', path.join(dir, 'config.yaml'), '--data-dir', path.join(dir, 'data'), '--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--metrics-port', '0', '--ext-proc-port', '0', '--log-level', 'info'],
    { env: { ...process.env, TETHER_ADMIN_TOKEN: TOKEN }, until: 'admin API listening', timeoutMs: 15_000 },
  );
  children.push(child);
  return { child, adminPort: line.port as number };
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
    fs.writeFileSync(path.join(dir, 'config.yaml'), APP_SPLIT_CONFIG);
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
