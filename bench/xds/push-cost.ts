/**
 * The streams' own work for one edit, without gRPC: N SotW or delta streams (SotwStream,
 * DeltaStream over one StreamShares, the real NodeRegistry and xDS metrics as status listener)
 * synced to a generated config of S services, then one-route edits published through the real
 * publisher and SnapshotCache. Per edit it times the synchronous push (every stream evaluates
 * and hands its response to `send`) and the ACKs (every stream handles its client's ACK), in
 * µs per stream, wall and CPU: the median edit, and the first one: code paths the initial sync
 * did not take run cold. What grpc-js and HTTP/2 add per write is not in it (bench.ts
 * measures the whole path).
 *
 *   npm run build && node --expose-gc dist/bench/xds/push-cost.js [--clients 1000] [--services 10] [--modes sotw,delta] [--edits 20] [--profile envoy|grpc]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { validateConfig } from '../../src/config';
import { createPublisher } from '../../src/control/publisher';
import { combineListeners } from '../../src/metrics/combine-listeners';
import { createXdsMetrics } from '../../src/metrics/xds-listener';
import { DeltaStream } from '../../src/xds/delta-stream';
import { encodeControlPlane, type DeltaDiscoveryResponseOut, type DiscoveryResponseOut } from '../../src/xds/discovery-codec';
import { NodeRegistry } from '../../src/xds/node-status';
import { SotwStream } from '../../src/xds/sotw-stream';
import { StreamShares } from '../../src/xds/stream-shares';
import { configDocument, editedDocument, subscriptionOf, type Mode, type Profile } from './config-gen';
import { TYPE, type TypeName } from './wire';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};

const silent = pino({ level: 'silent' });

type Common = Omit<ConstructorParameters<typeof SotwStream>[0], 'streamId' | 'send'>;

type Sent = { type_url: string; nonce: string; version?: string };

/** A client of one stream: subscribes like loadgen.ts's clients and ACKs what it is sent (on demand). */
interface Client {
  inbox: Sent[];
  ackAll(): number;
}

function sotwClient(id: string, mode: Mode, profile: Profile, services: number, index: number, common: Common): Client {
  const sub = subscriptionOf(profile, services, 3, index);
  const inbox: Sent[] = [];
  const stream = new SotwStream({ ...common, streamId: id, send: (r: DiscoveryResponseOut) => inbox.push({ type_url: r.type_url, nonce: r.nonce, version: r.version_info }) });
  const names = (t: TypeName): string[] => (t === 'LDS' || t === 'CDS') && sub.wildcard[t] ? [] : sub[t];
  let first = true;
  const request = (t: TypeName, version = '', nonce = '') => {
    stream.handleRequest({ version_info: version, node: first ? node(id, profile) : null, resource_names: names(t), type_url: TYPE[t], response_nonce: nonce, error_detail: null });
    first = false;
  };
  const typeOf = new Map<string, TypeName>(Object.entries(TYPE).map(([k, v]) => [v, k as TypeName]));
  for (const t of profile === 'envoy' ? (['CDS', 'LDS', 'EDS', 'RDS'] as const) : (['LDS', 'RDS', 'CDS', 'EDS'] as const)) request(t);
  void mode;
  return {
    inbox,
    ackAll() {
      const batch = inbox.splice(0);
      for (const r of batch) request(typeOf.get(r.type_url)!, r.version, r.nonce);
      return batch.length;
    },
  };
}

function deltaClient(id: string, _mode: Mode, profile: Profile, services: number, index: number, common: Common): Client {
  const sub = subscriptionOf(profile, services, 3, index);
  const inbox: Sent[] = [];
  const stream = new DeltaStream({ ...common, streamId: id, send: (r: DeltaDiscoveryResponseOut) => inbox.push({ type_url: r.type_url, nonce: r.nonce }) });
  let first = true;
  const request = (typeUrl: string, subscribe: string[], nonce = '') => {
    stream.handleRequest({ node: first ? node(id, profile) : null, type_url: typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: nonce, error_detail: null });
    first = false;
  };
  for (const t of profile === 'envoy' ? (['CDS', 'LDS', 'EDS', 'RDS'] as const) : (['LDS', 'RDS', 'CDS', 'EDS'] as const)) {
    request(TYPE[t], (t === 'LDS' || t === 'CDS') && sub.wildcard[t] ? ['*'] : sub[t]);
  }
  return {
    inbox,
    ackAll() {
      const batch = inbox.splice(0);
      for (const r of batch) request(r.type_url, [], r.nonce);
      return batch.length;
    },
  };
}

