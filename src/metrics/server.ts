/** The Prometheus scrape endpoint: `GET /metrics` on a plain node:http server, 404 for anything else. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import type { TetherMetrics } from './tether-metrics';

export interface MetricsServerOptions {
  /** Address to listen on, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  metrics: Pick<TetherMetrics, 'registry'>;
  logger: Logger;
  /** Other handlers on this port, each answering every path under its prefix (the web console). */
  mounts?: ReadonlyArray<HttpMount>;
}

export interface HttpMount {
  /** E.g. "/console": answers "/console" and "/console/…". */
  prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
}

export interface MetricsServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening and drops open (keep-alive) connections. */
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry } = options.metrics;
  const log = options.logger.child({ component: 'metrics' });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    const mount = options.mounts?.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
    if (mount) return mount.handle(req, res);
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('collecting metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: options.host, port }, 'metrics endpoint listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
