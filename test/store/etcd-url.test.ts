import { describe, expect, it } from 'vitest';
import { describeTarget, isEtcdUrl, parseEtcdUrl } from '../../src/store/etcd-connection';

describe('--store etcd://…', () => {
  it('parses members, prefix and TLS', () => {
    expect(parseEtcdUrl('etcd://a:2379,b:2379,[::1]:2379/team/tether')).toEqual({ endpoints: ['a:2379', 'b:2379', '[::1]:2379'], prefix: 'team/tether/', tls: false });
    expect(parseEtcdUrl('etcds://10.0.0.1:2379')).toEqual({ endpoints: ['10.0.0.1:2379'], prefix: 'tether/', tls: true });
    expect(describeTarget(parseEtcdUrl('etcd://a:1/p/'))).toBe('etcd://a:1/p');
    expect(isEtcdUrl('etcd://a:1')).toBe(true);
    expect(isEtcdUrl('/var/lib/tether')).toBe(false);
  });

  it('refuses what is not host:port, naming the option and the part', () => {
    expect(() => parseEtcdUrl('http://a:2379/x')).toThrow(/--store "http:\/\/a:2379\/x": expected etcd:\/\/host:port/);
    expect(() => parseEtcdUrl('etcd://a,b:2379/x')).toThrow(/"a" is not host:port/);
    expect(() => parseEtcdUrl('etcd://a:99999/x')).toThrow(/"a:99999" is not host:port/);
  });
});
