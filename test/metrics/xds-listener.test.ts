import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { combineListeners, createTetherMetrics } from '../../src/metrics';
import type { NodeKind } from '../../src/model/node-targets';
import type { NodeStatusListener } from '../../src/xds/node-status';
import { mesh } from '../xds/fixtures/resources';
import { samples, value } from './exposition';

function setup(opts: { publishedVersionsKept?: number } = {}) {
  let clock = 1000;
  const metrics = createTetherMetrics({ processMetrics: false, now: () => clock, ...opts });
  const open = (streamId: string, kind: NodeKind) =>
    metrics.listener.streamOpened({ streamId, nodeId: streamId, cluster: 'c', kind, userAgent: 'test', connectedAt: new Date() });
  return {
    metrics,
    l: metrics.listener,
    open,
    advance: (ms: number) => (clock += ms),
    text: () => metrics.registry.metrics(),
  };
}

describe('xDS listener metrics', () => {
  it('counts connected nodes by kind, pushes, ACKs and NACKs by kind and type, and frees closed streams', async () => {
    const { l, open, text, metrics } = setup();
    open('e1', 'envoy');
    open('e2', 'envoy');
    open('g1', 'grpc');
    for (const s of ['e1', 'e2']) {
      l.responseSent(s, CLUSTER_TYPE, 'v', 'n1');
      l.acked(s, CLUSTER_TYPE, 'v');
      l.responseSent(s, ENDPOINT_TYPE, 'v', 'n2');
    }
    l.nacked('e2', ENDPOINT_TYPE, 'v', 'n2', 'bad');
    l.responseSent('g1', LISTENER_TYPE, 'v', 'n1');
    l.acked('g1', LISTENER_TYPE, 'v');
    l.responseSent('g1', ROUTE_TYPE, 'v', 'n2');
    l.responseSent('g1', ROUTE_TYPE, 'v2', 'n3');
    // Events of streams that never opened are ignored.
    l.responseSent('ghost', CLUSTER_TYPE, 'v', 'n');

    let t = await text();
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(2);
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'grpc' })).toBe(1);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'envoy', type: 'cluster' })).toBe(2);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'envoy', type: 'endpoint' })).toBe(2);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'envoy', type: 'listener' })).toBe(0);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type: 'route' })).toBe(2);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type: 'listener' })).toBe(1);
    expect(value(t, 'tether_xds_acks_total', { kind: 'envoy', type: 'cluster' })).toBe(2);
    expect(value(t, 'tether_xds_acks_total', { kind: 'envoy', type: 'endpoint' })).toBe(0);
    expect(value(t, 'tether_xds_acks_total', { kind: 'grpc', type: 'listener' })).toBe(1);
    expect(value(t, 'tether_xds_nacks_total', { kind: 'envoy', type: 'endpoint' })).toBe(1);
    expect(value(t, 'tether_xds_nacks_total', { kind: 'grpc', type: 'route' })).toBe(0);
    expect(t).toMatch(/# TYPE tether_xds_pushes_total counter/);
    expect(metrics.trackedStreams).toBe(3);

    l.streamClosed('e1');
    l.streamClosed('e1'); // idempotent
    l.responseSent('e1', CLUSTER_TYPE, 'v', 'n9'); // after close: not counted
    t = await text();
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(1);
    expect(value(t, 'tether_xds_pushes_total', { kind: 'envoy', type: 'cluster' })).toBe(2);
    expect(metrics.trackedStreams).toBe(2);
    l.streamClosed('e2');
    l.streamClosed('g1');
    t = await text();
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(0);
    expect(value(t, 'tether_xds_connected_nodes', { kind: 'grpc' })).toBe(0);
    // Counters keep their totals after the streams are gone.
    expect(value(t, 'tether_xds_acks_total', { kind: 'envoy', type: 'cluster' })).toBe(2);
    expect(metrics.trackedStreams).toBe(0);
  });

  it('hands convergence observations to the histogram a moment after a burst, without a scrape', async () => {
    const { l, open, advance, metrics } = setup();
    const streams = Array.from({ length: 2500 }, (_, i) => `e${i}`);
    for (const s of streams) open(s, 'envoy');
    metrics.configPublished('9');
    advance(10);
    for (const s of streams) l.configApplied(s, '9');
    // prom-client's own series, read without collect() (a scrape hands everything over at once).
    const histogram = metrics.registry.getSingleMetric('tether_xds_convergence_seconds') as unknown as {
      hashMap: Record<string, { count: number }>;
    };
    const observed = () => Object.values(histogram.hashMap).reduce((n, v) => n + v.count, 0);
    // Kept off the ACK path at first; handed over in chunks after the burst (more than one chunk here).
    expect(observed()).toBe(0);
    await expect.poll(observed, { timeout: 10_000, interval: 20 }).toBe(streams.length);
  });

  it('times convergence from publish to configApplied, per kind, only for streams open at the publish', async () => {
    const { l, open, text, advance, metrics } = setup();
    open('e1', 'envoy');
    open('g1', 'grpc');
    advance(5);
    metrics.configPublished('7');
    advance(30);
    l.configApplied('e1', '7'); // 30 ms
    advance(1970);
    l.configApplied('g1', '7'); // 2 s
    open('late', 'envoy');
    advance(1);
    l.configApplied('late', '7'); // opened after the publish: not a convergence
    l.configApplied('e1', 'never-published');

    const t = await text();
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'envoy' })).toBe(1);
    expect(value(t, 'tether_xds_convergence_seconds_sum', { kind: 'envoy' })).toBeCloseTo(0.03, 9);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'envoy', le: '0.025' })).toBe(0);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'envoy', le: '0.05' })).toBe(1);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'envoy', le: '0.001' })).toBe(0);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'envoy', le: '10' })).toBe(1);
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'grpc' })).toBe(1);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'grpc', le: '1' })).toBe(0);
    expect(value(t, 'tether_xds_convergence_seconds_bucket', { kind: 'grpc', le: '2.5' })).toBe(1);
  });

  it('times a kind-specific publish for that kind only, and forgets all but the last few versions', async () => {
    const { l, open, text, advance, metrics } = setup({ publishedVersionsKept: 2 });
    open('e1', 'envoy');
    open('g1', 'grpc');
    advance(1);
    metrics.configPublished('1');
    metrics.configPublished('2');
    metrics.configPublished('3'); // '1' is forgotten
    metrics.configPublished('9', 'envoy');
    advance(4);
    l.configApplied('e1', '1');
    l.configApplied('g1', '9'); // published for envoy only
    let t = await text();
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'envoy' })).toBe(0);
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'grpc' })).toBe(0);
    l.configApplied('e1', '9');
    t = await text();
    expect(value(t, 'tether_xds_convergence_seconds_count', { kind: 'envoy' })).toBe(1);
    expect(value(t, 'tether_xds_convergence_seconds_sum', { kind: 'envoy' })).toBeCloseTo(0.004, 9);
  });

  it('records config size per kind and type from a snapshot', async () => {
    const { metrics, text } = setup();
    const snapshot = buildSnapshot(mesh({ services: { a: 'c1', b: 'c2' }, clusters: { c1: [9001, 9002], c2: [9003] } }), 'grpc', '1');
    metrics.snapshotPublished(snapshot);
    const t = await text();
    for (const [typeUrl, type] of [
      [LISTENER_TYPE, 'listener'],
      [ROUTE_TYPE, 'route'],
      [CLUSTER_TYPE, 'cluster'],
      [ENDPOINT_TYPE, 'endpoint'],
    ] as const) {
      const list = snapshot.sets[typeUrl].list;
      expect(value(t, 'tether_config_resources', { kind: 'grpc', type })).toBe(list.length);
      expect(value(t, 'tether_config_encoded_bytes', { kind: 'grpc', type })).toBe(list.reduce((s, r) => s + r.anyBytes.length, 0));
    }
    expect(value(t, 'tether_config_resources', { kind: 'grpc', type: 'cluster' })).toBe(2);
    expect(value(t, 'tether_config_encoded_bytes', { kind: 'grpc', type: 'endpoint' })).toBeGreaterThan(0);
    expect(samples(t, 'tether_config_resources', { kind: 'envoy' })).toEqual([]);
  });

  it('includes process metrics by default, on its own registry', async () => {
    const a = createTetherMetrics();
    const b = createTetherMetrics();
    const t = await a.registry.metrics();
    expect(t).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(t).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    a.listener.streamOpened({ streamId: 's', nodeId: 'n', cluster: 'c', kind: 'envoy', userAgent: '', connectedAt: new Date() });
    expect(value(await a.registry.metrics(), 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(1);
    expect(value(await b.registry.metrics(), 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(0);
  });
});

describe('combineListeners', () => {
  const recorder = (log: string[], name: string, fail = false): NodeStatusListener => {
    const rec = (what: string) => () => {
      log.push(`${name}:${what}`);
      if (fail) throw new Error(`${name} failed`);
    };
    return {
      streamOpened: rec('opened'),
      responseSent: rec('sent'),
      acked: rec('acked'),
      nacked: rec('nacked'),
      configApplied: rec('applied'),
      configBlocked: rec('blocked'),
      streamClosed: rec('closed'),
    };
  };

  it('tells every listener in order; one that throws does not stop the others, and its error surfaces', () => {
    const log: string[] = [];
    const both = combineListeners(recorder(log, 'a', true), recorder(log, 'b'));
    expect(() => both.acked('s', CLUSTER_TYPE, 'v')).toThrow('a failed');
    expect(log).toEqual(['a:acked', 'b:acked']);
    const ok = combineListeners(recorder(log, 'c'), recorder(log, 'd'));
    ok.streamClosed('s');
    ok.configApplied('s', '1');
    expect(log.slice(2)).toEqual(['c:closed', 'd:closed', 'c:applied', 'd:applied']);
  });

  it('feeds the metrics listener alongside another', async () => {
    const metrics = createTetherMetrics({ processMetrics: false });
    const log: string[] = [];
    const both = combineListeners(recorder(log, 'r'), metrics.listener);
    both.streamOpened({ streamId: 's', nodeId: 'n', cluster: 'c', kind: 'grpc', userAgent: '', connectedAt: new Date() });
    both.responseSent('s', ROUTE_TYPE, 'v', 'n');
    const t = await metrics.registry.metrics();
    expect(value(t, 'tether_xds_pushes_total', { kind: 'grpc', type: 'route' })).toBe(1);
    expect(log).toEqual(['r:opened', 'r:sent']);
  });
});