function node(id: string, profile: Profile) {
  const metadata = { fields: { TETHER_NODE_KIND: { string_value: profile, kind: 'string_value' } } };
  return { id, cluster: 'bench', user_agent_name: profile === 'envoy' ? 'envoy' : 'gRPC Node Pure JS', user_agent_version: '', user_agent_build_version: null, metadata } as never;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const clients = Number(arg('clients', '1000'));
  const services = Number(arg('services', '10'));
  const edits = Number(arg('edits', '20'));
  const profile = arg('profile', 'envoy') as Profile;
  const modes = arg('modes', 'sotw,delta').split(',') as Mode[];
  const parse = (doc: Record<string, unknown>) => {
    // The document as an object (the YAML text round trip took most of a run at S = 10,000).
    const r = validateConfig(doc);
    if (!r.ok) throw new Error(`generated config invalid: ${JSON.stringify(r.errors.slice(0, 3))}`);
    return r.config;
  };
  for (const mode of modes) {
    const cache = new SnapshotCache();
    const publisher = createPublisher({ cache, logger: silent, resolveIntervalMs: 3_600_000 });
    (await publisher.prepare(parse(configDocument(services)), 1)).publish();
    const registry = new NodeRegistry();
    const metrics = createXdsMetrics({ registry: new Registry(), now: () => performance.now(), publishedVersionsKept: 16 });
    const shares = new StreamShares(encodeControlPlane('tether'));
    const common: Common = { cache, logger: silent, status: combineListeners(registry, metrics.listener), shares, controlPlane: shares.controlPlane, fail: () => {} };
    const all: Client[] = [];
    for (let i = 0; i < clients; i++) all.push((mode === 'sotw' ? sotwClient : deltaClient)(`c-${i}`, mode, profile, services, i, common));
    // Initial sync: ACK until nothing more is sent.
    while (all.reduce((n, c) => n + c.ackAll(), 0) > 0);
    const configs = Array.from({ length: edits }, (_, k) => parse(editedDocument(services, 1000 + k)));
    const push: { wall: number; cpu: number; gc: number }[] = [];
    const ack: { wall: number; cpu: number; gc: number }[] = [];
    const timed = (fn: () => void) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      return { wall: ((t1 - t0) * 1000) / clients, cpu: (c.user + c.system) / clients, t0, t1, gc: 0 };
    };
    // Garbage collection inside a timed stretch (entries arrive after it: counted per edit below).
    const gcs: { startTime: number; duration: number }[] = [];
    const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
    observer.observe({ entryTypes: ['gc'] });
    const gcIn = async (x: { t0: number; t1: number; gc: number }) => {
      await new Promise((resolve) => setImmediate(resolve));
      x.gc = (gcs.filter((g) => g.startTime >= x.t0 && g.startTime < x.t1).reduce((n, g) => n + g.duration, 0) * 1000) / clients;
    };
    for (let k = 0; k < edits; k++) {
      const prepared = await publisher.prepare(configs[k]!, 2 + k);
      (globalThis as { gc?: () => void }).gc?.();
      const pushed = timed(() => prepared.publish());
      push.push(pushed);
      const responses = all.reduce((n, c) => n + c.inbox.length, 0);
      if (responses < clients) throw new Error(`${mode}: edit ${k + 1} sent ${responses} responses to ${clients} streams`);
      const acked = timed(() => {
        while (all.reduce((n, c) => n + c.ackAll(), 0) > 0);
      });
      ack.push(acked);
      await gcIn(pushed);
      await gcIn(acked);
    }
    observer.disconnect();
    publisher.close();
    // The lowest CPU figure too: on a loaded machine it is the steadier one.
    const fmt = (xs: { wall: number; cpu: number; gc: number }[]) =>
      `${median(xs.map((x) => x.wall)).toFixed(2)} µs wall, ${median(xs.map((x) => x.cpu)).toFixed(2)} µs CPU (min ${Math.min(...xs.map((x) => x.cpu)).toFixed(2)}, GC ${median(xs.map((x) => x.gc)).toFixed(2)})`;
    console.log(`${mode} ${profile} N=${clients} S=${services}, median of ${edits} edits, per stream: push ${fmt(push)}; ACKs ${fmt(ack)}; first edit: push ${fmt(push.slice(0, 1))}, ACKs ${fmt(ack.slice(0, 1))}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
