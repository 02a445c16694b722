/**
 * Server-sent events for the console: `change` whenever the config version or any node's
 * status changed, at most every `intervalMs` (a fleet reconnecting must not flood browsers),
 * and a comment line every 15 s so proxies keep the stream open. The page re-reads what it
 * shows on each event.
 */
import type * as http from 'node:http';
import type { ChangeEvent } from './api-types';

export interface ChangeFeedOptions {
  version(): number;
  /** Calls `fn` after every node status change; returns the unsubscribe. */
  onNodeChange(fn: () => void): () => void;
  intervalMs?: number;
}

const KEEPALIVE_MS = 15_000;

export interface ChangeFeed {
  subscribe(req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string>): void;
  close(): void;
}

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const clients = new Set<http.ServerResponse>();
  let nodes = 0;
  let sent: ChangeEvent = { version: options.version(), nodes };
  const unsubscribe = options.onNodeChange(() => void nodes++);
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  const every = options.intervalMs ?? 250;

  const write = (res: http.ServerResponse, event: ChangeEvent) => res.write(`event: change\ndata: ${JSON.stringify(event)}\n\n`);

  const tick = () => {
    const now: ChangeEvent = { version: options.version(), nodes };
    if (now.version !== sent.version || now.nodes !== sent.nodes) {
      sent = now;
      for (const res of clients) write(res, now);
    }
    if (++ticks % Math.ceil(KEEPALIVE_MS / every) === 0) for (const res of clients) res.write(': keepalive\n\n');
  };

  return {
    subscribe(req, res, headers) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...headers });
      clients.add(res);
      write(res, { version: options.version(), nodes });
      timer ??= setInterval(tick, every);
      timer.unref();
      const drop = () => {
        clients.delete(res);
        if (clients.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
      req.on('close', drop);
      res.on('close', drop);
    },
    close() {
      unsubscribe();
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
