/**
 * Issue 13 at 10,000 services (bench/xds/config-gen.ts's config): how long each call holds
 * Tether's event loop at a time (hold: the most CPU one loop iteration took, from the thread's
 * schedstat, test/support/loop-stalls.ts) and the wall-clock figures beside it (lag:
 * monitorEventLoopDelay's max, what nodejs_eventloop_lag_max_seconds exports).
 *
 * Tether (admin server over the real stack: file store, config manager, publisher, snapshot
 * cache) runs in this process; the admin client runs in a child process, so that building,
 * encoding and decoding the 10,000-service messages on the client side is not counted.
 *
 *   npm run build && node dist/bench/loop-stalls-10k.js [--services 10000] [--json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { silentLogger } from '../src/log';
import { createExplainSource } from '../src/admin/explain-source';
import { objectToStruct } from '../src/admin/convert';
import { createAdminClient } from '../src/admin/admin-proto';
import { rings } from '../src/console/views';
import { SnapshotCache } from '../src/cache/snapshot-cache';
import { createPublisher, type ServedConfig } from '../src/control/publisher';
import { validateConfig } from '../src/config';
import { computePool } from '../src/compute';
import { AdminHarness, bearer } from '../test/admin/harness';
import { watchLoop, type LoopStalls } from '../test/support/loop-stalls';
import { backendName, configDocument } from './xds/config-gen';

interface Figure {
  call: string;
  holdMs: number;
  lagMs: number;
  wallMs: number;
  threadCpuMs: number;
  note?: string;
}

async function measure<T>(call: string, fn: () => Promise<T>, note?: (result: T) => string): Promise<Figure> {
  const watch = watchLoop();
  const start = watch.now();
  let stalls: LoopStalls;
  let result: T;
  try {
    result = await fn();
  } finally {
    stalls = watch.stop();
  }
  const end = watch.now();
  const figure: Figure = {
    call,
    holdMs: Math.round(stalls.maxHoldMs),
    lagMs: Math.round(stalls.delayMaxMs),
    wallMs: Math.round(end.wallMs - start.wallMs),
    threadCpuMs: Math.round(end.cpuMs - start.cpuMs),
    ...(note ? { note: note(result) } : {}),
  };
  console.log(`${call}: hold ${figure.holdMs} ms, lag ${figure.lagMs} ms, wall ${figure.wallMs} ms, loop thread CPU ${figure.threadCpuMs} ms${figure.note ? ` (${figure.note})` : ''}`);
  return figure;
}

/**
 * The config with every entry new (other ports) and three mistakes, at both ends of the lists:
 * rejected after every entry is checked, each mistake named.
 */
function withMistakes(services: number): Record<string, unknown> {
  const doc = JSON.parse(JSON.stringify(configDocument(services)).replaceAll(':8080', ':8082')) as {
    services: Array<{ routes: Array<{ backends: Array<Record<string, unknown>> }> }>;
    backends: Array<Record<string, unknown>>;
  };
  doc.services[3]!.routes[0]!.backends[0]!.weight = -1;
  doc.backends[10]!.bogus = true;
  doc.services[services - 1]!.routes[1]!.backends[0]!.name = 'svc-nope';
  return doc;
}

/** The client side, in a child process: one unary call per message from the parent. */
function clientMain(address: string, services: number): void {
  const client = createAdminClient(address, undefined, { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  const call = (method: string, req: object) =>
    new Promise<unknown>((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
      fn.call(client, req, bearer(), { deadline: Date.now() + 600_000 }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)));
    });
  const applyRequest = { config: objectToStruct(configDocument(services)) };
  const invalidRequest = { config: objectToStruct(withMistakes(services)) };
  process.on('message', (msg: { id: number; method: string; req: object | 'apply' | 'apply-invalid' }) => {
    const req = msg.req === 'apply' ? applyRequest : msg.req === 'apply-invalid' ? invalidRequest : msg.req;
    call(msg.method, req).then(
      (res) => {
        const r = res as { version?: unknown; changed?: boolean; yaml?: string };
        process.send!({ id: msg.id, ok: true, summary: `version ${String(r.version)}${r.changed !== undefined ? `, changed ${r.changed}` : ''}${r.yaml !== undefined ? `, yaml ${r.yaml.length} chars` : ''}` });
      },
      (err: Error) => process.send!({ id: msg.id, ok: false, summary: err.message }),
    );
  });
  process.send!({ id: 0, ok: true, summary: 'ready' });
}

class RemoteClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (m: { ok: boolean; summary: string }) => void>();
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; ok: boolean; summary: string }) => this.waiting.get(m.id)?.(m));
  }
  static async start(address: string, services: number): Promise<RemoteClient> {
    const child = fork(__filename, ['--client', address, String(services)], { stdio: 'inherit' });
    const remote = new RemoteClient(child);
    await new Promise<void>((resolve, reject) => {
      remote.waiting.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`client exited (${code})`)));
    });
    return remote;
  }
  call(method: string, req: object | 'apply' | 'apply-invalid'): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (m) => {
        this.waiting.delete(id);
        if (m.ok) resolve(m.summary);
        else reject(new Error(`${method}: ${m.summary}`));
      });
      this.child.send({ id, method, req });
    });
  }
  close(): void {
    this.child.kill();
  }
}

/** Every backend's endpoints behind one DNS name each; the lookup answers from `generation`. */
async function dnsRefresh(services: number): Promise<Figure> {
  let generation = 1;
  const served: ServedConfig[] = [];
  const publisher = createPublisher({
    cache: new SnapshotCache(),
    logger: silentLogger(),
    resolveIntervalMs: 1000,
    lookup: async (host) => {
      const i = Number(/^b(\d+)\./.exec(host)?.[1] ?? 0);
      return [`10.${(i >> 8) & 255}.${i & 255}.${generation}`];
    },
    onServed: (s) => void served.push(s),
  });
  try {
    const doc = configDocument(services) as { backends: Array<{ endpoints: string[] }> };
    doc.backends.forEach((b, i) => (b.endpoints = [`b${i}.internal:8080`]));
    const checked = validateConfig(doc);
    if (!checked.ok) throw new Error(`config: ${JSON.stringify(checked.errors.slice(0, 3))}`);
    (await publisher.prepare(checked.config, 1)).publish();
    const seen = () => served.at(-1)?.endpoints.get(backendName(0))?.[0]?.ip;
    return await measure(`DNS refresh, every one of ${services} names re-resolved to a new address`, async () => {
      generation = 2;
      const deadline = Date.now() + 300_000;
      while (seen() !== '10.0.0.2') {
        if (Date.now() > deadline) throw new Error('the re-resolved addresses were not served within 300 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
  } finally {
    publisher.close();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--services');
  const services = at >= 0 ? Number(args[at + 1]) : 10_000;
  const figures: Figure[] = [];
  console.log(`loop stalls at ${services} services; node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const h = await AdminHarness.start({ config: configDocument(1), maxReceiveMessageBytes: 512 * 1024 * 1024 });
  const client = await RemoteClient.start(h.address, services);
  try {
    figures.push(await measure(`ApplyConfig, ${services} services (Struct)`, () => client.call('ApplyConfig', 'apply'), (s) => s));
    figures.push(
      await measure(
        `ApplyConfig, ${services} new services with 3 mistakes (Struct)`,
        () => client.call('ApplyConfig', 'apply-invalid').then((s) => `accepted?! ${s}`, (err: Error) => err.message.split('\n')[0]!.slice(0, 120)),
        (s) => s,
      ),
    );
    figures.push(await measure(`GetConfig, ${services} services (Struct + YAML)`, () => client.call('GetConfig', {}), (s) => s));
    figures.push(await measure(`GetConfig again (same version)`, () => client.call('GetConfig', {}), (s) => s));
    figures.push(await measure('GetStatus', () => client.call('GetStatus', {}), (s) => s));
    figures.push(await measure(`AddEndpoint on ${backendName(5)}`, () => client.call('AddEndpoint', { backend: backendName(5), address: '10.200.0.1:8080' }), (s) => s));
    const source = createExplainSource({ manager: h.manager, logger: silentLogger(), served: () => h.publisher.served() });
    figures.push(await measure(`console ring view (envoy), ${services} services`, () => rings(source, 'envoy'), (v) => `${v.rings.length} rings, ${v.more} more`));
  } finally {
    client.close();
    await h.close();
  }
  figures.push(await dnsRefresh(services));
  await computePool().close();
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (args.includes('--json')) console.log(JSON.stringify(figures));
  // Whatever a measured call left scheduled (DNS re-resolution timers, gRPC channels) must not keep the bench alive.
  process.exit(0);
}

if (process.argv[2] === '--client') clientMain(process.argv[3]!, Number(process.argv[4]));
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
