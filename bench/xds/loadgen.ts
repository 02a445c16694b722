/**
 * Load generator child: N lightweight ADS clients over bare node:http2 (pre-framed requests,
 * responses read for their header fields only), SotW or delta, driven by the runner over IPC.
 *
 * Each client behaves like a real xDS client: its first request carries a node, it subscribes in
 * the order its kind does (Envoy: CDS and LDS wildcard, then EDS for the clusters once CDS
 * arrives and RDS for `http` once LDS arrives; proxyless gRPC: LDS for its services, then RDS,
 * CDS, EDS by name as each answer arrives), and it ACKs every response (SotW: version and nonce
 * echoed with its full subscription; delta: the nonce), never NACKs. Names come from
 * config-gen.ts rather than from decoding resources.
 *
 * The runner marks the start of an edit; from then on each client counts the responses and
 * bytes it receives and remembers when it wrote its last ACK (process.hrtime, CLOCK_MONOTONIC,
 * comparable with the runner's clock).
 */
import * as http2 from 'node:http2';
import { subscriptionOf, type Mode, type Profile, type Subscription } from './config-gen';
import {
  DELTA_PATH,
  DELTA_REQ,
  SOTW_PATH,
  SOTW_REQ,
  TYPE,
  TYPE_BY_URL,
  GrpcDeframer,
  encodeNode,
  field,
  fields,
  frameParts,
  readResponseHead,
  type TypeName,
} from './wire';

export interface ConnectCommand {
  cmd: 'connect';
  port: number;
  mode: Mode;
  profile: Profile;
  services: number;
  perClient: number;
  /** Client indexes [from, to). */
  from: number;
  to: number;
  streamsPerConn: number;
  idPrefix: string;
}

export type LoadgenCommand =
  | ConnectCommand
  | { cmd: 'mark' }
  | { cmd: 'progress' }
  | { cmd: 'collect' }
  | { cmd: 'close' }
  | { cmd: 'exit' };

interface TypeState {
  subscribed: boolean;
  /** Pre-encoded resource_names (SotW) and type_url: the constant part of this type's ACKs. */
  ackTail: Buffer;
  acks: number;
}

const typeField = (delta: boolean, t: TypeName) => field(delta ? DELTA_REQ.type_url : SOTW_REQ.type_url, TYPE[t]);

/**
 * Pre-encoded request parts shared by clients with equal subscriptions (all Envoy-profile
 * clients of one run). Keyed by the name count too: Envoy-profile names depend only on S.
 */
const sharedTails = new Map<string, Buffer>();

function namesPart(delta: boolean, names: readonly string[], key: string | undefined): Buffer {
  const num = delta ? DELTA_REQ.resource_names_subscribe : SOTW_REQ.resource_names;
  if (key !== undefined) {
    const hit = sharedTails.get(key);
    if (hit) return hit;
  }
  const bytes = fields(...names.map((n) => field(num, n)));
  if (key !== undefined) sharedTails.set(key, bytes);
  return bytes;
}

class Client {
  private readonly types = new Map<TypeName, TypeState>();
  private readonly delta: boolean;
  private readonly node: Buffer;
  private sentNode = false;
  private stream?: http2.ClientHttp2Stream;
  synced = false;
  failed?: string;
  // Edit accounting.
  editResponses = 0;
  editBytes = 0;
  lastAck = 0n;

