import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, EncodeError, pack } from '../../src/envoy/encode';

describe('encode through the real Envoy protos', () => {
  it('round-trips a cluster', () => {
    const bytes = encodeMessage('envoy.config.cluster.v3.Cluster', {
      name: 'shop-v1',
      type: 'EDS',
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: { value: '1024' } },
    });
    expect(decodeMessage('envoy.config.cluster.v3.Cluster', bytes)).toEqual({
      name: 'shop-v1',
      type: 'EDS',
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: { value: '1024' } },
    });
  });

  it('refuses a misspelled field that slipped past the types', () => {
    const bad = { name: 'c', lb_polcy: 'RING_HASH' } as unknown as Parameters<typeof encodeMessage<'envoy.config.cluster.v3.Cluster'>>[1];
    expect(() => encodeMessage('envoy.config.cluster.v3.Cluster', bad)).toThrow(EncodeError);
    expect(() => encodeMessage('envoy.config.cluster.v3.Cluster', bad)).toThrow(/lb_polcy: unknown field/);
  });

  it('refuses an unknown enum name and a hand-made Any', () => {
    const badEnum = { name: 'c', lb_policy: 'RINGHASH' } as never;
    expect(() => encodeMessage('envoy.config.cluster.v3.Cluster', badEnum)).toThrow(/unknown enum value "RINGHASH"/);
    const badAny = { name: 'l', api_listener: { api_listener: { '@type': 'x' } } } as never;
    expect(() => encodeMessage('envoy.config.listener.v3.Listener', badAny)).toThrow(/must come from pack/);
  });

  it('packs typed_config with the right type URL', () => {
    const any = pack('envoy.extensions.filters.http.router.v3.Router', {});
    expect(any.type_url).toBe('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
    expect(Buffer.isBuffer(any.value)).toBe(true);
  });
});
