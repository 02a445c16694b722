import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from '../../src/resolve/resolver';
import { staticEndpoints, translateWithWarnings } from '../../src/translate';
import type { NodeKind, ResolvedEndpoints } from '../../src/translate';
import { configOf, errorsOf, sticky } from './helpers';

/** Replicas serving HTTP on 808x and gRPC on 908x, one of them by DNS name. */
const twoProtocols = sticky((c) => {
  c.backends[0]!.endpoints = [
    { address: '127.0.0.1:8081', grpcPort: 9081 },
    { address: '127.0.0.1:8082', grpcPort: 9082, weight: 2 },
    { address: 'replica-3.svc:8083', grpcPort: 9083 },
    '127.0.0.1:7000',
  ];
});

function served(config: ReturnType<typeof configOf>, endpoints: ResolvedEndpoints, kind: NodeKind): [string, number, number][] {
  const { resources } = translateWithWarnings(config, endpoints, kind);
  return resources.endpoints[0]!.endpoints![0]!.lb_endpoints!.map((e) => [
    e.endpoint!.address!.socket_address!.address!,
    e.endpoint!.address!.socket_address!.port_value as number,
    e.load_balancing_weight!.value as number,
  ]);
}

describe('endpoint grpcPort', () => {
  it('is carried into the model; absent means the address port', () => {
    expect(configOf(twoProtocols).backends[0]!.endpoints.map((e) => [e.host, e.port, e.grpcPort])).toEqual([
      ['127.0.0.1', 8081, 9081],
      ['127.0.0.1', 8082, 9082],
      ['replica-3.svc', 8083, 9083],
      ['127.0.0.1', 7000, undefined],
    ]);
  });

  it('Envoy nodes get the address ports, gRPC nodes the gRPC ports, DNS names included', async () => {
    const config = configOf(twoProtocols);
    const resolver = createEndpointResolver({ lookup: async () => ['10.9.0.1', '10.9.0.2'], onChange: () => undefined });
    try {
      const endpoints = await resolver.setConfig(config);
      expect(served(config, endpoints, 'envoy')).toEqual([
        ['127.0.0.1', 8081, 1],
        ['127.0.0.1', 8082, 2],
        ['10.9.0.1', 8083, 1],
        ['10.9.0.2', 8083, 1],
        ['127.0.0.1', 7000, 1],
      ]);
      expect(served(config, endpoints, 'grpc')).toEqual([
        ['127.0.0.1', 9081, 1],
        ['127.0.0.1', 9082, 2],
        ['10.9.0.1', 9083, 1],
        ['10.9.0.2', 9083, 1],
        ['127.0.0.1', 7000, 1],
      ]);
    } finally {
      resolver.close();
    }
  });

  it('a stable ring and a sticky split see the gRPC addresses on gRPC nodes', () => {
    const config = configOf(
      sticky((c) => {
        c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', grpcPort: 9090 }];
        c.backends.push({ name: 'shop-v2', endpoints: [{ address: '10.0.0.2:8080', grpcPort: 9090 }] });
        c.services[0]!.routes[0]!.backends = [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10 }];
        c.services[0]!.routes[0]!.stickySplit = true;
      }),
    );
    const { resources } = translateWithWarnings(config, staticEndpoints(config), 'grpc');
    const ports = resources.endpoints.flatMap((la) => la.endpoints![0]!.lb_endpoints!.map((e) => `${la.cluster_name} ${e.endpoint!.address!.socket_address!.port_value}`));
    // shop-v1, shop-v2 and the sticky cluster holding both.
    expect(ports).toHaveLength(4);
    expect(ports.filter((p) => !p.endsWith(' 9090'))).toEqual([]);
    // Stable rings read their endpoints under a name of their ring shape (assignment-names.ts).
    expect(ports).toEqual(expect.arrayContaining([expect.stringMatching(/^shop-v1~ring\d+ 9090$/), expect.stringMatching(/^shop-v2~ring\d+ 9090$/)]));
  });

  it('must be a port number', () => {
    expect(errorsOf(sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', grpcPort: 0 }])))).toEqual([
      { path: 'backends[0].endpoints[0].grpcPort', message: 'must be a port number from 1 to 65535' },
    ]);
    expect(errorsOf(sticky((c) => (c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', grpcPort: '9090' }])))[0]!.path).toBe('backends[0].endpoints[0].grpcPort');
  });

  it('rejects two endpoints that gRPC clients would reach at one address (grpc-js-xds NACKs duplicates)', () => {
    expect(
      errorsOf(
        sticky((c) => {
          c.backends[0]!.endpoints = [{ address: '10.0.0.1:8080', grpcPort: 9090 }, '10.0.0.1:9090', { address: '10.0.0.2:8080', grpcPort: 9090 }];
        }),
      ),
    ).toEqual([{ path: 'backends[0].endpoints[1]', message: 'gRPC clients would reach it at the same address as endpoints[0] (port 9090)' }]);
    expect(
      errorsOf(
        sticky((c) => {
          c.backends[0]!.endpoints = ['10.0.0.1:8080', { address: '10.0.0.1:8081', grpcPort: 8080 }];
        }),
      ),
    ).toEqual([{ path: 'backends[0].endpoints[1].grpcPort', message: 'gRPC clients would reach it at the same address as endpoints[0] (port 8080)' }]);
    // A plain duplicate is reported once, as before.
    expect(errorsOf(sticky((c) => (c.backends[0]!.endpoints = ['10.0.0.1:8080', '10.0.0.1:8080'])))).toEqual([
      { path: 'backends[0].endpoints[1]', message: 'duplicates endpoints[0]' },
    ]);
  });
});
