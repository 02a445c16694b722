/**
 * Clients of the (unauthenticated) xDS port that send what no real client sends: millions of
 * resource names, megabyte type URLs, floods of subscription changes, megabyte NACKs. Each
 * must cost Tether bounded memory, event-loop time and log, while another client keeps
 * receiving every edit in bounded time (as the slow-client test in flow-control.test.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { lookupEnvoyType } from '../../src/envoy/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/envoy/resource-types';
import pino from 'pino';
import { buildSnapshot } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { DeltaStream } from '../../src/xds/delta-stream';
import {
  encodeDeltaDiscoveryRequest,
  encodeDiscoveryRequest,
  type DeltaDiscoveryRequestIn,
  type DeltaDiscoveryResponseOut,
} from '../../src/xds/discovery-codec';
import { XDS_LIMITS } from '../../src/xds/limits';
import type { AdsClient } from '../support/ads-client';
import { mesh } from './fixtures/resources';
import { eventually, startAds, type AdsHarness } from './harness';

let h: AdsHarness;
afterEach(async () => {
  await h?.close();
});

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

/** Version `v` of a small mesh: one cluster per version, so every edit changes CDS. */
const meshV = (v: number) => mesh({ services: { a: `c${v}` }, clusters: { [`c${v}`]: [9000] } });

/**
 * `head` (an encoded request) followed by `count` name fields `prefix0`, `prefix1`…: a
 * protobuf message may be sent as concatenated parts, and building millions of names this
 * way takes the test milliseconds instead of the seconds protobufjs needs.
 */
function withNames(head: Buffer, message: string, field: string, prefix: string, count: number): Buffer {
  const id = lookupEnvoyType(message).fields[field]!.id;
  const out = Buffer.allocUnsafe(head.length + count * (2 + prefix.length + 8));
  let pos = head.copy(out);
  for (let i = 0; i < count; i++) {
    const name = prefix + i.toString(36);
    out[pos++] = (id << 3) | 2;
    out[pos++] = name.length;
    pos += out.write(name, pos, 'latin1');
  }
  return out.subarray(0, pos);
}

const sotwNames = (prefix: string, count: number, node?: { id: string }) =>
  withNames(encodeDiscoveryRequest({ node: node ?? null, type_url: ENDPOINT_TYPE }), 'envoy.service.discovery.v3.DiscoveryRequest', 'resource_names', prefix, count);

/**
 * Publishes `count` edits while `healthy` (subscribed to CDS, up to date) answers each; every
 * edit must reach it within `withinMs`. Returns the latencies.
 */
async function pushEdits(healthy: AdsClient, from: number, count: number, withinMs: number, gapMs = 50): Promise<number[]> {
  const latencies: number[] = [];
  for (let v = from; v < from + count; v++) {
    const started = Date.now();
    h.publish('envoy', meshV(v), String(v));
    healthy.ack(await healthy.nextOf(CLUSTER_TYPE, withinMs));
    latencies.push(Date.now() - started);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return latencies;
}

async function healthyClient(): Promise<AdsClient> {
  h.publish('envoy', meshV(0), '0');
  const healthy = h.client({ id: 'healthy' });
  healthy.send(CLUSTER_TYPE, []);
  healthy.ack(await healthy.nextOf(CLUSTER_TYPE));
  return healthy;
}

/** The event loop from now on: its longest delay, and the share of time it was busy. */
function loopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const elu = performance.eventLoopUtilization();
  return {
    stopMaxMs(): number {
      histogram.disable();
      return histogram.max / 1e6;
    },
    utilization: () => performance.eventLoopUtilization(elu).utilization,
  };
}

const logBytes = () => h.logs.reduce((n, l) => n + JSON.stringify(l).length, 0);

