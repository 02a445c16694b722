import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * The demo's child processes. Each runs in its own process group, so a Ctrl-C in the terminal
 * reaches only the demo, which then stops them itself, in reverse start order (load client
 * and Envoy before Tether, Tether before the replicas), each by its PID: SIGTERM, then SIGKILL
 * after a grace period. Output goes to one log file per process.
 */
export interface DemoProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Undefined while it runs. */
  exitStatus(): string | undefined;
  /** The last lines of its log. */
  logTail(lines?: number): string;
}

interface Entry extends DemoProcess {
  child: ChildProcess;
  exited: Promise<void>;
  expectedExit: boolean;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives stdout as well as the log file (the load client's report lines). */
  onStdout?: (chunk: string) => void;
}

export class ProcessGroup {
  private readonly entries: Entry[] = [];
  private unexpected: ((p: DemoProcess) => void) | undefined;
  private stopping = false;

  /** Called once when a process exits that was not being stopped. */
  onUnexpectedExit(callback: (p: DemoProcess) => void): void {
    this.unexpected = callback;
  }

  processes(): readonly DemoProcess[] {
    return this.entries;
  }

  start(name: string, command: string, args: readonly string[], logFile: string, options: StartOptions = {}): DemoProcess {
    const fd = fs.openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: ['ignore', options.onStdout ? 'pipe' : fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    if (child.pid === undefined) {
      // spawn reports ENOENT and the like asynchronously; the pid tells at once.
      throw new Error(`cannot start ${name}: ${command} ${args.join(' ')}`);
    }
    if (options.onStdout) {
      const log = fs.createWriteStream(logFile, { flags: 'a' });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        log.write(chunk);
        options.onStdout!(chunk);
      });
      child.stdout!.on('end', () => log.end());
    }
    let status: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        status = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
    });
    const entry: Entry = {
      name,
      pid: child.pid,
      logFile,
      child,
      exited,
      expectedExit: false,
      exitStatus: () => status,
      logTail: (lines = 20) => tail(logFile, lines),
    };
    void exited.then(() => {
      if (!entry.expectedExit && !this.stopping) this.unexpected?.(entry);
    });
    this.entries.push(entry);
    return entry;
  }

  /** Stops every process, newest first; resolves when all have exited. */
  async stopAll(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    for (const entry of [...this.entries].reverse()) await stopOne(entry, graceMs);
  }
}

async function stopOne(entry: Entry, graceMs: number): Promise<void> {
  entry.expectedExit = true;
  if (entry.exitStatus() !== undefined) return;
  signal(entry.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signal(entry.pid, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([entry.exited, killed]);
  clearTimeout(timer);
  await entry.exited;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
