/**
 * TLS for Tether's gRPC ports (admin, and xDS too: the helpers know nothing of the admin API).
 * Files are PEM. With a CA, the server requires and verifies client certificates (mTLS).
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface TlsFiles {
  /** The server's certificate chain. */
  cert: string;
  /** The server's private key. */
  key: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  ca?: string;
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read TLS ${what} ${file}: ${(err as Error).message}`);
  }
}

/** TLS server credentials (mTLS when `tls.ca` is set), or insecure ones when `tls` is absent. */
export function serverCredentials(tls?: TlsFiles): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.ca ? readPem(tls.ca, 'CA file') : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readPem(tls.cert, 'certificate file'), private_key: readPem(tls.key, 'key file') }],
    ca !== null,
  );
}

export interface ClientTlsFiles {
  /** CA that signed the server's certificate (default: the system's roots). */
  ca?: string;
  /** Client certificate and key, for servers that require mTLS. */
  cert?: string;
  key?: string;
}

/** Channel credentials for a client (the CLI): TLS when `tls` is given, else insecure. */
export function channelCredentials(tls?: ClientTlsFiles): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (!!tls.cert !== !!tls.key) throw new Error('a client certificate needs its key, and a key its certificate');
  return grpc.credentials.createSsl(
    tls.ca ? readPem(tls.ca, 'CA file') : null,
    tls.key ? readPem(tls.key, 'key file') : null,
    tls.cert ? readPem(tls.cert, 'certificate file') : null,
  );
}
