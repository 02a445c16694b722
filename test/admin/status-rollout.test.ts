import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import type { NodeKind } from '../../src/model/node-targets';
import type { AdsClient, ReceivedResponse } from '../support/ads-client';
import { AdminHarness, badRequest, failure, waitForRollout } from './harness';
import { finalMessageAt } from '../../src/admin/rollout-call';

let h: AdminHarness;
beforeEach(async () => {
  h = await AdminHarness.start();
});
afterEach(async () => {
  await h.close();
});

const USER_AGENT: Record<NodeKind, string> = { envoy: 'envoy', grpc: 'gRPC Node' };

/** Subscribes to all four types like Envoy (names from the served snapshot) and ACKs every answer. */
async function connect(id: string, kind: NodeKind = 'envoy'): Promise<AdsClient> {
  const c = await h.adsClient({ id, user_agent_name: USER_AGENT[kind] });
  const snapshot = h.cache.get(kind)!;
  const names = (type: typeof ROUTE_TYPE | typeof ENDPOINT_TYPE) => [...snapshot.sets[type].resources.keys()];
  c.send(CLUSTER_TYPE, []);
  c.ack(await c.nextOf(CLUSTER_TYPE));
  c.send(ENDPOINT_TYPE, names(ENDPOINT_TYPE));
  c.ack(await c.nextOf(ENDPOINT_TYPE));
  c.send(LISTENER_TYPE, []);
  c.ack(await c.nextOf(LISTENER_TYPE));
  if (kind === 'envoy') {
    c.send(ROUTE_TYPE, names(ROUTE_TYPE));
    c.ack(await c.nextOf(ROUTE_TYPE));
  }
  await expect.poll(() => h.registry.list().find((n) => n.nodeId === id)?.appliedConfigVersion).toBe(String(h.version()));
  return c;
}

/** Answers every push until none comes for a while: ACK, or NACK those of `nackType`. */
async function answerPushes(c: AdsClient, nackType?: string): Promise<ReceivedResponse[]> {
  const seen: ReceivedResponse[] = [];
  for (;;) {
    let r: ReceivedResponse;
    try {
      r = await c.next(300);
    } catch {
      return seen;
    }
    seen.push(r);
    if (r.type_url === nackType) c.nack(r, 'rejected by test: route has a bad regex');
    else c.ack(r);
  }
}

