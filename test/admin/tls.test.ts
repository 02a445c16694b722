import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelCredentials, serverCredentials } from '../../src/admin/tls';
import { AdminHarness, adminApi, failure } from './harness';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('skipping admin TLS tests: the openssl CLI is not installed');

/** A throwaway CA, a server cert for 127.0.0.1/localhost and a client cert, plus a second CA's client cert. */
function makePki(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'otherCert' | 'otherKey', string> {
  const p = (name: string) => path.join(dir, name);
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.crt`), '-days', '2', '-subj', `/CN=${name}`);
  };
  const leaf = (name: string, caName: string, ext: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
    fs.writeFileSync(p(`${name}.ext`), ext);
    run('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.crt`), '-CAkey', p(`${caName}.key`), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  };
  ca('test-ca');
  ca('other-ca');
  leaf('server', 'test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('intruder', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: p('test-ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    otherCert: p('intruder.crt'),
    otherKey: p('intruder.key'),
  };
}

describe.skipIf(!OPENSSL)('admin TLS', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-tls-'));
    pki = makePki(dir);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** GetConfig through a new client; resolves to the version or the failure's status code. */
  async function attempt(h: AdminHarness, credentials: grpc.ChannelCredentials): Promise<string | grpc.status> {
    const client = h.newClient(credentials);
    try {
      return (await adminApi(client).GetConfig()).version;
    } catch (err) {
      return (err as grpc.ServiceError).code;
    }
  }

  it('serves TLS; a plaintext client cannot talk to it', async () => {
    const h = await AdminHarness.start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    try {
      expect(await attempt(h, channelCredentials({ ca: pki.ca }))).toBe('1');
      expect(await attempt(h, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
      // The system roots do not trust a throwaway CA.
      expect(await attempt(h, channelCredentials({}))).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await h.close();
    }
  });

  it('with a CA requires a client certificate signed by it (mTLS)', async () => {
    const h = await AdminHarness.start({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
    try {
      expect(await attempt(h, channelCredentials({ ca: pki.ca }))).toBe(grpc.status.UNAVAILABLE);
      expect(await attempt(h, channelCredentials({ ca: pki.ca, cert: pki.otherCert, key: pki.otherKey }))).toBe(grpc.status.UNAVAILABLE);
      expect(await attempt(h, channelCredentials({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }))).toBe('1');
      expect(await attempt(h, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
      // The token is still required on top of the certificate.
      const client = h.newClient(channelCredentials({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }));
      expect((await failure(adminApi(client, 'wrong').GetConfig())).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      await h.close();
    }
  });

  it('serverCredentials also fits any other gRPC server (xDS), and names unreadable files', () => {
    expect(serverCredentials()._isSecure()).toBe(false);
    expect(serverCredentials({ cert: pki.serverCert, key: pki.serverKey })._isSecure()).toBe(true);
    expect(() => serverCredentials({ cert: path.join(dir, 'missing.crt'), key: pki.serverKey })).toThrow(/cannot read TLS certificate file .*missing\.crt/);
    expect(() => channelCredentials({ cert: pki.clientCert })).toThrow(/needs its key/);
  });
});
