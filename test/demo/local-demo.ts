/**
 * `tether demo` (the built CLI) for tests: free ports on 127.0.0.x, its own state directory,
 * its output collected; stopped with SIGINT like a Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { COMPOSE_PORTS, DEMO_REPLICAS, DEMO_SCALE_REPLICA, replicaAddress, type DemoPorts } from '../../src/demo/topology';
import { freePort } from '../support/envoy';

const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A port that is free on every replica address (they all listen on the same port, as in compose). */
async function portFreeOnReplicas(): Promise<number> {
  const hosts = [...DEMO_REPLICAS, DEMO_SCALE_REPLICA].map(replicaAddress);
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]);
    if ((await Promise.all(hosts.map((h) => bindable(h, port)))).every(Boolean)) return port;
  }
  throw new Error('no port free on every replica address');
}

export async function freeDemoPorts(): Promise<DemoPorts> {
  const replicaHttp = await portFreeOnReplicas();
  let replicaGrpc = await portFreeOnReplicas();
  while (replicaGrpc === replicaHttp) replicaGrpc = await portFreeOnReplicas();
  const ports: DemoPorts = { ...COMPOSE_PORTS, replicaHttp, replicaGrpc };
  const taken = new Set([replicaHttp, replicaGrpc]);
  for (const key of ['gateway', 'envoyAdmin', 'xds', 'admin', 'extProc', 'metrics'] as const) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    ports[key] = p;
  }
  return ports;
}

export interface ListedProcess {
  name: string;
  pid: number;
}

export class LocalDemo {
  private output = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;

  constructor(readonly ports: DemoPorts, readonly stateDir: string, extraArgs: string[] = [], extraEnv: Record<string, string> = {}) {
    const flags = [
      `--state-dir=${stateDir}`,
      `--gateway-port=${ports.gateway}`,
      `--envoy-admin-port=${ports.envoyAdmin}`,
      `--xds-port=${ports.xds}`,
      `--admin-port=${ports.admin}`,
      `--ext-proc-port=${ports.extProc}`,
      `--metrics-port=${ports.metrics}`,
      `--replica-http-port=${ports.replicaHttp}`,
      `--replica-grpc-port=${ports.replicaGrpc}`,
      ...extraArgs,
    ];
    const env = { ...process.env, ...extraEnv };
    delete env.TETHER_ADMIN_TOKEN;
    this.child = spawn(process.execPath, [CLI, 'demo', ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d: Buffer) => {
      this.output += d.toString('utf8');
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.on('exit', (code, signal) => (this.exit = { code, signal }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  logs(): string {
    return this.output;
  }

  exitStatus() {
    return this.exit;
  }

  /** Polls the demo's output until `test` finds something; fails if the demo exits first. */
  async waitForOutput<T>(what: string, test: (output: string) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = test(this.output);
      if (found !== undefined) return found;
      if (this.exit) throw new Error(`tether demo exited (${this.exit.code ?? this.exit.signal}) before ${what}:\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The processes the start-up table lists (`  name  pid N  …`). */
  processes(): ListedProcess[] {
    return [...this.output.matchAll(/^ {2}(\S+)\s+pid (\d+)\s/gm)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));
  }

  /** Waits until the demo exits on its own. */
  async waitForExit(timeoutMs: number): Promise<void> {
    await this.waitForOutput('the demo to exit', () => undefined, timeoutMs).catch((err: Error) => {
      if (!this.exit) throw err;
    });
  }

  /** Sends `signal` (default SIGINT, a Ctrl-C) and waits for the demo to exit. */
  async interrupt(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([gone, late]);
      clearTimeout(timer);
    }
    if (!this.exit) throw new Error(`tether demo did not exit within ${timeoutMs} ms of ${signal}:\n${this.output.slice(-3000)}`);
    return this.exit;
  }

  /** Last resort for afterAll: SIGKILL the demo and every process it listed, by PID. */
  killAll(): void {
    for (const p of [{ name: 'demo', pid: this.pid }, ...this.processes()]) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  removeState(): void {
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Whether a process with this PID exists (a zombie of ours counts as gone once reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** TCP sockets in LISTEN state that these processes hold, as `ip:port` (Linux /proc). */
export function listeningAddresses(pids: readonly number[]): string[] | undefined {
  if (!fs.existsSync('/proc/net/tcp')) return undefined;
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      out.push(decodeProcAddress(f[1]!));
    }
  }
  return out;
}

/** `0100007F:1F90` → `127.0.0.1:8080`; IPv6 entries are returned as their hex. */
function decodeProcAddress(text: string): string {
  const [hex, portHex] = text.split(':');
  const port = parseInt(portHex!, 16);
  if (hex!.length !== 8) return `[${hex}]:${port}`;
  const bytes = hex!.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
  return `${bytes.join('.')}:${port}`;
}
