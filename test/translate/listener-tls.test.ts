import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigText } from '../../src/config';
import { TetherError } from '../../src/config/errors';
import { createPublisher } from '../../src/control/publisher';
import { SECRET_TYPE } from '../../src/envoy/resource-types';
import { setSecretFileRules, secretFileRules } from '../../src/util/secret-files';
import { silentLogger } from '../../src/log';
import type { TetherConfig } from '../../src/model/types';
import { staticEndpoints, toReadable, translate } from '../../src/translate';
import { conformanceProblems } from '../conformance/check-resources';
import { hasOpenssl, issueServerCert, makeTestPki, type TestPki } from '../support/tls-certs';
import { removeTempDir } from '../support/temp-dir';

/** TLS listeners: the SDS reference, the Secret, its checks through the real protos, and file problems as field errors. */
describe.skipIf(!hasOpenssl)('TLS listeners', () => {
  let pki: TestPki;
  const previousRules = secretFileRules();

  const configFor = (cert: string, key: string): TetherConfig => {
    const parsed = parseConfigText(`
listeners:
  - { name: https, port: 8443, tls: { certificate: ${JSON.stringify(cert)}, privateKey: ${JSON.stringify(key)} } }
  - { name: http, port: 8080 }
services:
  - { name: web, routes: [{ backends: [{ name: web-v1 }] }] }
backends:
  - { name: web-v1, endpoints: ["10.0.0.1:80"] }
`);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.config;
  };

  beforeAll(() => {
    pki = makeTestPki();
    setSecretFileRules({ dir: pki.dir });
  });
  afterAll(() => {
    setSecretFileRules(previousRules);
    if (pki) removeTempDir(pki.dir);
  });

  it('the listener names its secret over ADS; the Secret carries the pair inline; Envoy rules hold', () => {
    const config = configFor('server.crt', 'server.key');
    const pair = { certificateChain: fs.readFileSync(pki.serverCert, 'utf8'), privateKey: fs.readFileSync(pki.serverKey, 'utf8') };
    const resources = translate(config, staticEndpoints(config), 'envoy', new Map([['https', pair]]));
    const readable = toReadable(resources) as { listeners: Array<Record<string, any>> };
    const https = readable.listeners.find((l) => l.name === 'https')!;
    expect(https.filter_chains[0].transport_socket).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'https~tls', sds_config: { ads: {}, resource_api_version: 'V3' } }],
          alpn_protocols: ['h2', 'http/1.1'],
        },
      },
    });
    expect(readable.listeners.find((l) => l.name === 'http')!.filter_chains[0].transport_socket).toBeUndefined();
    expect(resources.secrets).toEqual([
      { name: 'https~tls', tls_certificate: { certificate_chain: { inline_string: pair.certificateChain }, private_key: { inline_string: pair.privateKey } } },
    ]);
    expect(conformanceProblems(resources)).toEqual([]);
    // gRPC nodes terminate no TLS for Tether's listeners: no secrets.
    expect(translate(config, staticEndpoints(config), 'grpc', new Map([['https', pair]])).secrets).toBeUndefined();
  });

  it('the publisher serves the Secret in the SDS set; unreadable or mismatched files are field errors and nothing is served', async () => {
    const cache = new SnapshotCache();
    const publisher = createPublisher({ cache, logger: silentLogger() });
    try {
      const prepared = await publisher.prepare(configFor('server.crt', 'server.key'), 1);
      prepared.publish();
      expect([...cache.get('envoy')!.sets[SECRET_TYPE].resources.keys()]).toEqual(['https~tls']);
      expect(cache.get('grpc')!.sets[SECRET_TYPE].list).toEqual([]);

      const missing = await publisher.prepare(configFor('nope.crt', 'server.key'), 2).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(TetherError);
      expect((missing as TetherError).fieldErrors).toEqual([{ path: 'listeners[0].tls.certificate', message: expect.stringContaining('cannot be read (ENOENT)') }]);

      const other = issueServerCert(pki, 'other');
      const mismatched = (await publisher.prepare(configFor('server.crt', path.basename(other.key)), 3).catch((e: unknown) => e)) as TetherError;
      expect(mismatched.fieldErrors).toEqual([{ path: 'listeners[0].tls.privateKey', message: expect.stringContaining('is not the key of') }]);
      expect(mismatched.message).not.toContain('PRIVATE KEY');

      fs.writeFileSync(path.join(pki.dir, 'garbage.pem'), 'not a certificate');
      const garbage = (await publisher.prepare(configFor('garbage.pem', 'garbage.pem'), 4).catch((e: unknown) => e)) as TetherError;
      expect(garbage.fieldErrors.map((e) => e.path)).toEqual(['listeners[0].tls.certificate', 'listeners[0].tls.privateKey']);
      expect(publisher.served()!.version).toBe(1);
    } finally {
      publisher.close();
    }
  });
});
