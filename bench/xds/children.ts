/**
 * The bench runner's child processes: Node children over IPC (fork) and the go-control-plane
 * comparator over JSON lines on stdin/stdout, behind one message interface. Every child started
 * here is killed by PID when the runner exits.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface Child {
  name: string;
  proc: ChildProcess;
  send(message: Record<string, unknown>): void;
  /** Resolves with the next message of this `cmd`. */
  next<T = Record<string, unknown>>(cmd: string, timeoutMs?: number): Promise<T>;
  request<T = Record<string, unknown>>(message: Record<string, unknown>, reply: string, timeoutMs?: number): Promise<T>;
}

const children = new Set<ChildProcess>();

export function killChildren(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

/** Routes a child's messages to waiters by `cmd` (messages that arrive first are kept). */
function wire(name: string, proc: ChildProcess, send: (m: Record<string, unknown>) => void): { child: Child; deliver: (m: Record<string, unknown>) => void } {
  children.add(proc);
  const waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();
  const early = new Map<string, Record<string, unknown>[]>();
  let exited: string | undefined;
  const deliver = (m: Record<string, unknown>) => {
    const cmd = String(m.cmd);
    const q = waiting.get(cmd);
    if (q && q.length > 0) q.shift()!(m);
    else early.set(cmd, [...(early.get(cmd) ?? []), m]);
  };
  proc.on('exit', (code, signal) => {
    exited = `${name} exited (code ${code}, signal ${signal})`;
    children.delete(proc);
    for (const q of waiting.values()) for (const fn of q.splice(0)) fn({ cmd: '__exit__' });
  });
  const next = <T>(cmd: string, timeoutMs = 120_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const got = early.get(cmd);
      if (got && got.length > 0) return resolve(got.shift() as T);
      if (exited) return reject(new Error(exited));
      const timer = setTimeout(() => reject(new Error(`${name}: no '${cmd}' within ${timeoutMs} ms`)), timeoutMs);
      const q = waiting.get(cmd) ?? [];
      q.push((m) => {
        clearTimeout(timer);
        if (m.cmd === '__exit__') reject(new Error(exited ?? `${name} exited`));
        else resolve(m as T);
      });
      waiting.set(cmd, q);
    });
  const child: Child = {
    name,
    proc,
    send,
    next,
    request: (message, reply, timeoutMs) => {
      const p = next(reply, timeoutMs);
      send(message);
      return p as never;
    },
  };
  return { child, deliver };
}

/** A compiled bench script beside this file, forked with IPC. */
export function startNode(name: string, file: string, args: string[], execArgv: string[]): Child {
  const proc = fork(path.join(__dirname, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const { child, deliver } = wire(name, proc, (m) => proc.send(m));
  proc.on('message', (m: Record<string, unknown>) => deliver(m));
  return child;
}

/** A program speaking JSON lines: commands on its stdin, replies on its stdout. */
export function startJsonLines(name: string, binary: string, args: string[]): Child {
  const proc = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const { child, deliver } = wire(name, proc, (m) => proc.stdin!.write(`${JSON.stringify(m)}\n`));
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      deliver(JSON.parse(line) as Record<string, unknown>);
    } catch {
      process.stderr.write(`${name}: ${line}\n`);
    }
  });
  return child;
}

export async function stop(child: Child, message: Record<string, unknown>): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.send(message);
  const timer = setTimeout(() => child.proc.pid !== undefined && process.kill(child.proc.pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
