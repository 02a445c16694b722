/**
 * For the end-to-end CLI tests: runs the built `tether` binary as a child process, and plays
 * an xDS node that ACKs, NACKs or ignores what Tether pushes.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import type { SnapshotCache } from '../../src/cache/snapshot-cache';
import type { NodeKind } from '../../src/model/node-targets';
import { AdsClient, type ReceivedResponse } from '../support/ads-client';
import { startAdminTether, type AdminTether } from '../support/admin-tether';
import { ADMIN_TOKEN } from '../support/harness';
import { afterAll, beforeAll } from 'vitest';

export const BIN = path.resolve(__dirname, '../../dist/src/cli/main.js');
export const hasBuild = fs.existsSync(BIN);

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child without any admin settings of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TETHER_')) delete env[key];
  return { ...env, ...extra };
}

/**
 * Runs `tether args...` and collects its output. Asynchronous on purpose: the server under
 * test runs in this process, so a blocking spawnSync would stop it from answering.
 */
export function runCli(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tether ${args.join(' ')} did not finish within ${options.timeoutMs ?? 8000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 8000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A real Tether with its admin API for one describe block, and the built CLI pointed at it. */
export interface CliOnTether {
  /** The Tether (from beforeAll on). */
  readonly server: AdminTether;
  /** The CLI's environment: the admin address and token, none of the machine's TETHER_ settings. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs `tether args...` against it, in its directory. */
  tether(args: readonly string[]): Promise<RunResult>;
}

/** Starts the Tether in beforeAll and stops it in afterAll of the calling describe block. */
export function cliOnTether(config: string, options: { timeoutMs?: number } = {}): CliOnTether {
  let server: AdminTether | undefined;
  let env: NodeJS.ProcessEnv = {};
  beforeAll(async () => {
    server = await startAdminTether(config);
    env = cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });
  const target: CliOnTether = {
    get server() {
      if (!server) throw new Error('the Tether is not started yet (cliOnTether starts it in beforeAll)');
      return server;
    },
    get env() {
      return env;
    },
    tether: (args) => runCli(args, { env, cwd: target.server.dir, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }),
  };
  return target;
}

/** A `tether serve` (or other long-running command) child and its JSON log lines so far. */
export interface ServeChild {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Every line logged so far (pino JSON), appended as they come. */
  readonly lines: Record<string, unknown>[];
  /** The first line whose `msg` was the one waited for. */
  readonly line: Record<string, unknown>;
  /** Resolves with the exit code once the child exits. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `tether args...` and resolves once it logs a line whose `msg` is `until`; rejects (and
 * kills the child) if it exits first or does not log it within `timeoutMs`.
 */
export function startServe(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; until: string; timeoutMs: number }): Promise<ServeChild> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.env ? { env: options.env } : {}) });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines: Record<string, unknown>[] = [];
  return new Promise<ServeChild>((resolve, reject) => {
    const fail = (err: Error) => {
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no "${options.until}" log within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
        const last = lines.at(-1)!;
        if (last.msg === options.until) {
          clearTimeout(timer);
          resolve({ child, lines, line: last, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`exited early with ${code}`));
    });
  });
}

export type NodeMode = 'ack' | 'nack' | 'ignore';

/**
 * A raw ADS node that subscribes to every resource of its kind's snapshot (wildcard CDS and
 * LDS; EDS and RDS by the snapshot's names, which is what a real client ends up asking for)
 * and answers every push as `mode` says: ACK, NACK with `nackMessage`, or nothing.
 */
export class TestNode {
  nackMessage = 'test node: rejected on purpose';
  private mode: NodeMode = 'ack';
  /** The latest unanswered push per type while ignoring (answered on the next setMode). */
  private readonly held = new Map<string, ReceivedResponse>();
  private readonly client: AdsClient;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    xdsAddress: string,
    readonly id: string,
    private readonly cache: SnapshotCache,
    private readonly kind: NodeKind = 'envoy',
  ) {
    this.client = new AdsClient(xdsAddress, {
      // The user agent decides the node's kind (src/xds/node-kind.ts).
      node: { id, cluster: 'cli-test', user_agent_name: kind === 'envoy' ? 'envoy' : 'gRPC Node' },
    });
    this.client.send(CLUSTER_TYPE, []);
    this.client.send(ENDPOINT_TYPE, this.names(ENDPOINT_TYPE));
    this.client.send(LISTENER_TYPE, []);
    this.client.send(ROUTE_TYPE, this.names(ROUTE_TYPE));
    this.loop = this.run();
  }

  private names(typeUrl: string): string[] {
    if (typeUrl === CLUSTER_TYPE || typeUrl === LISTENER_TYPE) return [];
    const set = this.cache.get(this.kind)?.sets[typeUrl as typeof ENDPOINT_TYPE];
    return set ? [...set.resources.keys()] : [];
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let response: ReceivedResponse;
      try {
        response = await this.client.next(200);
      } catch (err) {
        if (/ended/.test((err as Error).message)) return;
        continue;
      }
      this.answer(response);
    }
  }

  /** From now on answer pushes this way; pushes held while ignoring are answered now. */
  setMode(mode: NodeMode): void {
    this.mode = mode;
    if (mode === 'ignore') return;
    const held = [...this.held.values()];
    this.held.clear();
    for (const response of held) this.answer(response);
  }

  private answer(response: ReceivedResponse): void {
    if (this.mode === 'ack') this.client.ack(response, this.names(response.type_url));
    else if (this.mode === 'nack') this.client.nack(response, this.nackMessage);
    else this.held.set(response.type_url, response);
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.close();
  }
}
