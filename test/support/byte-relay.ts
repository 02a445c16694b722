import net from 'node:net';

/**
 * A TCP relay on 127.0.0.1 to `targetPort` that counts the bytes the target sends back: put
 * between an Envoy and Tether's xDS port, it measures what Tether wrote to that Envoy on the
 * wire (HTTP/2 and gRPC framing included).
 */
export interface ByteRelay {
  readonly port: number;
  /** Bytes the target has sent to the relay's clients so far. */
  received(): number;
  /** Sizes of the chunks received so far, in order (for telling one response from several). */
  chunks(): readonly number[];
  close(): Promise<void>;
}

export async function startByteRelay(targetPort: number): Promise<ByteRelay> {
  let bytes = 0;
  const sizes: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      sizes.push(chunk.length);
    });
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => bytes,
    chunks: () => sizes,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
