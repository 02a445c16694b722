import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelCredentials, serverCredentials } from '../../src/admin/tls';
import { removeTempDir } from '../support/temp-dir';
import { hasOpenssl, makeTestPki, type TestPki } from '../support/tls-certs';
import { AdminHarness, adminApi, failure } from './harness';

if (!hasOpenssl) console.warn('skipping admin TLS tests: the openssl CLI is not installed');

describe.skipIf(!hasOpenssl)('admin TLS', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => {
    removeTempDir(pki?.dir);
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
    expect(() => serverCredentials({ cert: path.join(pki.dir, 'missing.crt'), key: pki.serverKey })).toThrow(/cannot read TLS certificate file .*missing\.crt/);
    expect(() => channelCredentials({ cert: pki.clientCert })).toThrow(/needs its key/);
  });
});
