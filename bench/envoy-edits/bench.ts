/**
 * Edit → Envoy serving the change: `tether serve` (the built CLI, its own process, default
 * flags: push debounce 100 ms) and a real Envoy (envoy/sidecar.yaml), sample replicas in this
 * process. The scenario of test/support/live-edit-scenario.ts (twenty admin API edits under
 * background traffic through Envoy) runs `--rounds` times on fresh state; each edit is timed
 * from sending the admin call to the first request through Envoy that shows the change.
 *
 *   npm run build && node dist/bench/envoy-edits/bench.js [--rounds 3] [--loops 3] [--gap-ms 150]
 *
 * Needs Envoy (ENVOY_BIN, `envoy` on PATH, or `npm run envoy`). Not part of the test suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createAdminClient } from '../../src/cli/admin-client';
import { startReplica, type Replica } from '../../src/sample/replica';
import { envoyVersion, freePort, startEnvoy } from '../../test/support/envoy';
import { percentile, runEditScenario, scenarioConfig, type EditOutcome, type ScenarioReplica } from '../../test/support/live-edit-scenario';
import { makeTempDir, removeTempDir } from '../../test/support/temp-dir';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
const TOKEN = 'bench-admin-token';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** `tether serve` on ephemeral ports; resolves with them once both listen. */
async function startServe(dir: string, configFile: string): Promise<{ child: ChildProcess; xdsPort: number; adminPort: number }> {
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  const args = [CLI, 'serve', '--config', configFile, '--data-dir', path.join(dir, 'data'), '--xds-host', '127.0.0.1', '--xds-port', '0'];
  args.push('--admin-port', '0', '--admin-token-file', path.join(dir, 'token'), '--no-metrics', '--no-ext-proc', '--log-level', 'info');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ports = await new Promise<{ xdsPort: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tether serve did not start:\n${out}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`tether serve exited (${code}):\n${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const xds = /"xdsPort":(\d+)/.exec(out);
      const admin = /"port":(\d+)[^\n]*"msg":"admin API listening"/.exec(out);
      if (xds && admin) {
        clearTimeout(timer);
        // Keep draining its log so the pipe never fills.
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ xdsPort: Number(xds[1]), adminPort: Number(admin[1]) });
      }
    });
  });
  return { child, ...ports };
}

async function round(n: number, loops: number, gapMs: number): Promise<{ edits: EditOutcome[]; requests: number; failures: string[] }> {
  const dir = makeTempDir('bench-edits');
  const replicas: Replica[] = [];
  let serve: ChildProcess | undefined;
  let envoy: Awaited<ReturnType<typeof startEnvoy>> | undefined;
  try {
    const replica = async (id: string, version: string): Promise<ScenarioReplica> => {
      const r = await startReplica({ id, version, coldDelayMs: 0, host: '127.0.0.1' });
      replicas.push(r);
      return { id, address: `127.0.0.1:${r.httpPort}` };
    };
    const r = { v1a: await replica('v1-a', 'v1'), v1b: await replica('v1-b', 'v1'), v1c: await replica('v1-c', 'v1'), v2a: await replica('v2-a', 'v2') };
    const port = await freePort();
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(scenarioConfig(port, r), null, 2));
    const started = await startServe(dir, configFile);
    serve = started.child;
    envoy = await startEnvoy({ xdsPort: started.xdsPort, nodeId: `bench-envoy-${n}` });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    const adminAddress = `127.0.0.1:${started.adminPort}`;
    const admin = createAdminClient({ address: adminAddress, token: TOKEN });
    try {
      return await runEditScenario({ admin, adminAddress, token: TOKEN, envoy, port, replicas: r }, { loops, gapMs });
    } finally {
      admin.close();
    }
  } finally {
    await envoy?.close();
    if (serve && serve.exitCode === null) {
      const gone = new Promise((resolve) => serve!.once('exit', resolve));
      serve.kill('SIGTERM');
      await gone;
    }
    await Promise.all(replicas.map((x) => x.close()));
    removeTempDir(dir);
  }
}

async function main(): Promise<void> {
  const rounds = flag('rounds', 3);
  const loops = flag('loops', 3);
  const gapMs = flag('gap-ms', 150);
  console.log(`Envoy ${envoyVersion()}, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const all: EditOutcome[] = [];
  let requests = 0;
  const failures: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await round(i, loops, gapMs);
    all.push(...result.edits);
    requests += result.requests;
    failures.push(...result.failures);
    console.log(`round ${i + 1}: ${result.requests} requests, ${result.failures.length} failed`);
  }
  const row = (label: string, values: number[]) =>
    `| ${label} | ${values.length} | ${percentile(values, 50).toFixed(0)} ms | ${percentile(values, 95).toFixed(0)} ms | ${Math.max(...values).toFixed(0)} ms |`;
  const kinds: [string, (e: EditOutcome) => boolean][] = [
    ['split / promote / rollback', (e) => /^(split|promote|rollback)/.test(e.name)],
    ['endpoint add / drain / remove (seen in requests)', (e) => /endpoint/.test(e.name) && e.seenBy === 'request'],
    ['endpoint remove after drain (seen in /clusters)', (e) => e.seenBy === 'clusters'],
  ];
  console.log('\n| edits | n | p50 | p95 | max |\n| --- | ---: | ---: | ---: | ---: |');
  console.log(row('all', all.map((e) => e.visibleMs!)));
  for (const [label, pick] of kinds) console.log(row(label, all.filter(pick).map((e) => e.visibleMs!)));
  console.log(row('admin call alone (all)', all.map((e) => e.adminMs)));
  console.log(row('from the admin call returning to Envoy serving (all)', all.map((e) => Math.max(0, e.visibleMs! - e.adminMs))));
  console.log(`\n${requests} requests through Envoy during the edits, ${failures.length} failed${failures.length ? `:\n${failures.slice(0, 10).join('\n')}` : ''}`);
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
