import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchConfigFile } from '../server/config-file-watcher';
import { silentLogger } from '../log';
import { ENVOY_HOWTO, envoyVersion, findEnvoy } from '../util/envoy-binary';
import { findPackageRoot } from '../util/package-root';
import { localBootstrapText, localConfigText } from './local-copies';
import { ProcessGroup, type DemoProcess } from './processes';
import { assertBindable, DemoStartError, httpGet, tcpOpen, waitUntil } from './readiness';
import {
  DEMO_ADMIN_TOKEN,
  DEMO_FILES,
  DEMO_LOAD,
  DEMO_REPLICAS,
  DEMO_TETHER_ARGS,
  demoHosts,
  hostsFileText,
  LOOPBACK,
  portMap,
  replicaAddress,
  type DemoPorts,
} from './topology';

export interface DemoOptions {
  /** Where the demo keeps its generated files, Tether's history and the logs (reset on start). */
  stateDir: string;
  ports: DemoPorts;
  /** Default: ENVOY_BIN, `envoy` on PATH, .tools/envoy-bin. */
  envoyBin?: string;
  /** Envoy's --log-level (compose: info). */
  envoyLogLevel?: string;
  /** The load client's settings; false: no load client. */
  load?: { rps: number; users: number; interval: number } | false;
  /** The demo's own output: the start-up table, the load client's lines. */
  out: (text: string) => void;
  /** Per start-up stage. Default 60 s. */
  startTimeoutMs?: number;
  /** Aborting it during the start stops what was started and rejects. */
  signal?: AbortSignal;
}

export interface RunningDemo {
  readonly processes: readonly DemoProcess[];
  /** Stops every process (by PID, newest first); idempotent. */
  stop(): Promise<void>;
  /** Resolves with a description when a process exits on its own. */
  readonly failed: Promise<string>;
}

