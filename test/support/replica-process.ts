/**
 * A sample replica (src/sample) as its own process, so a test can do to it what happens to
 * real replicas: hang it (SIGSTOP: the kernel still accepts connections, nothing answers),
 * resume it (SIGCONT), kill it (SIGKILL) and start it again on the same ports. Runs the built
 * CLI (`dist/src/cli/main.js sample`); the caller closes it (by PID) in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from '../cli/harness';
import { freePort, request } from './envoy';
import { waitFor } from './harness';

export class ReplicaProcess {
  private child: ChildProcess | undefined;

  private constructor(
    readonly id: string,
    readonly httpPort: number,
    readonly grpcPort: number,
    private readonly coldDelayMs: number,
  ) {}

  /** Starts a replica on free ports and waits until it answers /healthz. */
  static async start(id: string, coldDelayMs = 0): Promise<ReplicaProcess> {
    const r = new ReplicaProcess(id, await freePort(), await freePort(), coldDelayMs);
    await r.spawn();
    return r;
  }

  get address(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async spawn(): Promise<void> {
    const args = [BIN, 'sample', '--id', this.id, '--http-port', String(this.httpPort), '--grpc-port', String(this.grpcPort), '--cold-delay', `${this.coldDelayMs}ms`, '--log-level', 'warn'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.child = child;
    await waitFor(`replica ${this.id} up${stderr ? `: ${stderr}` : ''}`, async () => (await request(this.httpPort, { path: '/healthz', timeoutMs: 1000 })).status === 200, 15_000, 50);
  }

  /** Hangs it: connections are still accepted by the kernel, no request is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL, and waits until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await gone;
  }

  /** Starts it again, same id and ports (after kill). */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async close(): Promise<void> {
    await this.kill();
  }
}