describe('hostile xDS clients', () => {
  it('2.2 M resource names in one request: refused at once naming the field, no stall, flat memory; another client keeps converging', async () => {
    h = await startAds();
    const healthy = await healthyClient();
    const lists = [sotwNames('a', 2_200_000, { id: 'hostile' }), sotwNames('b', 2_200_000, { id: 'hostile' })];
    expect(lists[0]!.length).toBeLessThan(XDS_LIMITS.maxRequestBytes);
    const heapBefore = heapMb();
    const loop = loopDelay();
    const statuses: grpc.StatusObject[] = [];
    const hostile = (async () => {
      // Refused, it reconnects and tries again, alternating the lists.
      for (let i = 0; i < 6; i++) {
        const client = h.client({ id: 'hostile' });
        await client.sendRaw(lists[i % 2]!);
        statuses.push(await client.status);
        client.close();
      }
    })();
    const latencies = await pushEdits(healthy, 1, 10, 2000);
    await hostile;
    const maxDelay = loop.stopMaxMs();
    const growth = heapMb() - heapBefore;
    console.log(`2.2M names: edit latencies ${latencies.join(',')} ms; loop delay max ${maxDelay.toFixed(0)} ms; heap +${growth.toFixed(1)} MB`);

    expect(statuses.map((s) => [grpc.status[s.code], s.details])).toEqual(Array(6).fill(['INVALID_ARGUMENT', 'resource_names: more than 50000 names']));
    expect(maxDelay).toBeLessThan(1000);
    expect(growth).toBeLessThan(100);
    // One line per client and interval, however often it tries.
    expect(h.logs.filter((l) => l.msg === 'xDS request refused')).toHaveLength(1);
    expect(h.logs.find((l) => l.msg === 'xDS request refused')).toMatchObject({ reason: 'resource_names: more than 50000 names' });
  });

  /**
   * Runs `flood` until `edits` edits (`gapMs` apart) have reached `healthy`, then closes
   * `hostile` (which ends any write the flood waits for); returns what the event loop, the
   * heap and the healthy client went through.
   */
  async function duringFlood(healthy: AdsClient, hostile: { close(): void }, flood: (stopped: () => boolean) => Promise<void>, edits = 10, gapMs = 50) {
    const heapBefore = heapMb();
    const loop = loopDelay();
    let stop = false;
    const running = flood(() => stop);
    const latencies = await pushEdits(healthy, 1, edits, 2000, gapMs);
    stop = true;
    const busy = loop.utilization();
    const maxDelayMs = loop.stopMaxMs();
    hostile.close();
    await running;
    return { latencies, busy, maxDelayMs, heapGrowthMb: heapMb() - heapBefore };
  }

  it('alternating lists of 50,000 names (the cap): the loop stays responsive, memory bounded, another client keeps converging', async () => {
    h = await startAds();
    const healthy = await healthyClient();
    const n = XDS_LIMITS.maxResourceNames;
    const lists = [sotwNames('a', n, { id: 'sotw-hostile' }), sotwNames('b', n)];
    const hostile = h.client({ id: 'sotw-hostile' });
    let sent = 0;
    const r = await duringFlood(healthy, hostile, async (stopped) => {
      for (; !stopped(); sent++) await hostile.sendRaw(lists[sent % 2]!);
    });
    console.log(`50,000-name lists: ${sent} written; edit latencies ${r.latencies.join(',')} ms; loop delay max ${r.maxDelayMs.toFixed(0)} ms; heap +${r.heapGrowthMb.toFixed(1)} MB`);
    expect(sent).toBeGreaterThan(1);
    expect(r.maxDelayMs).toBeLessThan(1000);
    expect(r.heapGrowthMb).toBeLessThan(100);
    // Every list changes the subscription and causes a push; their lines are limited per stream, type and second.
    expect(h.logs.filter((l) => l.msg === 'xDS push' && l.node === 'sotw-hostile').length).toBeLessThanOrEqual(Math.ceil(r.latencies.reduce((x, y) => x + y + 50, 0) / 1000) + 2);
  });

  it('a flood of tiny delta requests, each re-sorting a 50,000-name subscription, is paced to a share of the loop; another client keeps converging', async () => {
    h = await startAds();
    const healthy = await healthyClient();
    const subscribe = withNames(
      encodeDeltaDiscoveryRequest({ node: { id: 'delta-hostile' }, type_url: ENDPOINT_TYPE }),
      'envoy.service.discovery.v3.DeltaDiscoveryRequest',
      'resource_names_subscribe',
      'd',
      XDS_LIMITS.maxResourceNames - 1,
    );
    const churn = [
      encodeDeltaDiscoveryRequest({ type_url: ENDPOINT_TYPE, resource_names_subscribe: ['extra'] }),
      encodeDeltaDiscoveryRequest({ type_url: ENDPOINT_TYPE, resource_names_unsubscribe: ['extra'] }),
    ];
    const hostile = h.deltaClient({ id: 'delta-hostile' });
    await hostile.sendRaw(subscribe);
    await hostile.nextOf(ENDPOINT_TYPE, 10_000); // the 50,000 names told absent: the subscription is in place
    const r = await duringFlood(
      healthy,
      hostile,
      async (stopped) => {
        // Pipelined, 500 at a time, as a client that does not wait for anything would.
        while (!stopped()) await Promise.all(Array.from({ length: 500 }, (_, k) => hostile.sendRaw(churn[k % 2]!)));
      },
      20,
      150,
    );
    console.log(`delta churn: edit latencies ${r.latencies.join(',')} ms; loop delay max ${r.maxDelayMs.toFixed(0)} ms, busy ${(r.busy * 100).toFixed(0)} %; heap +${r.heapGrowthMb.toFixed(1)} MB`);
    expect(r.maxDelayMs).toBeLessThan(1000);
    // After its burst the stream gets XDS_LIMITS.pacedMsPerSecond (10 %) of the loop; unpaced, it takes all of it.
    expect(r.busy).toBeLessThan(0.6);
    expect(r.heapGrowthMb).toBeLessThan(50);
  });

  it('a delta client dropping names it never had, while a response is pending, leaves nothing behind', () => {
    // Driven directly (no gRPC): nothing is answered while the response is pending, so only
    // the stream's state shows whether the names were kept.
    const cache = new SnapshotCache();
    cache.set('envoy', buildSnapshot(meshV(0), 'envoy', '0'));
    const sent: DeltaDiscoveryResponseOut[] = [];
    const stream = new DeltaStream({ streamId: 'dropper', cache, logger: pino({ level: 'silent' }), send: (r) => sent.push(r), fail: () => {} });
    const request = (extra: Partial<DeltaDiscoveryRequestIn>): DeltaDiscoveryRequestIn => ({
      node: null,
      type_url: CLUSTER_TYPE,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
      ...extra,
    });
    stream.handleRequest(request({ node: { id: 'dropper', cluster: '', user_agent_name: 'envoy', user_agent_version: '', user_agent_build_version: null, metadata: null } }));
    expect(sent).toHaveLength(1); // not ACKed: pending
    const heapBefore = heapMb();
    for (let i = 0; i < 20; i++) {
      stream.handleRequest(request({ resource_names_unsubscribe: Array.from({ length: XDS_LIMITS.maxResourceNames }, (_, k) => `u${i}-${k}`) }));
    }
    const growth = heapMb() - heapBefore;
    console.log(`1 M unsubscribed names: heap +${growth.toFixed(1)} MB`);
    expect(growth).toBeLessThan(10);
    stream.handleRequest(request({ response_nonce: sent[0]!.nonce }));
    stream.close();
  });

  it('NACKs with a 1.5 MB error_detail, repeated: kept and logged cut, the repeats not logged', async () => {
    h = await startAds();
    h.publish('envoy', meshV(0), '0');
    const node = h.client({ id: 'nacker' });
    node.send(CLUSTER_TYPE, []);
    const push = await node.nextOf(CLUSTER_TYPE);
    const huge = `bad cluster: ${'x'.repeat(1.5 * 2 ** 20)}`;
    for (let i = 0; i < 30; i++) node.nack(push, huge);
    await eventually(() => h.registry.list()[0]?.types[CLUSTER_TYPE]?.lastNack !== undefined, 5000, 'the NACK recorded');
    // The stream has handled every repeat once the next version reaches the node.
    h.publish('envoy', meshV(1), '1');
    await node.nextOf(CLUSTER_TYPE, 5000);

    const kept = h.registry.list()[0]!.types[CLUSTER_TYPE]!.lastNack!.message;
    expect(kept).toBe(`${huge.slice(0, XDS_LIMITS.maxErrorDetailChars)}… (${Buffer.byteLength(huge)} bytes in all)`);
    const warnings = h.logs.filter((l) => l.msg === 'xDS NACK');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.error).toBe(`${huge.slice(0, XDS_LIMITS.maxLoggedErrorDetailChars)}… (${Buffer.byteLength(huge)} bytes in all)`);
    expect(logBytes()).toBeLessThan(20_000);
  });

  it('type URLs: 5 MiB ones are refused (one log line for all), unknown ones are ignored without state and logged once per node', async () => {
    h = await startAds();
    h.publish('envoy', meshV(0), '0');
    const statuses: grpc.StatusObject[] = [];
    for (let i = 0; i < 20; i++) {
      const client = h.client({ id: 'typer' });
      await client.sendRaw(encodeDiscoveryRequest({ node: { id: 'typer' }, type_url: `${'x'.repeat(5 * 2 ** 20)}${i}` }));
      statuses.push(await client.status);
      client.close();
    }
    expect(new Set(statuses.map((s) => `${grpc.status[s.code]} ${s.details}`))).toEqual(
      new Set([`INVALID_ARGUMENT type_url: ${5 * 2 ** 20 + 1} bytes, more than the ${XDS_LIMITS.maxTypeUrlBytes} allowed`, `INVALID_ARGUMENT type_url: ${5 * 2 ** 20 + 2} bytes, more than the ${XDS_LIMITS.maxTypeUrlBytes} allowed`]),
    );

    const curious = h.client({ id: 'curious' });
    for (let i = 0; i < 500; i++) curious.send(`type.googleapis.com/unknown.${'t'.repeat(200)}.T${i}`, []);
    curious.send(CLUSTER_TYPE, []);
    expect((await curious.nextOf(CLUSTER_TYPE)).resources).toHaveLength(1);
    const ignored = h.logs.filter((l) => l.msg === 'ignoring requests for a resource type Tether does not serve');
    expect(ignored).toHaveLength(1);
    expect(h.logs.filter((l) => l.msg === 'xDS request refused')).toHaveLength(1);
    expect(logBytes()).toBeLessThan(20_000);
  });

  it('node fields: an id over the cap is refused; cluster and user agent are kept cut', async () => {
    h = await startAds();
    h.publish('envoy', meshV(0), '0');
    const long = h.client({ id: 'i'.repeat(XDS_LIMITS.maxNodeIdChars + 1) });
    long.send(CLUSTER_TYPE, []);
    const status = await long.status;
    expect([grpc.status[status.code], status.details]).toEqual(['INVALID_ARGUMENT', `node.id: ${XDS_LIMITS.maxNodeIdChars + 1} characters, more than the ${XDS_LIMITS.maxNodeIdChars} allowed`]);

    const chatty = h.client({ id: 'chatty', cluster: 'c'.repeat(100_000), user_agent_name: 'envoy', user_agent_version: 'v'.repeat(100_000) });
    chatty.send(CLUSTER_TYPE, []);
    await chatty.nextOf(CLUSTER_TYPE);
    const node = h.registry.list().find((s) => s.nodeId === 'chatty')!;
    expect(node.cluster).toBe(`${'c'.repeat(XDS_LIMITS.maxNodeFieldChars)}… (100000 characters in all)`);
    expect(node.userAgent).toBe(`envoy/${'v'.repeat(XDS_LIMITS.maxNodeFieldChars)}… (100000 characters in all)`);
    expect(logBytes()).toBeLessThan(20_000);
  });
});
