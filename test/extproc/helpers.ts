/**
 * Plays Envoy's side of ext_proc: a grpc-js client built by @grpc/proto-loader from the real
 * external_processor.proto (independent of the server's hand-made codec), sending what Envoy's
 * ext_proc filter sends and waiting for each answer before the next message, as Envoy does.
 */
import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import pino from 'pino';
import { ENVOY_INCLUDE_DIRS } from '../../src/envoy/protos';
import type { ProcessingRequest } from '../../src/generated/envoy/service/ext_proc/v3/ProcessingRequest';
import type { ProcessingResponse__Output } from '../../src/generated/envoy/service/ext_proc/v3/ProcessingResponse';
import { startExtProcServer, type ExtProcServer, type ExtProcServerOptions } from '../../src/extproc';

export type { ProcessingResponse__Output };

type ProcessStream = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output>;
export interface ExternalProcessorClient extends grpc.Client {
  Process(metadata?: grpc.Metadata, options?: grpc.CallOptions): ProcessStream;
}

let clientCtor: (new (address: string, creds: grpc.ChannelCredentials) => ExternalProcessorClient) | undefined;

/** A client of envoy.service.ext_proc.v3.ExternalProcessor built from the real proto (Envoy's side). */
export function externalProcessorClient(address: string): ExternalProcessorClient {
  if (!clientCtor) {
    const definition = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
      keepCase: true,
      longs: String,
      enums: String,
      bytes: Buffer,
      defaults: false,
      oneofs: true,
      includeDirs: [...ENVOY_INCLUDE_DIRS],
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      envoy: { service: { ext_proc: { v3: { ExternalProcessor: typeof clientCtor } } } };
    };
    clientCtor = pkg.envoy.service.ext_proc.v3.ExternalProcessor;
  }
  return new clientCtor!(address, grpc.credentials.createInsecure());
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Harness {
  ext: ExtProcServer;
  client: ExternalProcessorClient;
  /** Every log line as written (raw JSON text), debug level and up. */
  rawLogs: string[];
  logs(): LogLine[];
  /** Opens an ext_proc stream as Envoy does for one HTTP request. */
  open(metadata?: Record<string, string>): EnvoyStream;
  close(): Promise<void>;
}

export async function startHarness(options: Omit<ExtProcServerOptions, 'logger' | 'host' | 'port'>): Promise<Harness> {
  const rawLogs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void rawLogs.push(line) });
  const ext = await startExtProcServer({ ...options, logger, host: '127.0.0.1', port: 0 });
  const client = externalProcessorClient(`127.0.0.1:${ext.port}`);
  return {
    ext,
    client,
    rawLogs,
    logs: () => rawLogs.map((l) => JSON.parse(l) as LogLine),
    open: (metadata = {}) => new EnvoyStream(client, metadata),
    close: async () => {
      client.close();
      await ext.close(1000);
    },
  };
}

export class EnvoyStream {
  private readonly call: ProcessStream;
  private readonly pending: ((r: ProcessingResponse__Output) => void)[] = [];
  private readonly received: ProcessingResponse__Output[] = [];
  readonly status: Promise<grpc.StatusObject>;

  constructor(client: ExternalProcessorClient, metadata: Record<string, string>) {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    this.call = client.Process(md);
    this.call.on('data', (r: ProcessingResponse__Output) => {
      const waiter = this.pending.shift();
      if (waiter) waiter(r);
      else this.received.push(r);
    });
    this.status = new Promise((resolve) => {
      this.call.on('status', resolve);
      this.call.on('error', () => undefined);
    });
  }

  /** Sends one message and resolves with the server's answer to it. */
  send(request: ProcessingRequest, timeoutMs = 2000): Promise<ProcessingResponse__Output> {
    this.call.write(request);
    return this.next(timeoutMs);
  }

