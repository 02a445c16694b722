/**
 * ext_proc session-key server benchmark: N concurrent "Envoy" streams on loopback, one stream
 * per HTTP request as Envoy does (open, request_headers [+ one small JSON body chunk], read the
 * decision, half-close), for three policies: header, JWT (HS256 verified) and JSON body.
 *
 *   npm run build && node dist/bench/extproc/bench.js [--seconds 4] [--concurrency 1,16,64] [--client h2|grpc]
 *
 * The server runs in a child process so the load generator does not share its event loop.
 * The default load generator speaks gRPC over bare node:http2 (pre-framed messages), which
 * like Envoy's C++ client costs far less CPU than grpc-js, so on a 2-core machine it steals
 * less from the server; `--client grpc` uses a grpc-js client instead.
 * Latency is per request, from writing request_headers to reading the final decision (the time
 * Envoy holds the request): for the body policy that includes the second round trip.
 * A second table is the server's own CPU per decision (decode → decide → encode, in process,
 * no gRPC), which machine noise disturbs far less than loopback latency.
 * Not part of the test suite.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { decodeProcessingRequest, decodeProcessingResponse, encodeProcessingRequest, encodeProcessingResponse, EXT_PROC_METHOD_PATH } from '../../src/extproc/codec';
import { compilePolicy, startExtProcServer, type SessionKeyPolicy } from '../../src/extproc';
import { emptyStats, ExtProcStream } from '../../src/extproc/processor';

const SECRET = 'bench-shared-secret-0123456789';
const USERS = 1000;

const POLICIES: Record<string, SessionKeyPolicy> = {
  header: { sources: [{ header: 'x-user' }] },
  jwt: { sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecret: SECRET } } }] },
  json: { sources: [{ header: 'x-user' }, { jsonBody: { path: 'user' } }] },
};

// --- server (child process) ---

async function serve(): Promise<void> {
  const ext = await startExtProcServer({
    services: new Map(Object.entries(POLICIES)),
    logger: pino({ level: 'warn' }, pino.destination(2)),
    host: '127.0.0.1',
    port: 0,
  });
  process.send!({ port: ext.port });
  process.on('message', (m) => {
    if (m === 'stats') process.send!({ stats: ext.service.stats() });
    if (m === 'stop') void ext.close(1000).then(() => process.exit(0));
  });
}

// --- load generator ---

interface Scenario {
  policy: keyof typeof POLICIES;
  /** Pre-encoded messages per user: headers, then an optional body. */
  messages: Buffer[][];
}

function headerMessage(headers: Record<string, string>, endOfStream: boolean): Buffer {
  const all = { ':method': endOfStream ? 'GET' : 'POST', ':scheme': 'http', ':path': '/v1/chat/completions', ':authority': 'llm.example.com', 'user-agent': 'bench/1.0', accept: '*/*', ...headers };
  return encodeProcessingRequest({
    request_headers: { headers: { headers: Object.entries(all).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: endOfStream },
  });
}

function jwt(sub: string): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, iat: 1700000000, exp: 4102444800, scope: 'chat' })}`;
  return `${input}.${crypto.createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

function scenario(policy: keyof typeof POLICIES): Scenario {
  const messages: Buffer[][] = [];
  for (let i = 0; i < USERS; i++) {
    const user = `user-${i}`;
    if (policy === 'header') messages.push([headerMessage({ 'x-user': user }, true)]);
    else if (policy === 'jwt') messages.push([headerMessage({ authorization: `Bearer ${jwt(user)}` }, true)]);
    else {
      const body = JSON.stringify({ model: 'llama-3-8b', user, messages: [{ role: 'user', content: 'Hello, how are you?' }], max_tokens: 64 });
      messages.push([
        headerMessage({ 'content-type': 'application/json', 'content-length': String(body.length) }, false),
        encodeProcessingRequest({ request_body: { body: Buffer.from(body), end_of_stream: true } }),
      ]);
    }
  }
  return { policy, messages };
}

const identity = (b: Buffer): Buffer => b;

/** One simulated HTTP request: resolves with its latency in microseconds. */
function oneRequest(client: grpc.Client, service: string, messages: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set('x-tether-service', service);
    const call = client.makeBidiStreamRequest(EXT_PROC_METHOD_PATH, identity, identity, md);
    let next = 0;
    let start = 0n;
    call.on('data', () => {
      if (next < messages.length) {
        call.write(messages[next++]);
        return;
      }
      const micros = Number(process.hrtime.bigint() - start) / 1000;
      call.end();
      resolve(micros);
    });
    call.on('error', reject);
    call.on('status', () => undefined);
    start = process.hrtime.bigint();
    call.write(messages[next++]);
  });
}

/** gRPC length-prefixed framing: flag 0 (uncompressed), 4-byte big-endian length, message. */
function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** The same request as oneRequest, over a bare HTTP/2 stream with pre-framed messages. */
function oneRequestH2(session: http2.ClientHttp2Session, service: string, framed: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      { ':method': 'POST', ':path': EXT_PROC_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers', 'x-tether-service': service },
      { endStream: false },
    );
    let next = 0;
    let pending: Buffer = Buffer.alloc(0);
    const start = process.hrtime.bigint();
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        pending = pending.subarray(5 + pending.readUInt32BE(1));
        if (next < framed.length) {
          stream.write(framed[next++]);
        } else {
          resolve(Number(process.hrtime.bigint() - start) / 1000);
          stream.end();
        }
      }
    });
    stream.on('error', reject);
    stream.on('close', () => reject(new Error('stream closed before the decision')));
    stream.write(framed[next++]);
  });
}

