/**
 * A TCP proxy on 127.0.0.1 (ephemeral port) in front of a plaintext HTTP/2 (gRPC) server that
 * forwards everything until the server starts answering a request — the first HEADERS frame
 * the server sends on a stream — and then closes both connections without passing it on. The
 * server has by then done the work (a unary gRPC handler answers when it is finished), but the
 * client never learns the outcome: the "connection dropped mid-request" case.
 */
import * as net from 'node:net';

const HEADERS = 0x1;
const FRAME_HEADER = 9;

export interface CuttingProxy {
  address: string;
  /** Requests whose answer was cut off so far. */
  cut(): number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Forward whole frames, stopping at the first response HEADERS (stream id > 0).
      while (pending.length >= FRAME_HEADER) {
        const length = pending.readUIntBE(0, 3);
        const type = pending[3]!;
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        if (pending.length < FRAME_HEADER + length) break;
        if (type === HEADERS && stream > 0) {
          cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(pending.subarray(0, FRAME_HEADER + length));
        pending = pending.subarray(FRAME_HEADER + length);
      }
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    cut: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
