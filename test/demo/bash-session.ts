import { spawn, type ChildProcess } from 'node:child_process';

/**
 * One bash process that runs commands in turn and returns each one's output (stdout and
 * stderr together) and exit status, so shell functions and variables persist between steps,
 * as in a terminal. It runs in a process group of its own: close() ends bash and any job a
 * step left in the background (the doc's replica-4) by that group's id.
 */
export class BashSession {
  private readonly child: ChildProcess;
  private buffer = '';
  private waiter: (() => void) | undefined;
  private exited = false;
  private counter = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const take = (d: Buffer) => {
      this.buffer += d.toString('utf8');
      this.waiter?.();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs `command`; rejects when it does not finish within `timeoutMs` or bash exits. */
  async run(command: string, timeoutMs: number): Promise<{ output: string; status: number }> {
    const marker = `__step_${process.pid}_${++this.counter}__`;
    this.buffer = '';
    // stdin from /dev/null: a step must never read the commands that follow it.
    this.child.stdin!.write(`{\n${command}\n} </dev/null\nprintf '\\n${marker} %d\\n' $?\n`);
    const pattern = new RegExp(`\\n${marker} (\\d+)\\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.buffer);
      if (m) return { output: this.buffer.slice(0, m.index), status: Number(m[1]) };
      if (this.exited) throw new Error(`bash exited while running: ${command}\n${this.buffer}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no end within ${timeoutMs} ms: ${command}\noutput so far:\n${this.buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Ends bash and every process of its group. */
  async close(): Promise<void> {
    const gone = this.exited ? Promise.resolve() : new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
    await gone;
  }
}
