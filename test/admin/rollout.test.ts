import { describe, expect, it } from 'vitest';
import { evaluateRollout, watchRollout, type RolloutView } from '../../src/admin/rollout';
import { toNodeInfo } from '../../src/admin/status';
import { CLUSTER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { NodeRegistry } from '../../src/xds/node-status';
import type { NodeKind } from '../../src/model/node-targets';

/** A registry driven by hand, the way xDS streams report into it. */
function registry(): NodeRegistry & { open(stream: string, node: string, kind?: NodeKind): void } {
  const r = new NodeRegistry() as NodeRegistry & { open(stream: string, node: string, kind?: NodeKind): void };
  r.open = (stream, node, kind = 'envoy') =>
    r.streamOpened({ streamId: stream, nodeId: node, cluster: 'c', kind, userAgent: 'envoy/1', connectedAt: new Date() });
  return r;
}

const EPOCH = new Date(0);

describe('evaluateRollout', () => {
  it('converges at once with nobody to wait for, unless nodes are named or a minimum is asked for', () => {
    expect(evaluateRollout([], 3, { nodeIds: [] }, EPOCH)).toEqual({ state: 'CONVERGED', applied: [], pending: [], nacked: [], connected: 0 });
    expect(evaluateRollout([], 3, { nodeIds: ['a'] }, EPOCH)).toMatchObject({ state: 'WAITING', pending: ['a'] });
    expect(evaluateRollout([], 3, { nodeIds: [], minNodes: 1 }, EPOCH)).toEqual({ state: 'WAITING', applied: [], pending: [], nacked: [], connected: 0 });
  });

  it('minNodes: converges once that many selected nodes are connected and all of them applied', () => {
    const r = registry();
    r.open('s1', 'a');
    r.open('s2', 'a');
    r.open('s3', 'g', 'grpc');
    r.configApplied('s1', '4');
    r.configApplied('s2', '4');
    r.configApplied('s3', '4');
    // Two streams of one node are one node.
    expect(evaluateRollout(r.list(), 4, { nodeIds: [], kind: 'envoy', minNodes: 2 }, EPOCH)).toMatchObject({ state: 'WAITING', applied: ['a'], connected: 1 });
    expect(evaluateRollout(r.list(), 4, { nodeIds: [], minNodes: 2 }, EPOCH)).toMatchObject({ state: 'CONVERGED', applied: ['a', 'g'], connected: 2 });
    r.open('s4', 'b');
    // Enough nodes, but one has not applied yet.
    expect(evaluateRollout(r.list(), 4, { nodeIds: [], minNodes: 2 }, EPOCH)).toMatchObject({ state: 'WAITING', pending: ['b'], connected: 3 });
    // Named ids that are not connected do not count as connected.
    expect(evaluateRollout(r.list(), 4, { nodeIds: ['a', 'zz'], minNodes: 1 }, EPOCH)).toMatchObject({ state: 'WAITING', pending: ['zz'], connected: 1 });
  });

  it('counts a node as applied when all its streams are at the target or newer, numerically', () => {
    const r = registry();
    r.open('s1', 'a');
    r.open('s2', 'a');
    r.open('s3', 'b');
    r.open('s4', 'g', 'grpc');
    r.configApplied('s1', '10');
    r.configApplied('s3', '9');
    r.configApplied('s4', '11');
    expect(evaluateRollout(r.list(), 10, { nodeIds: [] }, EPOCH)).toMatchObject({ state: 'WAITING', applied: ['g'], pending: ['a', 'b'] });
    r.configApplied('s2', '12');
    r.configApplied('s3', '10');
    expect(evaluateRollout(r.list(), 10, { nodeIds: [] }, EPOCH)).toMatchObject({ state: 'CONVERGED', applied: ['a', 'b', 'g'] });
    // Kind and id filters; a content hash is not a version.
    r.configApplied('s3', 'ab12cd');
    expect(evaluateRollout(r.list(), 10, { nodeIds: [], kind: 'grpc' }, EPOCH)).toMatchObject({ state: 'CONVERGED', applied: ['g'] });
    expect(evaluateRollout(r.list(), 10, { nodeIds: ['b', 'zz'] }, EPOCH)).toMatchObject({ state: 'WAITING', pending: ['b', 'zz'] });
  });

  it('fails on a NACK after the cutoff that is still the latest answer, by a node that has not applied', () => {
    const r = registry();
    r.open('s1', 'a');
    r.open('s2', 'b');
    r.nacked('s1', ROUTE_TYPE, 'v-rds', '3', 'bad route');
    const before = new Date(Date.now() + 60_000);
    // A NACK from before the target was published does not count.
    expect(evaluateRollout(r.list(), 2, { nodeIds: [] }, before).state).toBe('WAITING');
    const failed = evaluateRollout(r.list(), 2, { nodeIds: [] }, EPOCH);
    expect(failed).toMatchObject({ state: 'FAILED', pending: ['a', 'b'] });
    expect(failed.nacked.map((n) => n.streamId)).toEqual(['s1']);
    // Not selected: not failed.
    expect(evaluateRollout(r.list(), 2, { nodeIds: ['b'] }, EPOCH).state).toBe('WAITING');
    // A later ACK of the type clears it.
    const later = new Date(Date.now() + 5);
    while (Date.now() < later.getTime());
    r.acked('s1', ROUTE_TYPE, 'v-rds-2');
    expect(evaluateRollout(r.list(), 2, { nodeIds: [] }, EPOCH).state).toBe('WAITING');
    // A node that has applied the target is not failed by a NACK of something newer.
    r.nacked('s2', CLUSTER_TYPE, 'v-cds', '4', 'bad cluster');
    r.configApplied('s2', '2');
    expect(evaluateRollout(r.list(), 2, { nodeIds: ['b'] }, EPOCH).state).toBe('CONVERGED');
  });
});

describe('evaluateRollout: a stream blocked on a version the node rejected', () => {
  it('fails a target at or below the blocked config version, whenever the NACK happened; status shows the NACK', () => {
    const r = registry();
    r.open('s1', 'a');
    r.configApplied('s1', '1');
    r.nacked('s1', ROUTE_TYPE, 'v-rds', '3', 'bad route');
    const later = new Date(Date.now() + 60_000);
    // Config 3 reproduces the rejected RDS: an old NACK, but the node cannot get past it.
    expect(evaluateRollout(r.list(), 3, { nodeIds: [] }, later).state).toBe('WAITING');
    r.configBlocked('s1', { configVersion: '3', typeUrl: ROUTE_TYPE });
    const failed = evaluateRollout(r.list(), 3, { nodeIds: [] }, later);
    expect(failed).toMatchObject({ state: 'FAILED', pending: ['a'] });
    expect(toNodeInfo(failed.nacked[0]!).types!.find((t) => t.type === 'RDS')!.last_nack).toMatchObject({ version: 'v-rds', error: 'bad route' });
    expect(evaluateRollout(r.list(), 2, { nodeIds: [] }, later).state).toBe('FAILED');
    // A newer target than the blocked config may still arrive.
    expect(evaluateRollout(r.list(), 4, { nodeIds: [] }, later).state).toBe('WAITING');
    // Shown while blocked even if an ACK of the type came after the NACK.
    r.acked('s1', ROUTE_TYPE, 'v-rds-other');
    expect(toNodeInfo(r.list()[0]!).types!.find((t) => t.type === 'RDS')!.last_nack).not.toBeNull();
    r.configBlocked('s1', undefined);
    expect(evaluateRollout(r.list(), 3, { nodeIds: [] }, later).state).toBe('WAITING');
  });
});

describe('watchRollout', () => {
  function watch(r: NodeRegistry, target: number, deadlineIn: number, nodeIds: string[] = [], throttleMs = 100) {
    const views: { view: RolloutView; done: boolean; at: number }[] = [];
    const start = Date.now();
    let resolve!: () => void;
    const finished = new Promise<void>((res) => (resolve = res));
    const cancel = watchRollout({
      registry: r,
      target,
      selection: { nodeIds },
      nackCutoff: EPOCH,
      deadline: Date.now() + deadlineIn,
      throttleMs,
      emit: (view, done) => {
        views.push({ view, done, at: Date.now() - start });
        if (done) resolve();
      },
    });
    return { views, finished, cancel };
  }

  it('sends WAITING, then CONVERGED as soon as the last node applies (never throttled), and stops listening', async () => {
    const r = registry();
    r.open('s1', 'a');
    const w = watch(r, 1, 20_000, [], 10_000);
    expect(w.views).toEqual([{ view: expect.objectContaining({ state: 'WAITING', pending: ['a'] }), done: false, at: expect.any(Number) }]);
    setTimeout(() => r.configApplied('s1', '1'), 20);
    await w.finished;
    expect(w.views.at(-1)).toMatchObject({ view: { state: 'CONVERGED', applied: ['a'] }, done: true });
    expect(w.views.at(-1)!.at).toBeLessThan(5000);
    expect((r as unknown as { listeners: Set<unknown> }).listeners.size).toBe(0);
  });

  it('throttles progress to one message per 100 ms', async () => {
    const r = registry();
    for (let i = 0; i < 5; i++) r.open(`s${i}`, `n${i}`);
    const w = watch(r, 1, 450);
    const churn = setInterval(() => r.responseSent('s0', CLUSTER_TYPE, 'x', String(Math.random())), 2);
    await w.finished;
    clearInterval(churn);
    const waiting = w.views.filter((v) => !v.done);
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(waiting.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < waiting.length; i++) expect(waiting[i]!.at - waiting[i - 1]!.at).toBeGreaterThanOrEqual(95);
    expect(w.views.at(-1)).toMatchObject({ view: { state: 'TIMED_OUT', pending: ['n0', 'n1', 'n2', 'n3', 'n4'] }, done: true });
  });

  it('cancel removes the listener and timers; nothing is emitted after', async () => {
    const r = registry();
    r.open('s1', 'a');
    const w = watch(r, 1, 100);
    w.cancel();
    r.configApplied('s1', '1');
    await new Promise((res) => setTimeout(res, 150));
    expect(w.views).toHaveLength(1);
    expect((r as unknown as { listeners: Set<unknown> }).listeners.size).toBe(0);
  });

  it('waits for named nodes to connect', async () => {
    const r = registry();
    const w = watch(r, 4, 5000, ['late']);
    expect(w.views[0]!.view).toMatchObject({ state: 'WAITING', pending: ['late'] });
    r.open('s9', 'late');
    r.configApplied('s9', '4');
    await w.finished;
    expect(w.views.at(-1)!.view).toMatchObject({ state: 'CONVERGED', applied: ['late'] });
  });
});
