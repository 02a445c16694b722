/** The CLI over TLS and mTLS to a real admin server (needs the openssl CLI for throwaway certificates). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTether, startAdminTether } from '../support/admin-tether';
import { ADMIN_TOKEN } from '../support/harness';
import { removeTempDir } from '../support/temp-dir';
import { hasOpenssl, makeTestPki, type TestPki } from '../support/tls-certs';
import { ONE_BACKEND_CONFIG } from './fixtures';
import { cleanEnv, hasBuild, runCli } from './harness';

describe.skipIf(!hasBuild || !hasOpenssl)('tether CLI over mTLS (built binary, real Tether)', () => {
  let server: AdminTether;
  let dir: string;
  let pki: TestPki;
  beforeAll(async () => {
    pki = makeTestPki();
    server = await startAdminTether(ONE_BACKEND_CONFIG, { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
    dir = server.dir;
  });
  afterAll(async () => {
    await server?.close();
    removeTempDir(pki?.dir);
  });

  it('connects with --tls-ca and a client certificate; fails without one or in plaintext', async () => {
    const { ca, clientCert, clientKey } = pki;
    const env = cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    const ok = await runCli(['history', '--tls-ca', ca, '--tls-cert', clientCert, '--tls-key', clientKey], { env, cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\* 1 /m);

    const noClientCert = await runCli(['history', '--tls-ca', ca], { env, cwd: dir });
    expect(noClientCert.code).toBe(1);
    expect(noClientCert.stderr).toMatch(/^tether: /);
    expect(noClientCert.stderr).not.toMatch(/\n\s+at /);

    const plaintext = await runCli(['history'], { env, cwd: dir });
    expect(plaintext.code).toBe(1);
    expect(plaintext.stderr).toMatch(/^tether: /);
  });
});

it.runIf(!hasBuild || !hasOpenssl)('the CLI TLS test needs a build and the openssl CLI', () => {
  console.warn(`skipping CLI TLS test: ${!hasBuild ? 'dist/src/cli/main.js is missing (run `npm test`)' : 'the openssl CLI is not installed'}`);
});
