import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretFileRules } from '../../src/util/secret-files';
import { configOf, errorsOf, sticky } from './helpers';

/** A listener's edge settings (docs/listener-reference.md): parsing, defaults and errors. */
describe('listener edge settings', () => {
  const withListener = (extra: Record<string, unknown>) =>
    sticky((c) => {
      c.listeners = [{ name: 'http', port: 10000, ...extra }];
    });

  it('take what is written, the rest from the defaults', () => {
    const [l] = configOf(
      withListener({
        clientAddress: { trustedHops: 2 },
        limits: { maxHeaders: 20 },
        timeouts: { streamIdle: '30s', request: 0 },
        accessLog: { format: 'text', path: '/var/log/envoy/access.log' },
      }),
    ).listeners;
    expect(l).toMatchObject({
      clientAddress: { trustedHops: 2 },
      limits: { connectionBufferBytes: 32768, maxHeaders: 20, maxRequestHeadersKb: 60 },
      timeouts: { idleMs: 3_600_000, streamIdleMs: 30_000, requestMs: 0, requestHeadersMs: 10_000 },
      accessLog: { format: 'text', path: '/var/log/envoy/access.log' },
    });
  });

  it('accessLog shorthands: false turns it off, a format name is that format on stdout', () => {
    expect(configOf(withListener({ accessLog: false })).listeners[0]!.accessLog).toBe(false);
    expect(configOf(withListener({ accessLog: 'text' })).listeners[0]!.accessLog).toEqual({ format: 'text' });
    expect(configOf(withListener({ accessLog: true })).listeners[0]!.accessLog).toEqual({ format: 'json' });
  });

  it("refuse what Envoy would reject, naming the field", () => {
    const errors = errorsOf(
      withListener({
        clientAddress: { trustedHops: -1 },
        limits: { maxRequestHeadersKb: 8193, maxHeaders: 0, connectionBufferBytes: 10 },
        timeouts: { idle: '-1s', requestHeaders: 'soon' },
        accessLog: { format: 'xml', path: 'relative.log' },
      }),
    );
    const paths = errors.map((e) => e.path).sort();
    expect(paths).toEqual(
      [
        'listeners[0].accessLog.format',
        'listeners[0].accessLog.path',
        'listeners[0].clientAddress.trustedHops',
        'listeners[0].limits.connectionBufferBytes',
        'listeners[0].limits.maxHeaders',
        'listeners[0].limits.maxRequestHeadersKb',
        'listeners[0].timeouts.idle',
        'listeners[0].timeouts.requestHeaders',
      ].sort(),
    );
    expect(errors.find((e) => e.path.endsWith('maxRequestHeadersKb'))!.message).toContain('8192');
  });

  it('a misspelled key is an error, not a silent default', () => {
    expect(errorsOf(withListener({ limits: { maxHeader: 10 } })).map((e) => e.path)).toEqual(['listeners[0].limits']);
    expect(errorsOf(withListener({ timeouts: { streamIdleTimeout: '1s' } })).map((e) => e.path)).toEqual(['listeners[0].timeouts']);
  });

  it('tls files resolve inside the secrets directory and may not leave it', () => {
    const dir = secretFileRules().dir;
    const [l] = configOf(withListener({ tls: { certificate: 'tls/cert.pem', privateKey: path.join(dir, 'tls/key.pem') } })).listeners;
    expect(l!.tls).toEqual({ certificateFile: path.join(dir, 'tls/cert.pem'), privateKeyFile: path.join(dir, 'tls/key.pem') });
    const errors = errorsOf(withListener({ tls: { certificate: '/etc/passwd', privateKey: '../key.pem' } }));
    expect(errors.map((e) => e.path).sort()).toEqual(['listeners[0].tls.certificate', 'listeners[0].tls.privateKey']);
    expect(errors[0]!.message).toContain('secrets directory');
    expect(errorsOf(withListener({ tls: { certificate: 'c.pem' } })).map((e) => e.path)).toEqual(['listeners[0].tls.privateKey']);
  });
});
