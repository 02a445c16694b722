/**
 * The web console over HTTP, mounted under /console/ on the metrics server: the page's static
 * bundle (built by scripts/build-console.mjs into dist/console), the JSON API (api.ts) and a
 * server-sent event stream saying when what the page shows changed.
 *
 * Access is the admin API's: `Authorization: Bearer <token>` on every API call (the page asks
 * for the token and keeps it in the tab's sessionStorage). `open` lets clients on a loopback
 * address in without a token, for demos; the Host header must then name a loopback host too,
 * so a web page in the same browser cannot reach the console through DNS rebinding.
 */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AuthCheck } from '../admin/auth';
import { TetherError, toTetherError } from '../config/errors';
import type { Logger } from '../log';
import { isLoopbackHost } from '../util/loopback';
import type { ApiError } from './api-types';
import type { ConsoleApi } from './api';
import { BodyReader } from './body-reader';
import type { ChangeFeed } from './change-feed';

export const CONSOLE_PREFIX = '/console';
const MAX_BODY_BYTES = 256 * 1024;

const STATUS: Record<TetherError['code'], number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export interface ConsoleHandlerOptions {
  api: ConsoleApi;
  feed: ChangeFeed;
  auth: AuthCheck;
  /** Loopback clients need no token. */
  open: boolean;
  /** The built page (index.html, app.js, app.css). */
  assetsDir: string;
  logger: Logger;
}

function hostName(hostHeader: string | undefined): string {
  const host = hostHeader ?? '';
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

const isLoopbackPeer = (address: string | undefined) => !!address && isLoopbackHost(address.replace(/^::ffff:/, ''));

export function createConsoleHandler(options: ConsoleHandlerOptions) {
  const { api, feed, logger } = options;
  const log = logger.child({ component: 'console' });

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS });
    res.end(text);
  }

  function fail(res: http.ServerResponse, err: unknown, context: object): void {
    const e = toTetherError(err);
    if (e.code === 'INTERNAL') log.error({ ...context, err: e.message }, 'console call failed');
    const body: ApiError = { error: e.message, ...(e.fieldErrors.length > 0 ? { fieldErrors: e.fieldErrors } : {}) };
    send(res, STATUS[e.code], body);
  }

  /** Undefined when the call may proceed, else the reason it may not. */
  function denied(req: http.IncomingMessage): string | undefined {
    if (options.open && isLoopbackPeer(req.socket.remoteAddress) && isLoopbackHost(hostName(req.headers.host)) && !req.headers.authorization) return undefined;
    const metadata = new grpc.Metadata();
    if (req.headers.authorization) metadata.set('authorization', req.headers.authorization);
    return options.auth(metadata)?.details;
  }

  function readBody(req: http.IncomingMessage): Promise<BodyReader> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          reject(TetherError.invalid([{ path: '', message: `the body is larger than ${MAX_BODY_BYTES} bytes` }], 'invalid request'));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
        } catch (err) {
          reject(TetherError.invalid([{ path: '', message: `the body is not JSON: ${(err as Error).message}` }], 'invalid request'));
          return;
        }
        resolve(new BodyReader(parsed));
      });
      req.on('error', reject);
    });
  }

  function serveAsset(res: http.ServerResponse, name: string): void {
    // Only plain file names inside the bundle directory: no separators, no dot files.
    if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) return void send(res, 404, { error: 'not found' });
    const file = path.join(options.assetsDir, name);
    fs.readFile(file, (err, data) => {
      if (err) {
        const missing = name === 'index.html' && (err as NodeJS.ErrnoException).code === 'ENOENT';
        send(res, missing ? 503 : 404, { error: missing ? `the console is not built (${options.assetsDir} is missing): run npm run build` : 'not found' });
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'content-length': data.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
      res.end(data);
    });
  }

  const GETS: Record<string, (params: URLSearchParams) => unknown> = {
    overview: () => api.overview(),
    rings: (params) => api.rings(api.kind(params.get('kind'), 'envoy')!),
    nodes: () => api.nodes(),
    history: () => api.history(),
    diff: (params) => api.diff(params),
  };
  const POSTS: Record<string, (body: BodyReader) => unknown> = {
    explain: (body) => api.explain(body),
    'what-if': (body) => api.whatIf(body),
  };

  function handleApi(req: http.IncomingMessage, res: http.ServerResponse, name: string, params: URLSearchParams): void {
    const context = { call: name, peer: req.socket.remoteAddress };
    const reason = denied(req);
    if (reason) return void send(res, 401, { error: reason } satisfies ApiError);
    if (name === 'events' && req.method === 'GET') return feed.subscribe(req, res, SECURITY_HEADERS);
    const get = req.method === 'GET' && Object.hasOwn(GETS, name) ? GETS[name] : undefined;
    const post = req.method === 'POST' && Object.hasOwn(POSTS, name) ? POSTS[name] : undefined;
    if (!get && !post) {
      const known = Object.hasOwn(GETS, name) || Object.hasOwn(POSTS, name) || name === 'events';
      return void send(res, known ? 405 : 404, { error: known ? `${req.method} not allowed here` : `no console API call '${name.slice(0, 40)}'` });
    }
    const result = get ? Promise.resolve().then(() => get(params)) : readBody(req).then((body) => post!(body));
    result.then(
      (body) => send(res, 200, body),
      (err: unknown) => fail(res, err, context),
    );
  }

  /** Handles every request under /console. */
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://console');
    const rest = url.pathname.slice(CONSOLE_PREFIX.length);
    if (rest === '') {
      res.writeHead(302, { location: `${CONSOLE_PREFIX}/` }).end();
      return;
    }
    if (rest.startsWith('/api/')) return handleApi(req, res, rest.slice('/api/'.length), url.searchParams);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void send(res, 405, { error: `${req.method} not allowed here` });
    serveAsset(res, rest === '/' ? 'index.html' : rest.slice(1));
  };
}
