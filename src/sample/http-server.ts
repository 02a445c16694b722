import * as http from 'node:http';
import type { Logger } from 'pino';
import { checkUser, ReplicaClosingError, type SessionCore } from './session-core';

/** Request bodies are drained and ignored; past this many bytes the request is refused (413). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The JSON every non-health request gets back. */
export interface SampleHttpReply {
  replica: string;
  version: string;
  /** The session key used (`x-user` header, else `user` query parameter), or null. */
  user: string | null;
  cached: boolean;
  latencyMs: number;
  method: string;
  /** The request target as received (path and query), e.g. after an Envoy prefix rewrite. */
  path: string;
  /** The request headers as received: shows rewritten Host, ext_proc-injected headers, etc. */
  headers: http.IncomingHttpHeaders;
}

export interface HttpHandlerContext {
  id: string;
  version: string;
  core: SessionCore;
  logger: Logger;
  /** What /healthz answers; requests are served either way. */
  health?: { serving: boolean };
}

function sessionKey(req: http.IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-user'];
  const fromHeader = Array.isArray(header) ? header.join(',') : header;
  if (fromHeader) return fromHeader;
  return url.searchParams.get('user') || undefined;
}

export function createHttpHandler(ctx: HttpHandlerContext): http.RequestListener {
  const send = (res: http.ServerResponse, status: number, type: string, body: string, close = false) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-replica': ctx.id,
      'x-replica-version': ctx.version,
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(body);
  };

  const respond = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    if (url.pathname === '/healthz') {
      return ctx.health?.serving === false ? send(res, 503, 'text/plain; charset=utf-8', 'not serving\n') : send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    }
    const checked = checkUser(sessionKey(req, url));
    if (!checked.ok) return send(res, 400, 'text/plain; charset=utf-8', `${checked.message}\n`);
    try {
      const { cached, latencyMs } = await ctx.core.serve(checked.user);
      const reply: SampleHttpReply = {
        replica: ctx.id,
        version: ctx.version,
        user: checked.user ?? null,
        cached,
        latencyMs,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
      };
      ctx.logger.debug({ user: checked.user, cached, latencyMs, path: reply.path }, 'http request');
      send(res, 200, 'application/json', JSON.stringify(reply));
    } catch (err) {
      if (err instanceof ReplicaClosingError) return send(res, 503, 'text/plain; charset=utf-8', `${err.message}\n`, true);
      ctx.logger.error({ err: (err as Error).message }, 'http request failed');
      send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    }
  };

  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://replica.invalid');
    } catch {
      send(res, 400, 'text/plain; charset=utf-8', 'bad request target\n', true);
      return;
    }
    // Drain the body without keeping it, so keep-alive connections stay usable; refuse (and
    // drop the connection) once it passes the limit instead of reading without end.
    let bytes = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_BODY_BYTES && !refused) {
        refused = true;
        send(res, 413, 'text/plain; charset=utf-8', `body larger than ${MAX_BODY_BYTES} bytes\n`, true);
        res.once('finish', () => req.destroy());
      }
    });
    req.on('end', () => {
      if (!refused) void respond(req, res, url);
    });
    req.on('error', () => undefined);
  };
}
