/**
 * The Prometheus scrape endpoint: `GET /metrics` on a plain node:http server, plus the probes
 * `GET /healthz` (the process answers) and `GET /readyz` (readiness checks, 503 when one fails);
 * 404 for anything else.
 */
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
  /** What `/readyz` checks (every check must pass); absent → ready whenever it answers. */
  readiness?: () => Promise<readonly ReadinessCheck[]>;
  /** Other handlers on this port, each answering every path under its prefix (the web console). */
  mounts?: ReadonlyArray<HttpMount>;
}

/** One readiness check: `ok`, else `detail` says why not. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** `/readyz`'s answer: a line per check (`[+]config ok`, `[-]store failed: …`), as Kubernetes components print theirs. */
async function readyz(readiness: MetricsServerOptions['readiness'], res: http.ServerResponse, head: boolean): Promise<void> {
  let checks: readonly ReadinessCheck[];
  try {
    checks = readiness ? await readiness() : [];
  } catch (err) {
    checks = [{ name: 'readiness', ok: false, detail: (err as Error).message }];
  }
  const ok = checks.every((c) => c.ok);
  const lines = checks.map((c) => `[${c.ok ? '+' : '-'}]${c.name} ${c.ok ? 'ok' : `failed: ${c.detail ?? ''}`}`);
  const body = `${lines.join('\n')}${lines.length ? '\n' : ''}readyz check ${ok ? 'passed' : 'failed'}\n`;
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(head ? undefined : body);
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
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
      return;
    }
    if (read && path === '/readyz') {
      void readyz(options.readiness, res, req.method === 'HEAD');
      return;
    }
    const mount = options.mounts?.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
    if (mount) return mount.handle(req, res);
    if (path !== '/metrics' || !read) {
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
