import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from '../../src/resolve/resolver';
import { staticEndpoints, translate, translateWithWarnings } from '../../src/translate';
import type { ResolvedEndpoints } from '../../src/translate';
import { configOf, errorsOf, sticky } from './helpers';

const drained = sticky((c) => {
  c.backends[0]!.endpoints = ['10.0.0.1:8080', { address: '10.0.0.2:8080', drain: true }, { address: 'db.svc:8080', drain: true }];
});

describe('endpoint drain', () => {
  it('defaults to false and is carried into the model', () => {
    expect(configOf(sticky()).backends[0]!.endpoints[0]!.drain).toBe(false);
    expect(configOf(drained).backends[0]!.endpoints.map((e) => [e.host, e.drain])).toEqual([
      ['10.0.0.1', false],
      ['10.0.0.2', true],
      ['db.svc', true],
    ]);
  });

  it('must be a boolean and belongs to the object form only', () => {
    expect(errorsOf(sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', drain: 'yes' }])))).toEqual([
      { path: 'backends[0].endpoints[0].drain', message: 'must be true or false' },
    ]);
  });

  it('translates to health_status DRAINING on that lb_endpoint only, for both node kinds', () => {
    const config = configOf(drained);
    for (const kind of ['envoy', 'grpc'] as const) {
      const lbs = translate(config, staticEndpoints(config), kind).endpoints[0]!.endpoints![0]!.lb_endpoints!;
      expect(lbs.map((e) => [e.endpoint?.address?.socket_address?.address, e.health_status])).toEqual([
        ['10.0.0.1', undefined],
        ['10.0.0.2', 'DRAINING'],
      ]);
    }
  });

  it('the resolver copies the flag onto every address of a drained DNS name', async () => {
    const config = configOf(drained);
    const resolver = createEndpointResolver({ lookup: async () => ['10.9.0.1', '10.9.0.2'], onChange: () => undefined });
    try {
      const endpoints = await resolver.setConfig(config);
      expect(endpoints.get('shop-v1')).toEqual([
        { ip: '10.0.0.1', port: 8080, weight: 1 },
        { ip: '10.0.0.2', port: 8080, weight: 1, drain: true },
        { ip: '10.9.0.1', port: 8080, weight: 1, hostname: 'db.svc', drain: true },
        { ip: '10.9.0.2', port: 8080, weight: 1, hostname: 'db.svc', drain: true },
      ]);
    } finally {
      resolver.close();
    }
  });

  it('folding one address listed twice: a live copy wins, a drained copy adds no weight', () => {
    const config = configOf(sticky());
    const dup: ResolvedEndpoints = new Map([
      [
        'shop-v1',
        [
          { ip: '10.0.0.1', port: 80, weight: 2, hostname: 'a.svc', drain: true },
          { ip: '10.0.0.1', port: 80, weight: 3, hostname: 'b.svc' },
          { ip: '10.0.0.2', port: 80, weight: 1 },
          { ip: '10.0.0.2', port: 80, weight: 5, drain: true },
          { ip: '10.0.0.3', port: 80, weight: 1, drain: true },
          { ip: '10.0.0.3', port: 80, weight: 1, drain: true },
        ],
      ],
    ]);
    const lbs = translateWithWarnings(config, dup, 'envoy').resources.endpoints[0]!.endpoints![0]!.lb_endpoints!;
    expect(lbs.map((e) => [e.endpoint?.address?.socket_address?.address, e.load_balancing_weight?.value, e.health_status])).toEqual([
      ['10.0.0.1', 3, undefined],
      ['10.0.0.2', 1, undefined],
      ['10.0.0.3', 2, 'DRAINING'],
    ]);
  });
});
