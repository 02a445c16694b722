import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../src/affinity';
import { parseConfigText } from '../../src/config';
import { explainRequest } from '../../src/explain';
import { attributedAddress, clientAddressPolicies } from '../../src/explain/client-address';
import { staticEndpoints, translate } from '../../src/translate';
import { served } from './explain-helpers';

/**
 * Which address a clientIp key hashes, as Envoy decides it (the same inputs are sent through a
 * real Envoy in test/envoy-real/client-address.test.ts).
 */
describe('the client address Envoy attributes a request to', () => {
  const edge = { useRemoteAddress: true, trustedHops: 0 };
  const oneHop = { useRemoteAddress: true, trustedHops: 1 };
  const twoHops = { useRemoteAddress: true, trustedHops: 2 };
  const envoyDefault = { useRemoteAddress: false, trustedHops: 0 };

  it('no trusted hop: the peer, whatever X-Forwarded-For says', () => {
    expect(attributedAddress(edge, '127.0.0.9', '203.0.113.7').ip).toBe('127.0.0.9');
    expect(attributedAddress(edge, '127.0.0.9', undefined).ip).toBe('127.0.0.9');
  });

  it('N trusted hops: the Nth address from the right, blanks trimmed', () => {
    expect(attributedAddress(oneHop, '10.0.0.1', ' 1.1.1.1 ,  198.51.100.7 ').ip).toBe('198.51.100.7');
    expect(attributedAddress(twoHops, '10.0.0.1', '1.1.1.1, 198.51.100.7, 10.9.9.9').ip).toBe('198.51.100.7');
    expect(attributedAddress(oneHop, '10.0.0.1', '2001:db8::5').ip).toBe('2001:db8::5');
  });

  it('several header lines are one list, in order', () => {
    expect(attributedAddress(oneHop, '10.0.0.1', ['1.1.1.1', '198.51.100.8']).ip).toBe('198.51.100.8');
    expect(attributedAddress(twoHops, '10.0.0.1', ['1.1.1.1', '198.51.100.8']).ip).toBe('1.1.1.1');
  });

  it('too few addresses, a port, brackets or garbage: the peer', () => {
    for (const xff of ['198.51.100.7', '', 'unknown', '198.51.100.7:443', '[2001:db8::5]', 'fe80::1%eth0', '01.2.3.4']) {
      const policy = xff === '198.51.100.7' ? twoHops : oneHop;
      const got = attributedAddress(policy, '10.0.0.1', xff);
      expect({ xff, ip: got.ip }).toEqual({ xff, ip: '10.0.0.1' });
      expect(got.source).toContain("connection's peer");
    }
  });

  it("Envoy's own default (use_remote_address off): the last address, spoofable", () => {
    expect(attributedAddress(envoyDefault, '10.0.0.1', '6.6.6.6').ip).toBe('6.6.6.6');
    expect(attributedAddress({ useRemoteAddress: false, trustedHops: 1 }, '10.0.0.1', '5.5.5.5, 6.6.6.6').ip).toBe('5.5.5.5');
  });

  it('no peer and nothing trusted: no address (Envoy would have one; explain says it needs client_ip)', () => {
    const got = attributedAddress(edge, undefined, '1.2.3.4');
    expect(got.ip).toBeUndefined();
    expect(got.source).toContain('client_ip');
  });

  it('reads each listener’s policy from the served HCM, by route configuration', () => {
    const parsed = parseConfigText(`
listeners:
  - { name: edge, port: 10000 }
  - { name: behind-lb, port: 10001, clientAddress: { trustedHops: 1 } }
services:
  - { name: s, affinity: { keys: [{ clientIp: true }] }, routes: [{ backends: [{ name: b }] }] }
backends:
  - { name: b, endpoints: ["10.0.0.1:80"] }
`);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const served = translate(parsed.config, staticEndpoints(parsed.config), 'envoy');
    expect(Object.fromEntries(clientAddressPolicies(served.listeners))).toEqual({
      edge: { useRemoteAddress: true, trustedHops: 0 },
      'behind-lb': { useRemoteAddress: true, trustedHops: 1 },
    });
  });

  describe('explain, per listener', () => {
    beforeAll(async () => {
      await initHashing();
    });
    const doc = {
      listeners: [
        { name: 'edge', port: 10000 },
        { name: 'lb', port: 10001, clientAddress: { trustedHops: 1 } },
        { name: 'other', port: 10002 },
      ],
      services: [
        { name: 's', listeners: ['edge', 'lb'], affinity: { keys: [{ clientIp: true }] }, routes: [{ backends: [{ name: 'b' }] }] },
        { name: 't', listeners: ['other'], routes: [{ backends: [{ name: 'b' }] }] },
      ],
      backends: [{ name: 'b', endpoints: ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'] }],
    };
    const request = { service: 's', kind: 'envoy' as const, clientIp: '10.9.9.9', headers: { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7' } };

    it('hashes the address the named listener attributes, and says which', () => {
      const ctx = served(doc, 'envoy');
      const onLb = explainRequest({ ...request, listener: 'lb' }, ctx);
      const onEdge = explainRequest({ ...request, listener: 'edge' }, ctx);
      expect(onLb.steps[0]).toMatchObject({ key: 'clientIp', input: '198.51.100.7' });
      expect(onEdge.steps[0]).toMatchObject({ key: 'clientIp', input: '10.9.9.9' });
      expect(onLb.notes).toContain("client address: X-Forwarded-For's 1st address from the right (use_remote_address with 1 trusted hop)");
      expect(onEdge.notes.join('\n')).toContain("the connection's peer 10.9.9.9");
      // No listener named: the first by name serving the service.
      expect(explainRequest(request, ctx).steps[0]).toMatchObject({ input: '10.9.9.9' });
    });

    it('a listener the service is not on is NOT_FOUND, naming those it is on', () => {
      expect(() => explainRequest({ ...request, listener: 'other' }, served(doc, 'envoy'))).toThrow("service 's' is not on listener 'other'; it is on 'edge', 'lb'");
    });
  });
});
