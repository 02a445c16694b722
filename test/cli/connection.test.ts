import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_ADDRESS, resolveConnection } from '../../src/cli/admin-client';
import { makeTempDir } from '../support/temp-dir';

const dir = makeTempDir('conn');
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};

describe('admin connection options', () => {
  it('address: --server, then TETHER_ADMIN_ADDR, then 127.0.0.1:18001', () => {
    expect(resolveConnection({}, {}, dir).address).toBe(DEFAULT_ADMIN_ADDRESS);
    expect(DEFAULT_ADMIN_ADDRESS).toBe('127.0.0.1:18001');
    expect(resolveConnection({}, { TETHER_ADMIN_ADDR: 'env:1' }, dir).address).toBe('env:1');
    expect(resolveConnection({ server: 'flag:2' }, { TETHER_ADMIN_ADDR: 'env:1' }, dir).address).toBe('flag:2');
  });

  it('token: --token, --token-file, TETHER_ADMIN_TOKEN, then ./.tether/admin-token if present', () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
    expect(resolveConnection({}, {}, cwd).token).toBeUndefined();
    file(path.relative(dir, path.join(cwd, '.tether', 'admin-token')), 'from-default\n');
    expect(resolveConnection({}, {}, cwd).token).toBe('from-default');
    expect(resolveConnection({}, { TETHER_ADMIN_TOKEN: 'from-env' }, cwd).token).toBe('from-env');
    const tokenFile = file('token', '  from-file \n');
    expect(resolveConnection({ tokenFile }, { TETHER_ADMIN_TOKEN: 'from-env' }, cwd).token).toBe('from-file');
    expect(resolveConnection({ token: 'from-flag', tokenFile }, { TETHER_ADMIN_TOKEN: 'from-env' }, cwd).token).toBe('from-flag');
    expect(() => resolveConnection({ tokenFile: path.join(dir, 'nope') }, {}, cwd)).toThrow(/--token-file: cannot read .*nope: ENOENT/);
  });

  it('TLS only when asked, with mTLS material in pairs', () => {
    expect(resolveConnection({}, {}, dir).tls).toBeUndefined();
    const ca = file('ca.pem', 'CA');
    expect(resolveConnection({ tlsCa: ca, tlsServerName: 'tether.local' }, {}, dir).tls).toEqual({ ca: Buffer.from('CA'), serverName: 'tether.local' });
    expect(() => resolveConnection({ tlsCa: ca, tlsCert: ca }, {}, dir)).toThrow('--tls-cert and --tls-key go together');
    expect(() => resolveConnection({ tlsCa: path.join(dir, 'missing.pem') }, {}, dir)).toThrow(/--tls-ca: cannot read/);
  });
});
