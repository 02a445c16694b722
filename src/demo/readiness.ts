import * as http from 'node:http';
import * as net from 'node:net';

/** Start-up checks of the local demo: bounded polls, never fixed sleeps. */

export class DemoStartError extends Error {}

/**
 * Polls `probe` every `everyMs` until it returns true; fails after `timeoutMs`, or at once
 * when `abort()` returns a reason (a process it waits for has exited).
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, o: { timeoutMs: number; everyMs?: number; abort?: () => string | undefined }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const reason = o.abort?.();
    if (reason) throw new DemoStartError(`${what}: ${reason}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new DemoStartError(`${what}: not ready after ${Math.round(o.timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 100));
  }
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

/** One GET with a fresh connection; rejects on errors and after `timeoutMs`. */
export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 2_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** True when a TCP connection to host:port opens. */
export function tcpOpen(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Throws a DemoStartError naming `flag` when host:port cannot be bound (in use, or no such address). */
export function assertBindable(host: string, port: number, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRNOTAVAIL') {
        // Linux routes all of 127.0.0.0/8 to the loopback interface; macOS only 127.0.0.1.
        reject(new DemoStartError(`${host} is not a local address; on macOS add it to the loopback interface: sudo ifconfig lo0 alias ${host} up`));
        return;
      }
      const why = err.code === 'EADDRINUSE' ? 'is in use: is a demo (or docker compose) already running?' : `cannot be bound (${err.code ?? err.message}):`;
      reject(new DemoStartError(`${host}:${port} ${why} Choose another port with ${flag}`));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