/** The files the demo writes into its state directory. */
export function demoPaths(stateDir: string) {
  return {
    hosts: path.join(stateDir, 'hosts'),
    config: path.join(stateDir, path.basename(DEMO_FILES.config)),
    bootstrap: path.join(stateDir, path.basename(DEMO_FILES.bootstrap)),
    data: path.join(stateDir, 'data'),
    logs: path.join(stateDir, 'logs'),
  };
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Every address the demo binds, with the flag that moves it. */
function bindings(ports: DemoPorts): Array<[string, number, string]> {
  const list: Array<[string, number, string]> = [
    [LOOPBACK, ports.gateway, '--gateway-port'],
    [LOOPBACK, ports.envoyAdmin, '--envoy-admin-port'],
    [LOOPBACK, ports.xds, '--xds-port'],
    [LOOPBACK, ports.admin, '--admin-port'],
    [LOOPBACK, ports.extProc, '--ext-proc-port'],
    [LOOPBACK, ports.metrics, '--metrics-port'],
  ];
  for (const r of DEMO_REPLICAS) {
    list.push([replicaAddress(r), ports.replicaHttp, '--replica-http-port'], [replicaAddress(r), ports.replicaGrpc, '--replica-grpc-port']);
  }
  return list;
}

/** Starts docker-compose.yml's topology as local processes and resolves once traffic flows through Envoy. */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const root = findPackageRoot();
  const cli = path.join(__dirname, '..', 'cli', 'main.js');
  if (!fs.existsSync(cli)) throw new DemoStartError(`${cli} not found: build first (npm run build)`);
  const envoyBin = options.envoyBin ?? findEnvoy();
  if (!envoyBin) throw new DemoStartError(ENVOY_HOWTO);
  const { ports, out } = options;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const seen = new Map<string, string>();
  for (const [host, port, flag] of bindings(ports)) {
    const other = seen.get(`${host}:${port}`);
    if (other && other !== flag) throw new DemoStartError(`${other} and ${flag} both give port ${port} on ${host}`);
    seen.set(`${host}:${port}`, flag);
  }
  for (const [host, port, flag] of bindings(ports)) await assertBindable(host, port, flag);

  const files = demoPaths(options.stateDir);
  fs.mkdirSync(options.stateDir, { recursive: true });
  // A fresh history each start, like `docker compose down` then `up`.
  for (const dir of [files.data, files.logs]) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(files.logs);
  const hosts = demoHosts();
  const map = portMap(ports);
  const sourceConfig = path.join(root, DEMO_FILES.config);
  const sourceText = fs.readFileSync(sourceConfig, 'utf8');
  fs.writeFileSync(files.hosts, hostsFileText(hosts));
  fs.writeFileSync(files.config, localConfigText(sourceText, map));
  fs.writeFileSync(files.bootstrap, localBootstrapText(fs.readFileSync(path.join(root, DEMO_FILES.bootstrap), 'utf8'), hosts, map));

  const group = new ProcessGroup();
  let reportFailure: (message: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (reportFailure = resolve));
  let failure: string | undefined;
  group.onUnexpectedExit((p) => {
    failure = `${p.name} (pid ${p.pid}) exited (${p.exitStatus()}); the end of ${p.logFile}:\n${p.logTail()}`;
    reportFailure(failure);
  });
  const abort = () => failure ?? (options.signal?.aborted ? 'interrupted' : undefined);
  const log = (name: string) => path.join(files.logs, `${name}.log`);
  const node = process.execPath;
  // The demo's token, unless the caller chose one (as `${TETHER_ADMIN_TOKEN:-…}` in compose).
  const env = { ...process.env, TETHER_ADMIN_TOKEN: process.env.TETHER_ADMIN_TOKEN || DEMO_ADMIN_TOKEN };
  let watcher: { close(): void } | undefined;
  const stop = once(async () => {
    watcher?.close();
    await group.stopAll();
  });

  try {
    const replicas = DEMO_REPLICAS.map((r) => {
      const args = [cli, 'sample', `--id=${r.name}`, `--version=${r.version}`, `--host=${replicaAddress(r)}`, `--http-port=${ports.replicaHttp}`, `--grpc-port=${ports.replicaGrpc}`, ...r.extraArgs];
      return { r, p: group.start(r.name, node, args, log(r.name), { env, cwd: root }) };
    });
    await Promise.all(
      replicas.map(({ r }) =>
        waitUntil(`${r.name} on ${replicaAddress(r)}:${ports.replicaHttp}`, async () => (await httpGet(`http://${replicaAddress(r)}:${ports.replicaHttp}/healthz`)).status === 200, { timeoutMs, abort }),
      ),
    );

    const tetherArgs = [
      cli, 'serve', `--config=${files.config}`, `--data-dir=${files.data}`, `--hosts-file=${files.hosts}`, ...DEMO_TETHER_ARGS,
      `--xds-host=${LOOPBACK}`, `--xds-port=${ports.xds}`,
      `--admin-host=${LOOPBACK}`, `--admin-port=${ports.admin}`,
      `--ext-proc-host=${LOOPBACK}`, `--ext-proc-port=${ports.extProc}`,
      `--metrics-host=${LOOPBACK}`, `--metrics-port=${ports.metrics}`,
    ];
    const tether = group.start('tether', node, tetherArgs, log('tether'), { env, cwd: root });
    for (const [what, port] of [['xDS', ports.xds], ['admin', ports.admin], ['ext_proc', ports.extProc]] as const) {
      await waitUntil(`tether ${what} on ${LOOPBACK}:${port}`, () => tcpOpen(LOOPBACK, port), { timeoutMs, abort });
    }

    const envoyArgs = ['-c', files.bootstrap, '--log-level', options.envoyLogLevel ?? 'info', '--disable-hot-restart'];
    const envoy = group.start('envoy', envoyBin, envoyArgs, log('envoy'), { env, cwd: root });
    await waitUntil(`envoy admin on ${LOOPBACK}:${ports.envoyAdmin}`, async () => (await httpGet(`http://${LOOPBACK}:${ports.envoyAdmin}/ready`)).status === 200, { timeoutMs, abort });
    const gateway = `http://${LOOPBACK}:${ports.gateway}/`;
    // Ready when a request through Envoy reaches a replica: listener, route, cluster and endpoints applied.
    await waitUntil(`a request through envoy on ${gateway}`, async () => {
      const answer = await httpGet(gateway, { 'x-user': 'tether-demo-start' });
      return answer.status === 200 && typeof answer.headers['x-replica'] === 'string';
    }, { timeoutMs, abort });

    watcher = watchConfigFile(sourceConfig, {
      initialText: sourceText,
      logger: silentLogger(),
      onChange: (text) => writeAtomically(files.config, localConfigText(text, map)),
    });

    const rows: string[] = [
      `  ${pad('tether')} pid ${pad(String(tether.pid), 8)} xDS ${LOOPBACK}:${ports.xds} · admin ${LOOPBACK}:${ports.admin} · ext_proc ${LOOPBACK}:${ports.extProc} · metrics http://${LOOPBACK}:${ports.metrics}/metrics`,
      ...replicas.map(({ r, p }) => `  ${pad(r.name)} pid ${pad(String(p.pid), 8)} http://${replicaAddress(r)}:${ports.replicaHttp} (${r.backend}, ${r.version})`),
      `  ${pad('envoy')} pid ${pad(String(envoy.pid), 8)} gateway ${gateway} · admin http://${LOOPBACK}:${ports.envoyAdmin} (Envoy ${envoyVersion(envoyBin)})`,
    ];
    const load = options.load === undefined ? DEMO_LOAD : options.load;
    if (load) {
      const args = [path.join(root, DEMO_FILES.loadClient), `--target=${gateway}`, `--rps=${load.rps}`, `--users=${load.users}`, `--interval=${load.interval}`];
      const p = group.start('load', node, args, log('load'), { env, cwd: root, onStdout: out });
      rows.push(`  ${pad('load')} pid ${pad(String(p.pid), 8)} ${load.users} users, ${load.rps} requests/s through Envoy; a line every ${load.interval} s`);
    }
    out(
      [
        `tether demo: docker-compose.yml's services as local processes (state and logs in ${options.stateDir})`,
        ...rows,
        `ready: curl -H 'x-user: alice' ${gateway}   (admin token: ${env.TETHER_ADMIN_TOKEN === DEMO_ADMIN_TOKEN ? DEMO_ADMIN_TOKEN : 'from TETHER_ADMIN_TOKEN'}; walkthrough: docs/demo.md; Ctrl-C stops everything)`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { processes: group.processes(), stop, failed };
}

function pad(text: string, width = 12): string {
  return text.padEnd(width);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
