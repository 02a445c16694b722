/**
 * Baseline: the least an ADS server on Node and grpc-js can do. The same two ADS methods
 * (SotW and delta) on a grpc-js server, with identity (de)serializers: requests are read for
 * their type and nonce only; a subscription (no nonce) is answered with a tiny pre-encoded empty
 * response of its type; ACKs are counted. On a `push` over IPC it writes the same pre-encoded
 * response — one resource padded to the size Tether sent per client for the edit — to every
 * open stream of that protocol, and does nothing else: no config, no per-stream state, no
 * versions. The clients (the same load generator) measure its convergence exactly as Tether's.
 */
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE, ANY, DELTA_RES, RESOURCE, SOTW_RES, TYPE, field, fields, readRequestHead } from './wire';

export type BaselineCommand =
  | { cmd: 'push'; delta: boolean; typeUrl: string; size: number; count: number; seq: number }
  | { cmd: 'stats'; gc: boolean }
  | { cmd: 'stop' };

type Call = grpc.ServerDuplexStream<Buffer, Buffer>;

const identity = (b: Buffer): Buffer => b;

function method(name: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${ADS_SERVICE}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** A response of `typeUrl` whose encoding is exactly `size` bytes when size allows (one padded resource). */
export function response(delta: boolean, typeUrl: string, version: string, nonce: string, size: number): Buffer {
  const build = (pad: number): Buffer => {
    if (delta) {
      const resource = fields(
        field(RESOURCE.name, 'bench'),
        field(RESOURCE.version, version),
        field(RESOURCE.resource, fields(field(ANY.type_url, typeUrl), field(ANY.value, Buffer.alloc(pad, 0x61)))),
      );
      return fields(field(DELTA_RES.system_version_info, version), field(DELTA_RES.resources, resource), field(DELTA_RES.type_url, typeUrl), field(DELTA_RES.nonce, nonce));
    }
    const any = fields(field(ANY.type_url, typeUrl), field(ANY.value, Buffer.alloc(pad, 0x61)));
    return fields(field(SOTW_RES.version_info, version), field(SOTW_RES.resources, any), field(SOTW_RES.type_url, typeUrl), field(SOTW_RES.nonce, nonce));
  };
  // Varint lengths grow with the padding: adjust until the total matches (or is just over).
  let pad = Math.max(0, size - build(0).length);
  for (let i = 0; i < 4; i++) {
    const len = build(pad).length;
    if (len === size || pad === 0) break;
    pad = Math.max(0, pad + size - len);
  }
  return build(pad);
}

function emptyResponse(delta: boolean, typeUrl: string): Buffer {
  return delta
    ? fields(field(DELTA_RES.system_version_info, '0'), field(DELTA_RES.type_url, typeUrl), field(DELTA_RES.nonce, '0'))
    : fields(field(SOTW_RES.version_info, '0'), field(SOTW_RES.type_url, typeUrl), field(SOTW_RES.nonce, '0'));
}

function main(): void {
  const calls = { sotw: new Set<Call>(), delta: new Set<Call>() };
  let acks = 0;
  const empties = new Map<string, Buffer>();
  for (const delta of [false, true]) for (const t of Object.values(TYPE)) empties.set(`${delta}:${t}`, emptyResponse(delta, t));

  const serve = (delta: boolean) => (call: Call) => {
    const set = delta ? calls.delta : calls.sotw;
    set.add(call);
    call.on('data', (req: Buffer) => {
      const { typeUrl, nonce } = readRequestHead(req, delta);
      if (nonce === '') {
        const empty = empties.get(`${delta}:${typeUrl}`);
        if (empty) call.write(empty);
      } else {
        acks++;
      }
    });
    const forget = () => set.delete(call);
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('cancelled', forget);
    call.on('error', forget);
    call.on('close', forget);
  };

  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(
    { StreamAggregatedResources: method('StreamAggregatedResources'), DeltaAggregatedResources: method('DeltaAggregatedResources') },
    { StreamAggregatedResources: serve(false), DeltaAggregatedResources: serve(true) } as grpc.UntypedServiceImplementation,
  );
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send!({ cmd: 'ready', port });
  });

  process.on('message', (m: BaselineCommand) => {
    switch (m.cmd) {
      case 'push': {
        // Pre-encoded once; the same bytes go to every stream.
        const bytes = Array.from({ length: m.count }, (_, i) => response(m.delta, m.typeUrl, `b${m.seq}.${i}`, `b${m.seq}.${i}`, m.size));
        for (const call of m.delta ? calls.delta : calls.sotw) for (const b of bytes) call.write(b);
        break;
      }
      case 'stats': {
        if (m.gc) {
          const g = (globalThis as { gc?: () => void }).gc!;
          g();
          g();
        }
        process.send!({ cmd: 'stats', cpu: process.cpuUsage(), mem: process.memoryUsage(), streams: calls.sotw.size + calls.delta.size, acks });
        break;
      }
      case 'stop':
        server.forceShutdown();
        process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) main();
