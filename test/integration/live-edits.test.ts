/**
 * Issue 3: live edits through the real admin API (gRPC, bearer token) reach a real
 * @grpc/grpc-js-xds client's traffic within a second, with no failed RPC while they land.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness, hello, waitFor, type SampleClient } from '../support/harness';
import { createAdminClient, objectToStruct, type AdminClient } from '../../src/admin';
import type { Replica } from '../../src/sample/replica';
import type { MutationResponse__Output } from '../../src/generated/tether/tether/admin/v1/MutationResponse';

const h = new Harness();
let admin: AdminClient;
let sticky: Replica[];
let v1: Replica;
let v2: Replica;

function auth(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  return md;
}

type Unary<Req> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: MutationResponse__Output) => void) => unknown;

function call<Req>(method: Unary<Req>, req: Req): Promise<MutationResponse__Output> {
  return new Promise((resolve, reject) =>
    method.call(admin, req, auth(), { deadline: Date.now() + 5000 }, (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res))),
  );
}

/** Stops the background traffic even when an assertion fails first. */
async function withTraffic<T>(client: SampleClient, headers: Record<string, string>, body: () => Promise<T>): Promise<{ result: T; calls: number; failures: unknown[] }> {
  const load = traffic(client, headers);
  try {
    const result = await body();
    return { result, ...(await load.stop()) };
  } finally {
    await load.stop();
  }
}

/** Runs calls back to back until stopped; every failure is kept. */
function traffic(client: SampleClient, headers: Record<string, string> = {}) {
  const failures: unknown[] = [];
  let calls = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      calls++;
      await hello(client, headers).catch((err: unknown) => {
        failures.push(err);
        // A broken channel fails fast; do not spin.
        return new Promise((r) => setTimeout(r, 10));
      });
      if (failures.length > 100) stopped = true;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { calls, failures };
    },
  };
}

beforeAll(async () => {
  sticky = [await h.replica('s-1'), await h.replica('s-2'), await h.replica('s-3')];
  v1 = await h.replica('app-v1', 'v1');
  v2 = await h.replica('app-v2', 'v2');
  await h.start({
    services: [
      { name: 'sticky', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'all', backends: [{ name: 'sticky' }] }] },
      { name: 'app', routes: [{ name: 'main', backends: [{ name: 'app-v1', weight: 100 }, { name: 'app-v2', weight: 0 }] }] },
    ],
    backends: [
      { name: 'sticky', endpoints: sticky.map((r) => r.address) },
      { name: 'app-v1', endpoints: [v1.address] },
      { name: 'app-v2', endpoints: [v2.address] },
    ],
  });
  admin = createAdminClient(`127.0.0.1:${h.tether.adminPort}`);
});

afterAll(async () => {
  admin?.close();
  await h.close();
});

describe('live edits through the admin API', () => {
  it('a split change reaches traffic within a second, with no failed RPC', async () => {
    const client = h.client('app');
    expect((await hello(client)).version).toBe('v1');
    const { calls, failures } = await withTraffic(client, {}, async () => {
      const res = await call(admin.SetSplit, { service: 'app', route: 'main', weights: { 'app-v1': 50, 'app-v2': 50 } });
      expect(res.changed).toBe(true);
      const t0 = Date.now();
      await waitFor('v2 to serve', async () => (await hello(client)).version === 'v2', 1000, 5);
      expect(Date.now() - t0).toBeLessThan(1000);
    });
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(0);
  });

  it('an added header route reaches traffic within a second, with no failed RPC', async () => {
    const client = h.client('app');
    await call(admin.SetSplit, { service: 'app', route: 'main', weights: { 'app-v1': 100 } });
    await waitFor('all traffic back on v1', async () => (await Promise.all(Array.from({ length: 20 }, () => hello(client)))).every((r) => r.version === 'v1'));
    const { failures } = await withTraffic(client, { 'x-beta': '1' }, async () => {
      const route = { name: 'beta', match: { headers: { 'x-beta': { exact: '1' } } }, backends: [{ name: 'app-v2' }] };
      const res = await call(admin.UpsertRoute, { service: 'app', route: objectToStruct(route), position: 0 });
      expect(res.changed).toBe(true);
      const t0 = Date.now();
      await waitFor('x-beta: 1 to reach v2', async () => (await hello(client, { 'x-beta': '1' })).version === 'v2', 1000, 5);
      expect(Date.now() - t0).toBeLessThan(1000);
    });
    expect((await hello(client, { 'x-beta': '0' })).version).toBe('v1');
    expect(failures).toEqual([]);
  });

  it('a drained endpoint stops receiving new requests within a second, with no failed RPC', async () => {
    const client = h.client('sticky');
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const owner = async (u: string) => (await hello(client, { 'x-user': u })).replica_id;
    const before = await Promise.all(users.map(owner));
    expect(new Set(before).size).toBe(3);
    const { failures } = await withTraffic(client, { 'x-user': users[before.indexOf('s-2')]! }, async () => {
      const res = await call(admin.DrainEndpoint, { backend: 'sticky', address: sticky[1]!.address });
      expect(res.changed).toBe(true);
      const t0 = Date.now();
      await waitFor('s-2 to get no traffic', async () => (await Promise.all(users.map(owner))).every((id) => id !== 's-2'), 1000, 5);
      expect(Date.now() - t0).toBeLessThan(1000);
    });
    expect(failures).toEqual([]);
  });

  it('refuses a call without the token and changes nothing', async () => {
    const version = h.tether.current().version;
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      admin.SetSplit({ service: 'app', route: 'main', weights: { 'app-v2': 100 } }, (e) => resolve(e!)),
    );
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.tether.current().version).toBe(version);
  });
});