  constructor(
    id: string,
    private readonly mode: Mode,
    private readonly sub: Subscription,
    private readonly onSynced: () => void,
    private readonly onResponse: () => void,
  ) {
    this.delta = mode === 'delta';
    this.node = encodeNode(id, sub.kind);
    const shared = sub.kind === 'envoy';
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS'] as TypeName[]) {
      const wildcard = t === 'LDS' || t === 'CDS' ? sub.wildcard[t] : false;
      // SotW ACKs repeat the subscription; delta ACKs carry only type and nonce.
      const names = this.delta ? Buffer.alloc(0) : wildcard ? Buffer.alloc(0) : namesPart(false, sub[t], shared ? `sotw:${t}:${sub[t].length}` : undefined);
      this.types.set(t, { subscribed: false, ackTail: Buffer.concat([names, typeField(this.delta, t)]), acks: 0 });
    }
  }

  start(session: http2.ClientHttp2Session): void {
    const stream = session.request(
      { ':method': 'POST', ':path': this.delta ? DELTA_PATH : SOTW_PATH, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    this.stream = stream;
    const deframer = new GrpcDeframer((m) => this.onMessage(m));
    stream.on('data', (chunk: Buffer) => deframer.push(chunk));
    stream.on('error', (err) => {
      this.failed ??= `stream error: ${err.message}`;
    });
    stream.on('trailers', (headers) => {
      this.failed ??= `stream ended: grpc-status ${String(headers['grpc-status'])} ${String(headers['grpc-message'] ?? '')}`;
    });
    stream.on('close', () => {
      this.failed ??= 'stream closed';
    });
    if (this.sub.kind === 'envoy') {
      this.subscribe('CDS');
      this.subscribe('LDS');
    } else {
      this.subscribe('LDS');
    }
  }

  close(): void {
    this.failed ??= 'closed by the runner';
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
  }

  private write(parts: Buffer[]): void {
    if (!this.sentNode) {
      parts.push(field(this.delta ? DELTA_REQ.node : SOTW_REQ.node, this.node));
      this.sentNode = true;
    }
    this.stream!.write(frameParts(parts));
  }

  private subscribe(t: TypeName): void {
    const st = this.types.get(t)!;
    if (st.subscribed) return;
    st.subscribed = true;
    const wildcard = t === 'LDS' || t === 'CDS' ? this.sub.wildcard[t] : false;
    const shared = this.sub.kind === 'envoy' ? `${this.mode}:sub:${t}:${this.sub[t].length}` : undefined;
    if (this.delta) {
      const names = wildcard ? field(DELTA_REQ.resource_names_subscribe, '*') : namesPart(true, this.sub[t], shared);
      this.write([names, typeField(true, t)]);
    } else {
      // A SotW subscription is a request without version or nonce; its names are those an ACK repeats.
      this.write([st.ackTail]);
    }
  }

  private onMessage(message: Buffer): void {
    const head = readResponseHead(message, this.delta);
    const t = TYPE_BY_URL.get(head.typeUrl);
    if (!t) {
      this.failed ??= `response of unknown type ${head.typeUrl}`;
      return;
    }
    const st = this.types.get(t)!;
    // ACK: SotW echoes version and nonce with the subscription; delta echoes the nonce.
    if (this.delta) this.write([st.ackTail, field(DELTA_REQ.response_nonce, head.nonce)]);
    else this.write([field(SOTW_REQ.version_info, head.version), st.ackTail, field(SOTW_REQ.response_nonce, head.nonce)]);
    st.acks++;
    this.lastAck = process.hrtime.bigint();
    this.editResponses++;
    this.editBytes += message.length;
    this.onResponse();
    // Follow-up subscriptions, in the order each kind of client makes them.
    if (this.sub.kind === 'envoy') {
      if (t === 'CDS') this.subscribe('EDS');
      if (t === 'LDS') this.subscribe('RDS');
    } else {
      if (t === 'LDS') this.subscribe('RDS');
      if (t === 'RDS') this.subscribe('CDS');
      if (t === 'CDS') this.subscribe('EDS');
    }
    if (!this.synced && [...this.types.values()].every((s) => s.acks > 0)) {
      this.synced = true;
      this.onSynced();
    }
  }
}

let clients: Client[] = [];
let sessions: http2.ClientHttp2Session[] = [];
let syncedCount = 0;
let lastResponseAt = 0n;
let sessionErrors = 0;

function send(message: unknown): void {
  process.send!(message);
}

function connect(c: ConnectCommand): void {
  clients = [];
  sessions = [];
  syncedCount = 0;
  sessionErrors = 0;
  let session: http2.ClientHttp2Session | undefined;
  for (let i = c.from; i < c.to; i++) {
    if (!session || (i - c.from) % c.streamsPerConn === 0) {
      // Large windows, like Envoy's defaults (256 MiB per stream and connection): a push is not
      // held back by HTTP/2 flow control on the client side.
      session = http2.connect(`http://127.0.0.1:${c.port}`, {
        settings: { initialWindowSize: 16 * 1024 * 1024, enablePush: false },
        maxSessionMemory: 1024,
      });
      const s = session;
      s.on('connect', () => s.setLocalWindowSize(64 * 1024 * 1024));
      s.on('error', () => sessionErrors++);
      s.setMaxListeners(0);
      sessions.push(s);
    }
    const client = new Client(
      `${c.idPrefix}-${i}`,
      c.mode,
      subscriptionOf(c.profile, c.services, c.perClient, i),
      () => syncedCount++,
      () => {
        lastResponseAt = process.hrtime.bigint();
      },
    );
    clients.push(client);
    client.start(session);
  }
}

function failures(): string[] {
  const out = new Map<string, number>();
  for (const c of clients) if (c.failed) out.set(c.failed, (out.get(c.failed) ?? 0) + 1);
  return [...out].map(([why, n]) => `${n}× ${why}`);
}

process.on('message', (m: LoadgenCommand) => {
  switch (m.cmd) {
    case 'connect':
      connect(m);
      send({ cmd: 'connecting', clients: clients.length, sessions: sessions.length });
      break;
    case 'mark':
      for (const c of clients) {
        c.editResponses = 0;
        c.editBytes = 0;
        c.lastAck = 0n;
      }
      send({ cmd: 'marked' });
      break;
    case 'progress': {
      let acked = 0;
      let responses = 0;
      for (const c of clients) {
        if (c.editResponses > 0) acked++;
        responses += c.editResponses;
      }
      const failed = clients.filter((c) => c.failed).length;
      send({
        cmd: 'progress',
        synced: syncedCount,
        acked,
        responses,
        failed,
        failures: failed > 0 ? failures() : [],
        sessionErrors,
        sinceLastResponseMs: lastResponseAt === 0n ? Infinity : Number(process.hrtime.bigint() - lastResponseAt) / 1e6,
      });
      break;
    }
    case 'collect':
      // Last ACK times as decimal strings (bigint does not survive JSON IPC).
      send({
        cmd: 'collected',
        lastAck: clients.map((c) => c.lastAck.toString()),
        responses: clients.map((c) => c.editResponses),
        bytes: clients.map((c) => c.editBytes),
      });
      break;
    case 'close': {
      const old = sessions;
      for (const c of clients) c.close();
      for (const s of old) s.close();
      const n = old.length;
      let closed = 0;
      const done = () => send({ cmd: 'closed' });
      if (n === 0) done();
      for (const s of old) {
        if (s.destroyed) {
          if (++closed === n) done();
        } else {
          s.once('close', () => {
            if (++closed === n) done();
          });
        }
      }
      // Sessions that do not close promptly are destroyed.
      setTimeout(() => {
        for (const s of old) if (!s.destroyed) s.destroy();
      }, 2000).unref();
      break;
    }
    case 'exit':
      process.exit(0);
  }
});

process.on('disconnect', () => process.exit(0));
send({ cmd: 'ready' });
