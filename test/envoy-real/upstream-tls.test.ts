/**
 * Upstream TLS through a real Envoy: a replica that requires a client certificate from the
 * test CA (mTLS) is reached with backends[].tls (sni, caFile, subjectAltNames, certFile,
 * keyFile); the replica sees the SNI and Envoy's client certificate. Envoy with a certificate
 * of another CA is refused by the replica (503), and a replica whose name does not match
 * subjectAltNames is refused by Envoy.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness } from '../support/harness';
import { removeTempDir } from '../support/temp-dir';
import { hasOpenssl, makeTestPki, type TestPki } from '../support/tls-certs';

describe.skipIf(!envoyAvailable() || !hasOpenssl)('upstream TLS to the replicas (real Envoy)', () => {
  const h = new Harness();
  let pki: TestPki;
  let envoy: EnvoyProcess;
  let server: https.Server;
  let port = 0;

  beforeAll(async () => {
    pki = makeTestPki();
    server = https.createServer(
      { cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey), ca: fs.readFileSync(pki.ca), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ replica: 'tls-replica', sni: socket.servername, client: socket.getPeerCertificate().subject?.CN }));
      },
    );
    const upstream = await freePort();
    await new Promise<void>((resolve) => server.listen(upstream, '127.0.0.1', resolve));
    port = await freePort();
    const tls = { sni: 'localhost', caFile: pki.ca, subjectAltNames: ['localhost'], certFile: pki.clientCert, keyFile: pki.clientKey };
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        {
          name: 'secure',
          affinity: { keys: [{ header: 'x-user' }] },
          routes: [
            { name: 'intruder', match: { prefix: '/intruder' }, backends: [{ name: 'intruder' }] },
            { name: 'wrong-name', match: { prefix: '/wrong-name' }, backends: [{ name: 'wrong-name' }] },
            { name: 'main', backends: [{ name: 'secure' }] },
          ],
        },
      ],
      backends: [
        { name: 'secure', endpoints: [`127.0.0.1:${upstream}`], tls },
        { name: 'intruder', endpoints: [`127.0.0.1:${upstream}`], tls: { ...tls, certFile: pki.otherCert, keyFile: pki.otherKey } },
        { name: 'wrong-name', endpoints: [`127.0.0.1:${upstream}`], tls: { ...tls, subjectAltNames: ['replica.other'] } },
      ],
    });
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.until('a routed reply', async () => (await request(port, { headers: { 'x-user': 'a' } })).status === 200, 20_000, 100);
  }, 60_000);

  afterEach(async () => {
    await envoy.expectNoRejections();
  });

  afterAll(async () => {
    await envoy?.close();
    await new Promise((r) => server?.close(r));
    await h.close();
    if (pki) removeTempDir(pki.dir);
  });

  it('mTLS: the replica gets the SNI and Envoy\'s client certificate', async () => {
    const reply = await request(port, { headers: { 'x-user': 'alice' } });
    expect(reply.status, reply.body).toBe(200);
    expect(reply.json).toMatchObject({ replica: 'tls-replica', sni: 'localhost', client: 'client' });
    expect(await envoy.stat('cluster.secure.ssl.handshake')).toBeGreaterThan(0);
  });

  it('a client certificate of another CA is refused by the replica; a name outside subjectAltNames by Envoy', async () => {
    expect((await request(port, { headers: { 'x-user': 'alice' }, path: '/intruder' })).status).toBe(503);
    expect((await request(port, { headers: { 'x-user': 'alice' }, path: '/wrong-name' })).status).toBe(503);
    expect(await envoy.stat('cluster.wrong-name.ssl.fail_verify_san')).toBeGreaterThan(0);
  });
});
