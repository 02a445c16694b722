/**
 * `tether sample --register-backend`: a replica adds itself to a backend through the admin
 * API on start, and on SIGTERM drains, waits its grace, removes itself and exits.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTether, startAdminTether } from '../support/admin-tether';
import { ADMIN_TOKEN } from '../support/harness';
import { ONE_BACKEND_CONFIG } from './fixtures';
import { BIN, cleanEnv, hasBuild, runCli } from './harness';

type Endpoint = string | { address: string; drain?: boolean; grpcPort?: number };

describe.skipIf(!hasBuild)('replica self-registration (built binary, real Tether)', () => {
  let server: AdminTether;
  let dir: string;
  beforeAll(async () => {
    server = await startAdminTether(ONE_BACKEND_CONFIG);
    dir = server.dir;
  });
  afterAll(async () => {
    await server?.close();
  });

  const registered = (): Endpoint | undefined => {
    const doc = server.document() as { backends: { name: string; endpoints: Endpoint[] }[] };
    const eps = doc.backends.find((b) => b.name === 'shop-v1')!.endpoints;
    return eps.find((e) => (typeof e === 'string' ? e : e.address) !== '127.0.0.1:8081');
  };

  it('registers on start, drains then deregisters on SIGTERM, and exits cleanly', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'sample', '--id', 'r1', '--http-port', '0', '--grpc-port', '0', '--register-backend', 'shop-v1', '--admin', server.adminAddress, '--drain-grace', '1500ms'],
      { env: cleanEnv({ TETHER_ADMIN_TOKEN: ADMIN_TOKEN, TETHER_LOG_LEVEL: 'info' }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const logs: string[] = [];
    child.stdout.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect.poll(registered, { timeout: 5000, interval: 50 }).toBeDefined();
      const endpoint = registered()!;
      const address = typeof endpoint === 'string' ? endpoint : endpoint.address;
      // The default advertised address is the replica's HTTP listen address, with its gRPC port for gRPC clients.
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(endpoint).toMatchObject({ grpcPort: expect.any(Number) });
      expect((endpoint as { grpcPort: number }).grpcPort).not.toBe(Number(address.split(':')[1]));
      // …the port it actually serves gRPC on.
      await expect.poll(() => logs.join(''), { timeout: 3000 }).toContain(`"grpcPort":${(endpoint as { grpcPort: number }).grpcPort}`);
      await expect.poll(() => logs.join(''), { timeout: 3000 }).toContain('registered endpoint');

      const get = await runCli(['get', '-o', 'json'], { env: cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }), cwd: dir });
      expect(get.stdout).toContain(address);

      child.kill('SIGTERM');
      await expect.poll(registered, { timeout: 3000, interval: 20 }).toMatchObject({ address, drain: true });
      // Still serving during the grace.
      expect(child.exitCode).toBeNull();
      await expect.poll(registered, { timeout: 4000, interval: 20 }).toBeUndefined();
      expect(await exited).toBe(0);
      expect(logs.join('')).toContain('endpoint removed');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a replica whose registration is refused keeps serving and stops cleanly', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'sample', '--id', 'r2', '--http-port', '0', '--grpc-port', '0', '--register-backend', 'no-such-backend', '--admin', server.adminAddress],
      { env: cleanEnv({ TETHER_ADMIN_TOKEN: ADMIN_TOKEN }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => out, { timeout: 5000, interval: 50 }).toContain('could not register endpoint');
      expect(out).toContain('NOT_FOUND');
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

it.runIf(!hasBuild)('the registration tests need `npm run build` first (npm test does it)', () => {
  console.warn('skipping registration tests: dist/src/cli/main.js is missing; run `npm test` (it builds first)');
});
