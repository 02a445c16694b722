import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { COMPOSE_PORTS, DEMO_LOAD, type DemoPorts } from '../../demo/topology';
import { portArg, positiveDurationArg, positiveIntArg } from '../args';

/** The load client reports every N whole seconds. */
function wholeSecondsArg(value: string): number {
  const ms = positiveDurationArg(value);
  if (ms % 1000 !== 0) throw new InvalidArgumentError('must be whole seconds (e.g. 5s)');
  return ms / 1000;
}

interface DemoFlags {
  stateDir: string;
  gatewayPort: number;
  envoyAdminPort: number;
  xdsPort: number;
  adminPort: number;
  extProcPort: number;
  metricsPort: number;
  replicaHttpPort: number;
  replicaGrpcPort: number;
  envoyLogLevel: string;
  load: boolean;
  rps: number;
  users: number;
  interval: number;
}

/**
 * `tether demo`: docker-compose.yml without Docker (src/demo). Runs until Ctrl-C (SIGINT),
 * SIGTERM or SIGHUP, then stops every process it started and exits 0; exits 1 when the start
 * fails or a process dies on its own.
 */
export function createDemoCommand(): Command {
  const port = (flag: string, what: string, value: number) => [`--${flag} <port>`, what, fixedPortArg, value] as const;
  return new Command('demo')
    .description("run docker-compose.yml's demo as local processes: Tether, an Envoy gateway, sample replicas and a load client (default ports: compose's)")
    .option('--state-dir <dir>', 'generated files, config history and logs (reset on every start)', '.tether-demo')
    .option(...port('gateway-port', "Envoy's listener", COMPOSE_PORTS.gateway))
    .option(...port('envoy-admin-port', "Envoy's admin", COMPOSE_PORTS.envoyAdmin))
    .option(...port('xds-port', "Tether's xDS", COMPOSE_PORTS.xds))
    .option(...port('admin-port', "Tether's admin API", COMPOSE_PORTS.admin))
    .option(...port('ext-proc-port', "Tether's ext_proc server", COMPOSE_PORTS.extProc))
    .option(...port('metrics-port', "Tether's /metrics", COMPOSE_PORTS.metrics))
    .option(...port('replica-http-port', "every replica's HTTP port, on its own 127.0.0.x", COMPOSE_PORTS.replicaHttp))
    .option(...port('replica-grpc-port', "every replica's gRPC port", COMPOSE_PORTS.replicaGrpc))
    .option('--envoy-log-level <level>', "Envoy's log level", 'info')
    .option('--no-load', 'do not start the load client')
    .option('--rps <n>', 'load client: requests per second', positiveIntArg, DEMO_LOAD.rps)
    .option('--users <n>', 'load client: users (x-user user-0 …)', positiveIntArg, DEMO_LOAD.users)
    .addOption(new Option('--interval <duration>', 'load client: time between report lines, whole seconds (e.g. 5s)').argParser(wholeSecondsArg).default(DEMO_LOAD.interval, `${DEMO_LOAD.interval}s`))
    .action(async (flags: DemoFlags) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { startDemo } = require('../../demo/run-demo') as typeof import('../../demo/run-demo');
      const { DemoStartError } = require('../../demo/readiness') as typeof import('../../demo/readiness');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const ports: DemoPorts = {
        gateway: flags.gatewayPort,
        envoyAdmin: flags.envoyAdminPort,
        xds: flags.xdsPort,
        admin: flags.adminPort,
        extProc: flags.extProcPort,
        metrics: flags.metricsPort,
        replicaHttp: flags.replicaHttpPort,
        replicaGrpc: flags.replicaGrpcPort,
      };
      const out = (text: string) => void process.stdout.write(text);
      // A signal during the start ends it: startDemo stops what it started and rejects.
      const interrupted = new AbortController();
      const early = (s: NodeJS.Signals) => interrupted.abort(s);
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      for (const s of signals) process.on(s, early);
      let demo: Awaited<ReturnType<typeof startDemo>>;
      try {
        demo = await startDemo({
          stateDir: path.resolve(flags.stateDir),
          ports,
          envoyLogLevel: flags.envoyLogLevel,
          load: flags.load ? { rps: flags.rps, users: flags.users, interval: flags.interval } : false,
          out,
          signal: interrupted.signal,
        });
      } catch (err) {
        if (interrupted.signal.aborted) {
          out(`\n${String(interrupted.signal.reason)} during the start: every process stopped\n`);
          process.exit(0);
        }
        process.stderr.write(`tether demo: ${err instanceof DemoStartError ? err.message : (err as Error).stack}\n`);
        process.exit(1);
      }
      for (const s of signals) process.off(s, early);
      let finishing = false;
      const finish = async (reason: string, code: number) => {
        if (finishing) return;
        finishing = true;
        out(`\n${reason}: stopping ${demo.processes.length} processes…\n`);
        // A second Ctrl-C while stopping: kill what is left at once.
        const force = () => {
          for (const p of demo.processes) if (p.exitStatus() === undefined) tryKill(p.pid);
        };
        for (const s of signals) process.on(s, force);
        await demo.stop();
        out(`stopped: ${demo.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}\n`);
        process.exit(code);
      };
      for (const s of signals) process.once(s, () => void finish(s, 0));
      void demo.failed.then((message) => {
        process.stderr.write(`tether demo: ${message}\n`);
        return finish('a process exited', 1);
      });
    });
}

/** A port the demo can name in its copies of the config and bootstrap: 0 (any port) cannot be. */
function fixedPortArg(value: string): number {
  const port = portArg(value);
  if (port === 0) throw new InvalidArgumentError('must be a port number (1-65535)');
  return port;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