  /** Sends a message that must not be answered (observability mode); resolves after `waitMs` if nothing came. */
  async sendExpectingNothing(request: ProcessingRequest, waitMs = 100): Promise<ProcessingResponse__Output | undefined> {
    this.call.write(request);
    try {
      return await this.next(waitMs);
    } catch {
      return undefined;
    }
  }

  next(timeoutMs = 2000): Promise<ProcessingResponse__Output> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.splice(this.pending.indexOf(waiter), 1);
        reject(new Error('no response from the ext_proc server'));
      }, timeoutMs);
      const waiter = (r: ProcessingResponse__Output): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.pending.push(waiter);
    });
  }

  /** Half-closes as Envoy does when the HTTP request is over; resolves with the final status. */
  async end(): Promise<grpc.StatusObject> {
    this.call.end();
    return this.status;
  }
}

/** What Envoy sends first: the request headers (raw_value, the default encoding). */
export function requestHeaders(
  headers: Record<string, string | string[]>,
  opts: { endOfStream?: boolean; encoding?: 'raw_value' | 'value'; attributes?: Record<string, string> } = {},
): ProcessingRequest {
  const all: Record<string, string | string[]> = { ':method': 'GET', ':scheme': 'http', ':path': '/', ':authority': 'shop.example.com', ...headers };
  const list: { key: string; raw_value?: Buffer; value?: string }[] = [];
  for (const [key, value] of Object.entries(all)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      list.push(opts.encoding === 'value' ? { key, value: v } : { key, raw_value: Buffer.from(v, 'utf8') });
    }
  }
  const request: ProcessingRequest = { request_headers: { headers: { headers: list }, end_of_stream: opts.endOfStream ?? true } };
  if (opts.attributes) {
    // google.protobuf.Value comes from protobufjs's bundled (camelCase) definitions.
    const fields: Record<string, { stringValue: string }> = {};
    for (const [k, v] of Object.entries(opts.attributes)) fields[k] = { stringValue: v };
    request.attributes = { 'envoy.filters.http.ext_proc': { fields } };
  }
  return request;
}

export function requestBody(body: string | Buffer, endOfStream = true): ProcessingRequest {
  return { request_body: { body: typeof body === 'string' ? Buffer.from(body) : body, end_of_stream: endOfStream } };
}

export function responseHeaders(headers: Record<string, string> = { ':status': '200' }): ProcessingRequest {
  return {
    response_headers: { headers: { headers: Object.entries(headers).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: false },
  };
}

/** Headers set by a headers/body response, as `name → value` (raw_value or value). */
export function setHeaders(response: ProcessingResponse__Output | undefined): Record<string, string> {
  const common = response?.request_headers?.response ?? response?.request_body?.response ?? response?.response_headers?.response;
  const out: Record<string, string> = {};
  for (const option of common?.header_mutation?.set_headers ?? []) {
    const h = option.header!;
    out[h.key] = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('utf8') : h.value;
  }
  return out;
}

export function commonOf(response: ProcessingResponse__Output | undefined) {
  return response?.request_headers?.response ?? response?.request_body?.response ?? response?.response_headers?.response ?? null;
}

/** The bucket the server must compute, recomputed here with BigInt from the spec. */
export function expectedBucket(value: string): number {
  const digest = crypto.createHash('sha256').update(value, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % 10000n);
}

// --- JWT helpers (test side: signing with node:crypto) ---

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signHs(payload: Record<string, unknown>, secret: string, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256', header: Record<string, unknown> = {}): string {
  const input = `${b64url({ alg, typ: 'JWT', ...header })}.${b64url(payload)}`;
  const sig = crypto.createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

export function signRs256(payload: Record<string, unknown>, privateKey: crypto.KeyObject, kid?: string): string {
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64url(payload)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

export function signEs256(payload: Record<string, unknown>, privateKey: crypto.KeyObject, kid?: string): string {
  const input = `${b64url({ alg: 'ES256', typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64url(payload)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

export function unsigned(payload: Record<string, unknown>): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
}
