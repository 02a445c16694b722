/**
 * Steady sticky traffic through an Envoy listener while a test breaks and mends replicas:
 * `users` are visited in turn by a few workers (each request keyed `x-user`), every reply
 * recorded with its time and the replica that answered, until stop(). A failed request
 * (non-200, reset, time-out) is recorded too, so a test can count what a failure cost.
 */
import * as http from 'node:http';
import { request } from './envoy';

export interface TrafficSample {
  user: string;
  /** ms since the epoch, when the reply (or failure) came back. */
  at: number;
  /** The replica id (sample replicas' `replica`), or undefined for a failure. */
  replica?: string;
  status: number;
}

export interface TrafficOptions {
  port: number;
  users: readonly string[];
  path?: string;
  /** Requests in flight at once. Default 4. */
  workers?: number;
  /** Pause between one worker's requests, to keep a shared machine responsive. Default 2 ms. */
  pauseMs?: number;
  /** Per-request client time-out; a hang beyond it counts as a failure. Default 5 s. */
  timeoutMs?: number;
  /** Host header (a service's domain). */
  host?: string;
  /** Keep each user's cookies (Set-Cookie) and send them back, as a browser would. */
  cookies?: boolean;
}

export class StickyTraffic {
  readonly samples: TrafficSample[] = [];
  private running = true;
  private readonly done: Promise<void[]>;
  private readonly agent: http.Agent;

  constructor(options: TrafficOptions) {
    const workers = options.workers ?? 4;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: workers });
    let next = 0;
    const jars = new Map<string, Map<string, string>>();
    const worker = async () => {
      while (this.running) {
        const user = options.users[next++ % options.users.length]!;
        const jar = jars.get(user) ?? new Map<string, string>();
        jars.set(user, jar);
        const headers: Record<string, string> = { 'x-user': user, ...(options.host ? { host: options.host } : {}) };
        if (options.cookies && jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
        try {
          const reply = await request(options.port, { headers, path: options.path ?? '/', agent: this.agent, timeoutMs: options.timeoutMs ?? 5000 });
          for (const c of options.cookies ? (reply.headers['set-cookie'] ?? []) : []) {
            const [pair] = c.split(';');
            const eq = pair!.indexOf('=');
            if (eq > 0) jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
          }
          this.samples.push({ user, at: Date.now(), status: reply.status, ...(reply.status === 200 && reply.json ? { replica: reply.json.replica } : {}) });
        } catch {
          this.samples.push({ user, at: Date.now(), status: 0 });
        }
        await new Promise((r) => setTimeout(r, options.pauseMs ?? 2));
      }
    };
    this.done = Promise.all(Array.from({ length: workers }, worker));
  }

  /** Samples from `from` (ms since the epoch) on. */
  since(from: number): TrafficSample[] {
    return this.samples.filter((s) => s.at >= from);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}
