import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectToStruct } from '../../src/admin/convert';
import { createAdminClient } from '../../src/admin/admin-proto';
import { addAdminService, DEFAULT_MAX_RECEIVE_MESSAGE_BYTES } from '../../src/admin/server';
import { ADMIN_MAX_MESSAGE_BYTES } from '../../src/admin/message-limits';
import { silentLogger } from '../../src/log';
import { AdminHarness, UNARY_METHODS, adminApi, baseConfig, bearer, failure, waitForRollout } from './harness';

const REFLECTION_DIR = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

type HealthClient = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

function healthClient(address: string): HealthClient {
  const Ctor = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
}

function healthCheck(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))));
}

/** One ServerReflectionInfo exchange through the real reflection protocol. */
async function reflect(address: string, version: 'v1' | 'v1alpha', request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const def = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [REFLECTION_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> } };
  const client = new pkg.grpc.reflection[version]!.ServerReflection(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo(): grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  };
  try {
    return await new Promise((resolve, reject) => {
      const call = client.ServerReflectionInfo();
      call.on('data', (res: Record<string, unknown>) => {
        resolve(res);
        call.end();
      });
      call.on('error', reject);
      call.write(request);
    });
  } finally {
    client.close();
  }
}

describe('auth', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await AdminHarness.start();
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses every Admin call without the right token, before running anything', async () => {
    const config = objectToStruct({ ...baseConfig(), services: [] });
    for (const token of [null, 'wrong-token', '']) {
      const api = adminApi(h.client, token);
      for (const method of UNARY_METHODS) {
        // A request that would succeed with the token: nothing may run without it.
        const req = method === 'ApplyConfig' ? { config } : method === 'DeleteService' ? { name: 'search' } : {};
        const err = await failure((api[method] as (r: object) => Promise<unknown>)(req));
        expect(err.code, `${method} with ${String(token)}`).toBe(grpc.status.UNAUTHENTICATED);
      }
      const stream = waitForRollout(h.client, {}, { md: bearer(token) });
      expect((await stream.done).code).toBe(grpc.status.UNAUTHENTICATED);
      expect(stream.messages).toEqual([]);
    }
    const missing = await failure(adminApi(h.client, null).GetConfig());
    expect(missing.details).toBe("missing 'authorization: Bearer <token>' metadata");
    const wrong = await failure(adminApi(h.client, 'nope').GetConfig());
    expect(wrong.details).toBe('invalid admin token');
    expect(h.version()).toBe(1);
    expect((await h.manager.history()).length).toBe(1);
  });

  it('accepts the right token', async () => {
    expect(await h.api.GetConfig()).toMatchObject({ version: '1' });
    const stream = waitForRollout(h.client, {});
    expect((await stream.done).code).toBe(grpc.status.OK);
  });

  it('leaves health and reflection open (probes and grpcurl carry no token)', async () => {
    const health = healthClient(h.address);
    try {
      expect(await healthCheck(health, '')).toBe('SERVING');
      expect(await healthCheck(health, 'tether.admin.v1.Admin')).toBe('SERVING');
      expect((await failure(healthCheck(health, 'unknown.Service'))).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
    for (const version of ['v1', 'v1alpha'] as const) {
      const res = await reflect(h.address, version, { list_services: '' });
      const names = (res.list_services_response as { service: { name: string }[] }).service.map((x) => x.name);
      expect(names).toEqual(expect.arrayContaining(['tether.admin.v1.Admin', 'grpc.health.v1.Health']));
    }
    const file = await reflect(h.address, 'v1', { file_containing_symbol: 'tether.admin.v1.Admin' });
    const protos = (file.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
    expect(protos.length).toBeGreaterThan(0);
    expect(Buffer.concat(protos).toString('latin1')).toContain('WaitForRollout');
  });
});

describe('auth disabled', () => {
  it('serves Admin calls without metadata', async () => {
    const h = await AdminHarness.start({ auth: { mode: 'none' } });
    try {
      expect(await adminApi(h.client, null).GetConfig()).toMatchObject({ version: '1' });
    } finally {
      await h.close();
    }
  });
});

describe('addAdminService', () => {
  it('serves the admin API, health and reflection on a server of the caller (e.g. the xDS port)', async () => {
    const h = await AdminHarness.start();
    const server = new grpc.Server();
    const added = addAdminService(server, { manager: h.manager, registry: h.registry, logger: silentLogger(), auth: { mode: 'token', tokens: ['shared'] } });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const address = `127.0.0.1:${port}`;
    const client = createAdminClient(address);
    const health = healthClient(address);
    try {
      expect(await healthCheck(health, 'tether.admin.v1.Admin')).toBe('NOT_SERVING');
      added.setServing(true);
      expect(await healthCheck(health, '')).toBe('SERVING');
      expect(await adminApi(client, 'shared').GetConfig()).toMatchObject({ version: '1' });
      expect((await failure(adminApi(client).GetConfig())).code).toBe(grpc.status.UNAUTHENTICATED);
      const res = await reflect(address, 'v1alpha', { list_services: '' });
      expect((res.list_services_response as { service: { name: string }[] }).service.map((x) => x.name)).toContain('tether.admin.v1.Admin');
    } finally {
      client.close();
      health.close();
      added.close();
      server.forceShutdown();
      await h.close();
    }
  });
});

describe('lifecycle and limits', () => {
  it('goes NOT_SERVING on close and ends open rollout waits with UNAVAILABLE', async () => {
    const h = await AdminHarness.start();
    const health = healthClient(h.address);
    const seen: string[] = [];
    const watch = health.Watch({ service: 'tether.admin.v1.Admin' });
    watch.on('data', (m: { status: string }) => seen.push(m.status));
    watch.on('error', () => undefined);
    const node = await h.adsClient({ id: 'never-acks' });
    node.send('type.googleapis.com/envoy.config.cluster.v3.Cluster', []);
    await expect.poll(() => h.registry.list().length).toBe(1);
    const rollout = waitForRollout(h.client, { timeout_ms: 60_000 });
    await expect.poll(() => rollout.messages.length).toBe(1);
    await h.close();
    expect((await rollout.done).code).toBe(grpc.status.UNAVAILABLE);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    health.close();
  });

  it('rejects requests above the receive limit with RESOURCE_EXHAUSTED (default ADMIN_MAX_MESSAGE_BYTES; configurable)', async () => {
    expect(DEFAULT_MAX_RECEIVE_MESSAGE_BYTES).toBe(ADMIN_MAX_MESSAGE_BYTES);
    const h = await AdminHarness.start();
    try {
      // Past grpc's usual 4 MiB the request still reaches validation.
      const err = await failure(h.api.ApplyConfig({ config: { fields: { junk: { stringValue: 'y'.repeat(5 * 1024 * 1024) } } } }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/unknown field 'junk'/);
    } finally {
      await h.close();
    }
    const small = await AdminHarness.start({ maxReceiveMessageBytes: 64 * 1024 });
    try {
      const err = await failure(small.api.DeleteService({ name: 'a'.repeat(70 * 1024) }));
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(await small.api.GetConfig()).toMatchObject({ version: '1' });
    } finally {
      await small.close();
    }
  });
});