interface Result {
  policy: string;
  concurrency: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

type Requester = (service: string, messages: Buffer[], framed: Buffer[]) => Promise<number>;

async function run(request: Requester, sc: Scenario, concurrency: number, seconds: number): Promise<Result> {
  const framed = sc.messages.map((list) => list.map(frame));
  const latencies: number[] = [];
  let counter = 0;
  const measure = async (untilMs: number, record: boolean): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (Date.now() < untilMs) {
        const i = counter++ % USERS;
        const us = await request(sc.policy, sc.messages[i]!, framed[i]!);
        if (record) latencies.push(us);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await measure(Date.now() + 500, false); // warm-up: JIT, connection, buffers
  const started = process.hrtime.bigint();
  await measure(Date.now() + seconds * 1000, true);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    policy: sc.policy,
    concurrency,
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: latencies[latencies.length - 1]!,
  };
}

async function verifyOnce(client: grpc.Client): Promise<void> {
  // Sanity check that every scenario really yields a key (not a no-op benchmark).
  for (const policy of Object.keys(POLICIES) as (keyof typeof POLICIES)[]) {
    const messages = scenario(policy).messages[7]!;
    const md = new grpc.Metadata();
    md.set('x-tether-service', policy);
    const responses = await new Promise<Buffer[]>((resolve, reject) => {
      const got: Buffer[] = [];
      const call = client.makeBidiStreamRequest(EXT_PROC_METHOD_PATH, identity, identity, md);
      let next = 0;
      call.on('data', (b: Buffer) => {
        got.push(b);
        if (next < messages.length) call.write(messages[next++]);
        else {
          call.end();
          resolve(got);
        }
      });
      call.on('error', reject);
      call.write(messages[next++]);
    });
    const last = decodeProcessingResponse(responses[responses.length - 1]!) as { request_headers?: { response?: unknown }; request_body?: { response?: unknown } };
    const text = JSON.stringify(last.request_body ?? last.request_headers);
    if (!text.includes('x-tether-session')) throw new Error(`scenario ${policy} set no session header: ${text}`);
  }
}

/** Server-side work per decision without gRPC: decode, evaluate, encode, for every message. */
function cpuCost(sc: Scenario, iterations: number): { mean: number; p99: number } {
  const policy = compilePolicy(POLICIES[sc.policy]!);
  const logger = pino({ level: 'warn' });
  const deps = { resolve: () => ({ policy, service: sc.policy }), logger, stats: emptyStats(), now: Date.now };
  const times: number[] = [];
  for (let i = 0; i < iterations + 2000; i++) {
    const start = process.hrtime.bigint();
    const stream = new ExtProcStream(deps);
    for (const message of sc.messages[i % USERS]!) encodeProcessingResponse(stream.handle(decodeProcessingRequest(message))!);
    if (i >= 2000) times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { mean: times.reduce((a, b) => a + b, 0) / times.length, p99: times[Math.floor(0.99 * times.length)]! };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '4'));
  const concurrencies = arg('concurrency', '1,16,64').split(',').map(Number);
  const loadBefore = os.loadavg()[0]!;
  // --server-node-args "--max-semi-space-size=32": V8 flags for the server (GC tuning experiments).
  const nodeArgs = arg('server-node-args', '').split(/\s+/).filter(Boolean);
  const child: ChildProcess = fork(__filename, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...nodeArgs] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const kind = arg('client', 'h2');
  const session = kind === 'h2' ? http2.connect(`http://127.0.0.1:${port}`) : undefined;
  session?.setMaxListeners(0);
  const request: Requester = session
    ? (service, _messages, framed) => oneRequestH2(session, service, framed)
    : (service, messages) => oneRequest(client, service, messages);
  try {
    await verifyOnce(client);
    const results: Result[] = [];
    for (const policy of Object.keys(POLICIES) as (keyof typeof POLICIES)[]) {
      const sc = scenario(policy);
      for (const c of concurrencies) {
        const r = await run(request, sc, c, seconds);
        results.push(r);
        process.stderr.write(`${policy} c=${c}: ${Math.round(r.perSecond)}/s p50 ${r.p50.toFixed(0)}µs p99 ${r.p99.toFixed(0)}µs p999 ${r.p999.toFixed(0)}µs\n`);
      }
    }
    const stats = await new Promise<unknown>((resolve) => {
      child.once('message', (m) => resolve((m as { stats: unknown }).stats));
      child.send('stats');
    });
    const loadAfter = os.loadavg()[0]!;
    const cpu = (Object.keys(POLICIES) as (keyof typeof POLICIES)[]).map((policy) => ({ policy, ...cpuCost(scenario(policy), 20_000) }));
    const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
    console.log(
      `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}, ${kind} client, ${seconds} s per row, ` +
        `1-min load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after\n`,
    );
    console.log('| policy | concurrent streams | decisions/s | p50 | p99 | p99.9 | max |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      console.log(`| ${r.policy} | ${r.concurrency} | ${Math.round(r.perSecond)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${fmt(r.max)} |`);
    }
    console.log('\nServer CPU per decision (in process, no gRPC; 20 000 requests):\n');
    console.log('| policy | mean | p99 |');
    console.log('| --- | ---: | ---: |');
    for (const c of cpu) console.log(`| ${c.policy} | ${c.mean.toFixed(1)} µs | ${c.p99.toFixed(1)} µs |`);
    console.log(`\nserver counters: ${JSON.stringify(stats)}`);
  } finally {
    session?.close();
    client.close();
    child.send('stop');
  }
}

if (process.argv.includes('--server')) void serve();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
