/**
 * Downstream TLS through a real Envoy: a listener's certificate and key files, read by Tether
 * and delivered over SDS on the ADS stream. An HTTPS request through Envoy verifies against a
 * test CA (made with the openssl CLI); rewriting the files rotates the certificate Envoy
 * presents, without a restart or a listener change; Envoy rejects no SDS update; the private
 * key appears in no Tether log line.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { Harness } from '../support/harness';
import { hasOpenssl, issueServerCert, makeTestPki, type TestPki } from '../support/tls-certs';
import { removeTempDir } from '../support/temp-dir';

/** One HTTPS GET to 127.0.0.1:port trusting only `ca`; the status and the certificate Envoy presented. */
function httpsGet(port: number, ca: Buffer): Promise<{ status: number; fingerprint: string; replica?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent: false, timeout: 10_000 }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => {
        let replica: string | undefined;
        try {
          replica = (JSON.parse(body) as { replica?: string }).replica;
        } catch {
          /* not the sample replica */
        }
        resolve({ status: res.statusCode ?? 0, fingerprint: cert.fingerprint256, ...(replica ? { replica } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('HTTPS request timed out')));
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (pemFile: string) => new X509Certificate(fs.readFileSync(pemFile)).fingerprint256;

describe.skipIf(!envoyAvailable() || !hasOpenssl)('downstream TLS over SDS on a real Envoy', () => {
  const h = new Harness();
  let pki: TestPki;
  let envoy: EnvoyProcess;
  let port = 0;
  const logLines: string[] = [];
  const tlsDir = path.join(h.dir, 'tls');

  /** Both files replaced by rename, as a Kubernetes secret volume or cert-manager does. */
  const install = (cert: string, key: string) => {
    for (const [from, to] of [[key, 'server.key'], [cert, 'server.crt']] as const) {
      fs.copyFileSync(from, path.join(tlsDir, `${to}.tmp`));
      fs.renameSync(path.join(tlsDir, `${to}.tmp`), path.join(tlsDir, to));
    }
  };

  beforeAll(async () => {
    pki = makeTestPki();
    fs.mkdirSync(tlsDir);
    install(pki.serverCert, pki.serverKey);
    const replica = await h.replica('r1');
    port = await freePort();
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (logLines.push(chunk.toString('utf8')), done()) });
    await h.start(
      {
        listeners: [{ name: 'https', port, address: '127.0.0.1', tls: { certificate: 'tls/server.crt', privateKey: 'tls/server.key' } }],
        services: [{ name: 'web', routes: [{ backends: [{ name: 'web-v1' }] }] }],
        backends: [{ name: 'web-v1', endpoints: [`127.0.0.1:${replica.httpPort}`] }],
      },
      { logger: pino({ level: 'debug' }, sink) },
    );
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, bootstrap: 'gateway' });
    await envoy.waitConnected();
  });
  afterEach(async () => {
    await envoy.expectNoRejections();
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
    if (pki) removeTempDir(pki.dir);
  });

  it('an HTTPS request through the gateway verifies against the test CA and reaches the replica', async () => {
    const ca = fs.readFileSync(pki.ca);
    const reply = await envoy.until('an HTTPS reply', () => httpsGet(port, ca).catch(() => undefined));
    expect(reply).toMatchObject({ status: 200, replica: 'r1', fingerprint: fingerprintOf(pki.serverCert) });
    const sds = await envoy.stats('sds.');
    expect([...sds].filter(([name]) => name.endsWith('.update_success')).map(([, v]) => v)).toEqual([1]);
    expect([...sds].filter(([name]) => name.endsWith('.update_rejected')).map(([, v]) => v)).toEqual([0]);
    // The listener on the wire names the secret; its key never came through a file Envoy reads.
    const dump = await envoy.configDump();
    const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump'))!;
    expect(secrets.dynamic_active_secrets.map((s: { name: string }) => s.name)).toEqual(['https~tls']);
  });

  it('rewritten files rotate the certificate Envoy presents, with no restart and no listener change', async () => {
    const ca = fs.readFileSync(pki.ca);
    const modifiedBefore = await envoy.stat('listener_manager.listener_modified');
    const next = issueServerCert(pki, 'server-2');
    const started = Date.now();
    install(next.cert, next.key);
    const rotated = await envoy.until('the new certificate', async () => {
      const r = await httpsGet(port, ca).catch(() => undefined);
      return r && r.fingerprint === fingerprintOf(next.cert) ? r : undefined;
    }, 20_000, 100);
    const tookMs = Date.now() - started;
    expect(rotated.status).toBe(200);
    expect(await envoy.stat('listener_manager.listener_modified')).toBe(modifiedBefore);
    expect(envoy.logs()).not.toMatch(/exited|restart/i);
    const sds = await envoy.stats('sds.');
    expect([...sds].filter(([name]) => name.endsWith('.update_success')).map(([, v]) => v)).toEqual([2]);
    expect([...sds].filter(([name]) => name.endsWith('.update_rejected')).map(([, v]) => v)).toEqual([0]);
    console.log(`certificate rotation picked up by Envoy in ${tookMs} ms`);
  });

  it('a key that does not match its certificate is refused and the served one kept', async () => {
    const ca = fs.readFileSync(pki.ca);
    const served = (await httpsGet(port, ca)).fingerprint;
    const stray = issueServerCert(pki, 'server-3');
    // New certificate, old key: Tether must not publish it (Envoy would reject the pair).
    fs.copyFileSync(stray.cert, path.join(tlsDir, 'server.crt.tmp'));
    fs.renameSync(path.join(tlsDir, 'server.crt.tmp'), path.join(tlsDir, 'server.crt'));
    await envoy.until('the mismatch logged', () => logLines.some((l) => l.includes('is not the key of')), 15_000, 100);
    expect((await httpsGet(port, ca)).fingerprint).toBe(served);
  });

  it('an Envoy on delta ADS gets the secret too, and terminates HTTPS with the served certificate', async () => {
    const ca = fs.readFileSync(pki.ca);
    const served = (await httpsGet(port, ca)).fingerprint;
    const delta = await startEnvoy({ xdsPort: h.tether.xdsPort, bootstrap: 'gateway', delta: true });
    try {
      await delta.waitConnected();
      await delta.until('the delta Envoy holds the secret', async () => (await delta.stat('sds.https~tls.update_success')) === 1);
      expect(await delta.stat('sds.https~tls.update_rejected')).toBe(0);
      // Both Envoys bind the port (SO_REUSEPORT) and the kernel spreads new connections: until the
      // delta Envoy has completed a handshake, every answer must carry the served certificate.
      const handshakes = `listener.127.0.0.1_${port}.ssl.handshake`;
      await delta.until('a TLS handshake on the delta Envoy', async () => {
        expect((await httpsGet(port, ca)).fingerprint).toBe(served);
        return ((await delta.stat(handshakes)) ?? 0) > 0;
      }, 20_000, 20);
      await delta.expectNoRejections();
    } finally {
      await delta.close();
    }
  });

  it('no log line carries the private key', () => {
    const keys = [pki.serverKey, path.join(pki.dir, 'server-2.key')].map((f) => fs.readFileSync(f, 'utf8'));
    const bodies = keys.map((k) => k.split('\n').filter((l) => l.length > 40)[1]!);
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const body of bodies) expect(all.includes(body)).toBe(false);
    expect(all).not.toContain('PRIVATE KEY');
  });
});
