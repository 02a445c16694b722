/**
 * Throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for
 * 127.0.0.1/localhost and a client certificate signed by it, and an intruder's client
 * certificate signed by a second CA. Tests that need it skip when openssl is missing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir } from './temp-dir';

function opensslInstalled(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the openssl CLI is on PATH (checked once). */
export const hasOpenssl = opensslInstalled();

/** PEM file paths; all live in `dir`, which the caller removes (removeTempDir). */
export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate and key signed by another CA, which `ca` does not trust. */
  otherCert: string;
  otherKey: string;
}

/** Writes a fresh PKI into a new temp dir (a few hundred ms: five RSA keys). */
export function makeTestPki(): TestPki {
  const dir = makeTempDir('pki');
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
    dir,
    ca: p('test-ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    otherCert: p('intruder.crt'),
    otherKey: p('intruder.key'),
  };
}

/**
 * Another server certificate for 127.0.0.1/localhost with a fresh key, signed by `pki`'s CA
 * (certificate rotation). Returns its PEM file paths, in `pki.dir`.
 */
export function issueServerCert(pki: TestPki, name: string): { cert: string; key: string } {
  const p = (file: string) => path.join(pki.dir, file);
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: pki.dir, stdio: 'pipe' });
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
  fs.writeFileSync(p(`${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', p(`${name}.csr`), '-CA', pki.ca, '-CAkey', p('test-ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
}
