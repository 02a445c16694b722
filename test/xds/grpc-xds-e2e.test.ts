/**
 * End to end with the real xDS client: grpc-js-xds resolves `xds:///echo` through our ADS
 * server (LDS → RDS → CDS → EDS) and calls a grpc-js server on 127.0.0.1.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { mesh } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@grpc/grpc-js-xds').register();

const ECHO_PATH = '/tether.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

/** A unary echo service defined by hand (raw bytes in, "<id>:" + bytes out): no proto needed. */
async function startEcho(id: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(
    {
      Echo: {
        path: ECHO_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, Buffer.concat([Buffer.from(`${id}:`), call.request])),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

function call(client: grpc.Client, text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.from(text), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res!.toString()),
    ),
  );
}

let h: AdsHarness;
let echo: { server: grpc.Server; port: number };
let echo2: { server: grpc.Server; port: number };

beforeAll(async () => {
  h = await startAds();
  echo = await startEcho('e1');
  echo2 = await startEcho('e2');
});

afterAll(async () => {
  await h?.close();
  echo?.server.forceShutdown();
  echo2?.server.forceShutdown();
});

describe('grpc-js-xds against the ADS server', () => {
  it('resolves xds:///echo through LDS, RDS, CDS and EDS and makes a call; every type is ACKed', async () => {
    h.publish('grpc', mesh({ services: { echo: 'echo' }, clusters: { echo: [echo.port] } }), 'cfg-1');
    const bootstrap = {
      xds_servers: [{ server_uri: h.address, channel_creds: [{ type: 'insecure' }] }],
      node: { id: 'e2e-node', locality: {} },
    };
    const client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    });
    try {
      expect(await call(client, 'hello')).toBe('e1:hello');

      await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-1', 5000, 'cfg-1 applied');
      const [status] = h.registry.list();
      expect(status).toMatchObject({ nodeId: 'e2e-node', kind: 'grpc' });
      expect(status!.userAgent).toMatch(/^gRPC Node Pure JS\//);
      const snapshot = h.cache.get('grpc')!;
      for (const t of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE] as const) {
        expect(status!.types[t]?.ackedVersion, t).toBe(snapshot.sets[t].version);
        expect(status!.types[t]?.lastNack, t).toBeUndefined();
      }
      expect(h.logs.filter((l) => l.msg === 'xDS NACK')).toEqual([]);

      // Move the route to a new cluster and drop the old one while calls keep flowing:
      // make-before-break means not one call fails.
      h.publish('grpc', mesh({ services: { echo: 'echo-v2' }, clusters: { 'echo-v2': [echo2.port] } }), 'cfg-2');
      const seen: string[] = [];
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && seen.at(-1) !== 'e2:x') seen.push(await call(client, 'x', 2000));
      expect(seen.at(-1)).toBe('e2:x');
      await eventually(() => h.registry.list()[0]?.appliedConfigVersion === 'cfg-2', 5000, 'cfg-2 applied');
      const cds = h.registry.list()[0]!.types[CLUSTER_TYPE]!;
      expect(cds.ackedVersion).toBe(h.cache.get('grpc')!.sets[CLUSTER_TYPE].version);
    } finally {
      client.close();
    }
  });
});
