/** The CLI over TLS and mTLS to a real admin server (needs the openssl CLI for throwaway certificates). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, hasBuild, runCli } from './harness';
import { type CliTestServer, startCliTestServer, TOKEN } from './server';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makePki(dir: string) {
  const p = (name: string) => path.join(dir, name);
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=tether-cli-test-ca');
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
    fs.writeFileSync(p(`${name}.ext`), ext);
    run('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  }
  return { ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

const CONFIG = `
services:
  - name: shop
    routes:
      - backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: [127.0.0.1:8081]
`;

describe.skipIf(!hasBuild || !OPENSSL)('tether CLI over mTLS (built binary, real Tether)', () => {
  let server: CliTestServer;
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-cli-tls-'));
    pki = makePki(dir);
    server = await startCliTestServer(CONFIG, dir, { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('connects with --tls-ca and a client certificate; fails without one or in plaintext', async () => {
    const env = cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress, TETHER_ADMIN_TOKEN: TOKEN });
    const ok = await runCli(['history', '--tls-ca', pki.ca, '--tls-cert', pki.clientCert, '--tls-key', pki.clientKey], { env, cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\* 1 /m);

    const noClientCert = await runCli(['history', '--tls-ca', pki.ca], { env, cwd: dir });
    expect(noClientCert.code).toBe(1);
    expect(noClientCert.stderr).toMatch(/^tether: /);
    expect(noClientCert.stderr).not.toMatch(/\n\s+at /);

    const plaintext = await runCli(['history'], { env, cwd: dir });
    expect(plaintext.code).toBe(1);
    expect(plaintext.stderr).toMatch(/^tether: /);
  });
});

it.runIf(!hasBuild || !OPENSSL)('the CLI TLS test needs a build and the openssl CLI', () => {
  console.warn(`skipping CLI TLS test: ${!hasBuild ? 'dist/src/cli/main.js is missing (run `npm test`)' : 'the openssl CLI is not installed'}`);
});
