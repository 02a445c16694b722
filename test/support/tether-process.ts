/**
 * The built `tether serve` (dist/src/cli/main.js) as a child process on an etcd store, so tests
 * can kill -9 an instance. Each instance keeps its xDS port across restarts (bootstraps list
 * them); the admin port is ephemeral, read from the log line that announces it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TETHER_BIN = path.resolve(__dirname, '../../dist/src/cli/main.js');
export const PROCESS_TOKEN = 'etcd-process-token';

export interface TetherProcess {
  readonly name: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
  /** SIGKILL (by PID) and wait for the exit. */
  kill(): Promise<void>;
  /** The last lines it logged. */
  log(): string;
}

export interface TetherProcessOptions {
  name: string;
  store: string;
  xdsPort: number;
  configPath: string;
  dataDir: string;
  extraArgs?: string[];
}

export function startTetherProcess(options: TetherProcessOptions): Promise<TetherProcess> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      TETHER_BIN, 'serve',
      '--config', options.configPath, '--config-source', 'api',
      '--store', options.store, '--instance-name', options.name,
      '--data-dir', options.dataDir,
      '--xds-host', '127.0.0.1', '--xds-port', String(options.xdsPort),
      '--admin-port', '0', '--no-metrics', '--no-ext-proc',
      '--push-debounce', '0', '--node-status-ttl', '2s', '--etcd-timeout', '1s',
      '--log-level', 'info',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TETHER_ADMIN_TOKEN: PROCESS_TOKEN } },
  );
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tether ${options.name} did not start within 20 s:\n${log}`)), 20_000);
    let buf = '';
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: { msg?: string; port?: number };
        try {
          line = JSON.parse(text) as typeof line;
        } catch {
          continue;
        }
        if (line.msg === 'admin API listening') {
          clearTimeout(timer);
          resolve({
            name: options.name,
            xdsPort: options.xdsPort,
            adminPort: line.port!,
            child,
            log: () => log,
            async kill() {
              if (child.exitCode !== null || child.signalCode !== null) return;
              const exited = new Promise<void>((r) => child.once('exit', () => r()));
              child.kill('SIGKILL');
              await exited;
            },
          });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tether ${options.name} exited early (${code ?? signal}):\n${log}`));
    });
  });
}
