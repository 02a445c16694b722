/**
 * For cold-start measurements: the moment a node connecting to a starting Tether gets its first
 * response. One SotW ADS stream over bare node:http2 (an Envoy asks CDS wildcard, a proxyless
 * gRPC node LDS for one service), retried every few ms until the port is bound; resolves with
 * process.hrtime.bigint() when the first DiscoveryResponse arrives.
 */
import * as http2 from 'node:http2';
import { GrpcDeframer, SOTW_PATH, SOTW_REQ, TYPE, encodeNode, field, fields, frame } from './wire';

const RETRY_MS = 20;

export function firstResponse(port: number, kind: 'envoy' | 'grpc', timeoutMs = 120_000): Promise<bigint> {
  const request = frame(
    fields(
      field(SOTW_REQ.node, encodeNode(`cold-start-${kind}`, kind)),
      ...(kind === 'grpc' ? [field(SOTW_REQ.resource_names, 'svc-0')] : []),
      field(SOTW_REQ.type_url, kind === 'grpc' ? TYPE.LDS : TYPE.CDS),
    ),
  );
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (Date.now() > deadline) return reject(new Error(`no ${kind} response within ${timeoutMs} ms`));
      // Flow-control windows as loadgen.ts's (Envoy's own defaults are larger still): with
      // node's 64 KB a first response of megabytes (CDS of 10,000 clusters) waits for a window
      // update per 64 KB, each a turn of this process's loop, which Tether shares while it
      // still builds the deferred kinds and starts its admin API.
      const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 16 * 1024 * 1024, enablePush: false } });
      let done = false;
      const retry = () => {
        if (done) return;
        done = true;
        session.destroy();
        setTimeout(attempt, RETRY_MS);
      };
      session.on('error', retry);
      session.on('connect', () => {
        session.setLocalWindowSize(64 * 1024 * 1024);
        const stream = session.request({ ':method': 'POST', ':path': SOTW_PATH, 'content-type': 'application/grpc', te: 'trailers' });
        stream.on('error', retry);
        const deframer = new GrpcDeframer(() => {
          if (done) return;
          done = true;
          const at = process.hrtime.bigint();
          session.destroy();
          resolve(at);
        });
        stream.on('data', (chunk: Buffer) => deframer.push(chunk));
        stream.on('close', retry);
        stream.write(request);
      });
    };
    attempt();
  });
}
