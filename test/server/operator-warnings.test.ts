/**
 * Start-up warnings for settings that expose the control plane, and the refused-call log
 * line that a client with a bad token could otherwise repeat without limit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/cli/admin-client';
import { exposures } from '../../src/server/startup-checks';
import { startTether, type Tether } from '../../src/server/tether';
import { createLogLimiter } from '../../src/util/log-limiter';
import { capturingLogger } from '../store/helpers';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const dirs: string[] = [];
const tethers: Tether[] = [];
afterEach(async () => {
  for (const t of tethers.splice(0)) await t.close();
  for (const d of dirs.splice(0)) removeTempDir(d);
});
function tmp(): string {
  const d = makeTempDir('warnings');
  dirs.push(d);
  return d;
}

describe('exposures', () => {
  it('the admin API beyond loopback without TLS, and only then', () => {
    expect(exposures({ admin: { host: '0.0.0.0', tls: false } }).map((e) => e.message)).toEqual([
      expect.stringContaining('the admin API listens on 0.0.0.0 without TLS'),
    ]);
    expect(exposures({ admin: { host: '0.0.0.0', tls: true } })).toEqual([]);
    expect(exposures({ admin: { host: '127.0.0.1', tls: false } })).toEqual([]);
    expect(exposures({ admin: { host: '::1', tls: false } })).toEqual([]);
  });

  it('a group- or world-writable data dir and a group- or world-readable token file', () => {
    const dir = tmp();
    const token = path.join(dir, 'token');
    fs.writeFileSync(token, 'x');
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(token, 0o600);
    expect(exposures({ dataDir: dir, tokenFile: token })).toEqual([]);
    fs.chmodSync(dir, 0o770);
    fs.chmodSync(token, 0o644);
    const messages = exposures({ dataDir: dir, tokenFile: token }).map((e) => e.message);
    expect(messages).toEqual([expect.stringMatching(/data dir .* is group- or world-writable \(mode 770\)/), expect.stringMatching(/token file .* is group- or world-readable \(mode 644\)/)]);
  });
});

describe('createLogLimiter', () => {
  it('admits one line per key and interval, then says how many it held back', () => {
    let t = 0;
    const limiter = createLogLimiter(1000, 2, () => t);
    expect(limiter.admit('a')).toBe(0);
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('b')).toBe(0);
    t = 1000;
    expect(limiter.admit('a')).toBe(2);
    // At most maxKeys keys are remembered.
    expect(limiter.admit('c')).toBe(0);
    expect(limiter.admit('b')).toBe(0);
  });
});

describe('a real Tether', () => {
  it('warns at start about a writable data dir and a readable token file, and logs 30 refused calls from one client once', async () => {
    const dir = tmp();
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { mode: 0o777 });
    fs.chmodSync(dataDir, 0o777);
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'the-token\n', { mode: 0o644 });
    fs.chmodSync(tokenFile, 0o644);
    const { logger, lines } = capturingLogger();
    const tether = await startTether({ dataDir, xdsHost: '127.0.0.1', xdsPort: 0, admin: { host: '127.0.0.1', port: 0, tokenFile }, logger });
    tethers.push(tether);
    const warnings = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('is group- or world-writable'), expect.stringContaining('is group- or world-readable')]));

    const client = createAdminClient({ address: `127.0.0.1:${tether.adminPort}`, token: 'wrong-token' });
    try {
      for (let i = 0; i < 30; i++) {
        const err = await client.call('GetStatus', {}).then(() => undefined, (e: unknown) => e as grpc.ServiceError);
        expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      }
    } finally {
      client.close();
    }
    expect(lines.filter((l) => l.msg === 'admin call refused')).toHaveLength(1);
  });
});