describe('GetStatus', () => {
  it('lists each stream with its kind, identity, applied version and per-type versions', async () => {
    const before = Date.now();
    await connect('envoy-1');
    await connect('grpc-1', 'grpc');
    const status = await h.api.GetStatus({});
    expect(status.current_version).toBe('1');
    expect(status.nodes.map((n) => [n.node_id, n.kind, n.applied_version, n.cluster])).toEqual([
      ['envoy-1', 'envoy', '1', 'test'],
      ['grpc-1', 'grpc', '1', 'test'],
    ]);
    const envoy = status.nodes[0]!;
    expect(envoy.user_agent).toMatch(/^envoy/);
    expect(envoy.stream_id).toMatch(/^ads-\d+$/);
    expect(Number(envoy.connected_at!.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(envoy.types.map((t) => t.type)).toEqual(['LDS', 'RDS', 'CDS', 'EDS']);
    const snapshot = h.cache.get('envoy')!;
    expect(envoy.types.find((t) => t.type === 'CDS')).toEqual({
      type: 'CDS',
      sent_version: snapshot.sets[CLUSTER_TYPE].version,
      acked_version: snapshot.sets[CLUSTER_TYPE].version,
      last_nack: null,
    });
    expect(status.nodes[1]!.types.map((t) => t.type)).toEqual(['LDS', 'CDS', 'EDS']);

    const grpcOnly = await h.api.GetStatus({ node_kind: 'grpc' });
    expect(grpcOnly.nodes.map((n) => n.node_id)).toEqual(['grpc-1']);
    const err = await failure(h.api.GetStatus({ node_kind: 'istio' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'node_kind', description: expect.stringMatching(/must be one of "envoy", "grpc"/) }]);
  });

  it('shows a NACK while it is the latest answer for its type', async () => {
    const c = await connect('envoy-1');
    await h.api.SetSplit({ service: 'shop', route: 'main', weights: { 'shop-v1': 1, 'shop-v2': 1 } });
    await answerPushes(c, ROUTE_TYPE);
    const node = (await h.api.GetStatus({})).nodes[0]!;
    expect(node.applied_version).toBe('1');
    const rds = node.types.find((t) => t.type === 'RDS')!;
    expect(rds.last_nack).toMatchObject({ version: h.cache.get('envoy')!.sets[ROUTE_TYPE].version, error: 'rejected by test: route has a bad regex' });
    expect(rds.acked_version).not.toBe(rds.sent_version);
    expect(node.types.find((t) => t.type === 'CDS')!.last_nack).toBeNull();
  });
});

describe('WaitForRollout', () => {
  it('streams WAITING while nodes catch up, then CONVERGED with done', async () => {
    const c1 = await connect('envoy-1');
    const c2 = await connect('envoy-2');
    const { version } = await h.api.SetSplit({ service: 'shop', route: 'main', weights: { 'shop-v1': 1, 'shop-v2': 1 } });
    expect(version).toBe('2');
    const wait = waitForRollout(h.client, {});
    await expect.poll(() => wait.messages.length).toBe(1);
    expect(wait.messages[0]).toMatchObject({ state: 'WAITING', version: '2', pending: ['envoy-1', 'envoy-2'], applied: [], done: false });
    await answerPushes(c1);
    await expect.poll(() => wait.messages.at(-1)?.applied).toEqual(['envoy-1']);
    expect(wait.messages.at(-1)).toMatchObject({ state: 'WAITING', pending: ['envoy-2'], done: false });
    await answerPushes(c2);
    expect((await wait.done).code).toBe(grpc.status.OK);
    expect(wait.messages.at(-1)).toEqual({ state: 'CONVERGED', version: '2', applied: ['envoy-1', 'envoy-2'], pending: [], nacked: [], done: true, connected: 2 });
    expect(wait.messages.filter((m) => m.done)).toHaveLength(1);
  });

  it('fails when a selected node NACKs the new version, naming it and its error', async () => {
    const c1 = await connect('envoy-1');
    await connect('grpc-1', 'grpc');
    await h.api.SetSplit({ service: 'shop', route: 'main', weights: { 'shop-v1': 1, 'shop-v2': 1 } });
    const wait = waitForRollout(h.client, { version: 2, node_kind: 'envoy' });
    await answerPushes(c1, ROUTE_TYPE);
    expect((await wait.done).code).toBe(grpc.status.OK);
    const last = wait.messages.at(-1)!;
    expect(last).toMatchObject({ state: 'FAILED', version: '2', pending: ['envoy-1'], done: true });
    expect(last.nacked).toHaveLength(1);
    expect(last.nacked[0]).toMatchObject({ node_id: 'envoy-1', kind: 'envoy', applied_version: '1' });
    expect(last.nacked[0]!.types.find((t) => t.type === 'RDS')!.last_nack!.error).toBe('rejected by test: route has a bad regex');
  });

  it('times out with the nodes still pending (timeout_ms)', async () => {
    await connect('envoy-1');
    await h.api.Promote({ service: 'shop', backend: 'shop-v1' });
    const started = Date.now();
    const wait = waitForRollout(h.client, { timeout_ms: 300 });
    expect((await wait.done).code).toBe(grpc.status.OK);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(wait.messages.at(-1)).toMatchObject({ state: 'TIMED_OUT', version: '2', pending: ['envoy-1'], done: true });
  });

  it('is bounded by the call deadline: the final TIMED_OUT arrives before it', async () => {
    await connect('envoy-1');
    await h.api.Promote({ service: 'shop', backend: 'shop-v1' });
    const wait = waitForRollout(h.client, {}, { deadlineMs: 2000 });
    expect((await wait.done).code).toBe(grpc.status.OK);
    expect(wait.messages.at(-1)).toMatchObject({ state: 'TIMED_OUT', done: true });
  });

  it('sends the final message a share of the time left before the deadline, so a late timer still makes it', () => {
    const now = 1_000_000;
    expect(finalMessageAt(now + 2_000, now)).toBe(now + 1_600);
    expect(finalMessageAt(now + 200, now)).toBe(now + 100);
    expect(finalMessageAt(now + 60_000, now)).toBe(now + 58_000);
    expect(finalMessageAt(Infinity, now)).toBe(Infinity);
  });

  it('converges at once with no node connected (min_nodes 0); waits for named nodes to connect', async () => {
    const none = waitForRollout(h.client, {});
    expect((await none.done).code).toBe(grpc.status.OK);
    expect(none.messages).toEqual([{ state: 'CONVERGED', version: '1', applied: [], pending: [], nacked: [], done: true, connected: 0 }]);

    const named = waitForRollout(h.client, { node_ids: ['late', 'late'] });
    await expect.poll(() => named.messages.length).toBe(1);
    expect(named.messages[0]).toMatchObject({ state: 'WAITING', pending: ['late'] });
    await connect('late');
    expect((await named.done).code).toBe(grpc.status.OK);
    expect(named.messages.at(-1)).toMatchObject({ state: 'CONVERGED', applied: ['late'], done: true });
  });

  it('min_nodes: waits until that many nodes are connected and applied, else times out saying how many were connected', async () => {
    const lonely = waitForRollout(h.client, { min_nodes: 1, timeout_ms: 300 });
    expect((await lonely.done).code).toBe(grpc.status.OK);
    expect(lonely.messages.at(-1)).toEqual({ state: 'TIMED_OUT', version: '1', applied: [], pending: [], nacked: [], done: true, connected: 0 });

    const two = waitForRollout(h.client, { min_nodes: 2, timeout_ms: 20_000 });
    await expect.poll(() => two.messages.length).toBe(1);
    expect(two.messages[0]).toMatchObject({ state: 'WAITING', connected: 0 });
    await connect('envoy-1');
    await expect.poll(() => two.messages.at(-1)?.connected).toBe(1);
    expect(two.messages.at(-1)).toMatchObject({ state: 'WAITING', applied: ['envoy-1'], done: false });
    await connect('envoy-2');
    expect((await two.done).code).toBe(grpc.status.OK);
    expect(two.messages.at(-1)).toMatchObject({ state: 'CONVERGED', applied: ['envoy-1', 'envoy-2'], connected: 2, done: true });
  });

  it('a node already past the target counts as applied; older targets work', async () => {
    await h.api.Promote({ service: 'shop', backend: 'shop-v1' });
    await connect('envoy-1');
    const wait = waitForRollout(h.client, { version: 1 });
    expect((await wait.done).code).toBe(grpc.status.OK);
    expect(wait.messages.at(-1)).toMatchObject({ state: 'CONVERGED', version: '1', applied: ['envoy-1'] });
  });

  it('removes its registry listener when the client cancels', async () => {
    await connect('envoy-1');
    await h.api.Promote({ service: 'shop', backend: 'shop-v1' });
    const listeners = () => (h.registry as unknown as { listeners: Set<unknown> }).listeners.size;
    const base = listeners();
    const wait = waitForRollout(h.client, {});
    await expect.poll(() => wait.messages.length).toBe(1);
    expect(listeners()).toBe(base + 1);
    wait.call.cancel();
    expect((await wait.done).code).toBe(grpc.status.CANCELLED);
    await expect.poll(listeners).toBe(base);
  });

  it('rejects bad requests with INVALID_ARGUMENT naming the field', async () => {
    const cases: [object, string][] = [
      [{ version: 5 }, 'version'],
      [{ node_kind: 'proxy' }, 'node_kind'],
      [{ node_ids: ['a', ''] }, 'node_ids[1]'],
      [{ version: '18446744073709551615' }, 'version'],
      [{ node_ids: ['a', 'b', 'a'], min_nodes: 3 }, 'min_nodes'],
    ];
    for (const [req, field] of cases) {
      const wait = waitForRollout(h.client, req);
      const status = await wait.done;
      expect(status.code, JSON.stringify(req)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequest(status as grpc.ServiceError).violations.map((v) => v.field)).toEqual([field]);
      expect(wait.messages).toEqual([]);
    }
  });
});
