import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthCheck, loadAdminToken } from '../../src/admin/auth';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

function md(authorization?: string | string[]): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const v of [authorization ?? []].flat()) m.add('authorization', v);
  return m;
}

describe('createAuthCheck', () => {
  const check = createAuthCheck({ mode: 'token', tokens: ['alpha-token', 'beta'] });

  it('accepts any configured token, with the Bearer scheme in any case', () => {
    expect(check(md('Bearer alpha-token'))).toBeUndefined();
    expect(check(md('bearer beta'))).toBeUndefined();
    expect(check(md('BEARER   beta  '))).toBeUndefined();
  });

  it('refuses missing, malformed, wrong, prefix and duplicate credentials with UNAUTHENTICATED', () => {
    for (const [value, details] of [
      [undefined, /missing/],
      ['alpha-token', /must be 'Bearer <token>'/],
      ['Basic YWxhZGRpbjpvcGVuc2VzYW1l', /must be 'Bearer <token>'/],
      ['Bearer', /must be 'Bearer <token>'/],
      ['Bearer alpha', /invalid admin token/],
      ['Bearer alpha-token-and-more', /invalid admin token/],
      ['Bearer beta gamma', /must be 'Bearer <token>'/],
      [['Bearer beta', 'Bearer beta'], /more than one/],
    ] as const) {
      const status = check(md(value as string | string[] | undefined));
      expect(status?.code, String(value)).toBe(grpc.status.UNAUTHENTICATED);
      expect(status?.details).toMatch(details);
    }
  });

  it('lets everything through with mode none, and refuses to start with no usable token', () => {
    expect(createAuthCheck({ mode: 'none' })(md())).toBeUndefined();
    expect(() => createAuthCheck({ mode: 'token', tokens: [] })).toThrow(/at least one token/);
    expect(() => createAuthCheck({ mode: 'token', tokens: ['ok', ''] })).toThrow(/non-empty/);
    expect(() => createAuthCheck({ mode: 'token', tokens: ['has space'] })).toThrow(/whitespace/);
  });
});

describe('loadAdminToken', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = makeTempDir('token');
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) removeTempDir(d);
  });

  it('prefers an explicit token file, then the environment, then <dataDir>/admin-token', () => {
    const dir = tmp();
    const file = path.join(dir, 'my-token');
    fs.writeFileSync(file, '  from-file\n');
    expect(loadAdminToken({ tokenFile: file, env: 'from-env', dataDir: dir })).toEqual({ token: 'from-file', source: 'file', path: file });
    expect(loadAdminToken({ env: ' from-env ', dataDir: dir })).toEqual({ token: 'from-env', source: 'env' });
    expect(fs.existsSync(path.join(dir, 'admin-token'))).toBe(false);
  });

  it('reads TETHER_ADMIN_TOKEN by default', () => {
    const saved = process.env.TETHER_ADMIN_TOKEN;
    process.env.TETHER_ADMIN_TOKEN = 'env-default';
    try {
      expect(loadAdminToken({ dataDir: tmp() })).toEqual({ token: 'env-default', source: 'env' });
    } finally {
      if (saved === undefined) delete process.env.TETHER_ADMIN_TOKEN;
      else process.env.TETHER_ADMIN_TOKEN = saved;
    }
  });

  it('generates a 32-byte base64url token on first start, mode 0600, and reuses it after', () => {
    const dataDir = path.join(tmp(), 'nested', 'data');
    const first = loadAdminToken({ env: undefined, dataDir });
    const file = path.join(dataDir, 'admin-token');
    expect(first).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), source: 'generated', path: file, created: true });
    expect(Buffer.from(first.token, 'base64url')).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['admin-token']);
    expect(loadAdminToken({ env: '', dataDir })).toEqual({ token: first.token, source: 'generated', path: file });
    // A second data dir gets its own token.
    expect(loadAdminToken({ env: undefined, dataDir: tmp() }).token).not.toBe(first.token);
  });

  it('refuses empty or unreadable token files instead of running without a token', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => loadAdminToken({ tokenFile: path.join(dir, 'empty'), dataDir: dir })).toThrow(/is empty/);
    expect(() => loadAdminToken({ tokenFile: path.join(dir, 'missing'), dataDir: dir })).toThrow(/cannot read admin token file/);
    fs.writeFileSync(path.join(dir, 'admin-token'), '');
    expect(() => loadAdminToken({ env: undefined, dataDir: dir })).toThrow(/is empty/);
  });
});
