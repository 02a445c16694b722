/**
 * `tether demo` (docker-compose.yml without Docker) with a real Envoy, and docs/demo.md's
 * walkthrough run against it: every block marked `test`, in order, in one bash session, each
 * command's output checked against the output the page shows (test/demo/doc-steps.ts). Then
 * a Ctrl-C (SIGINT) must stop every process the demo started.
 *
 * The demo gets free ports (replicas: one port free on all their 127.0.0.x addresses) and a
 * temp directory; the page's default ports, /tmp/ and .tether-demo/ are rewritten to those.
 * DEMO_STEP_TIMES=1 prints each step's duration (where the run's time goes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_PORTS, type DemoPorts } from '../../src/demo/topology';
import { envoyAvailable, rejectionsAt } from '../support/envoy';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { BashSession } from './bash-session';
import { docSteps, outputLines, outputMatches, type DocStep } from './doc-steps';
import { alive, CLI, freeDemoPorts, listeningAddresses, LocalDemo } from './local-demo';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'demo.md');

/** The page's defaults → this run's ports and directories. */
function localizer(ports: DemoPorts, tmp: string, stateDir: string): (text: string) => string {
  const byPort = new Map<string, number>();
  for (const key of Object.keys(COMPOSE_PORTS) as (keyof DemoPorts)[]) byPort.set(String(COMPOSE_PORTS[key]), ports[key]);
  const portPattern = new RegExp(`(?<=[:=])(${[...byPort.keys()].join('|')})\\b`, 'g');
  return (text) =>
    text
      .replace(portPattern, (p) => String(byPort.get(p)))
      .replaceAll('/tmp/', `${tmp}/`)
      .replaceAll('.tether-demo/', `${stateDir}/`);
}

describe.skipIf(!envoyAvailable())('tether demo (docker-compose.yml as local processes) and docs/demo.md', () => {
  let tmp: string;
  let demo: LocalDemo;
  let bash: BashSession | undefined;
  let localize: (text: string) => string;

  beforeAll(async () => {
    expect(fs.existsSync(CLI), `${CLI}: run npm run build first`).toBe(true);
    tmp = makeTempDir('demo');
    const ports = await freeDemoPorts();
    demo = new LocalDemo(ports, path.join(tmp, 'state'), ['--interval=2s']);
    localize = localizer(ports, tmp, demo.stateDir);
    await demo.waitForOutput('the ready line', (o) => (/^ready: /m.test(o) ? true : undefined), 120_000);
  }, 130_000);

  afterAll(async () => {
    await bash?.close();
    // Only if a test failed before the Ctrl-C test: nothing may outlive the suite.
    if (demo && !demo.exitStatus()) {
      await demo.interrupt('SIGINT').catch(() => undefined);
      demo.killAll();
    }
    removeTempDir(tmp);
  }, 40_000);

  it('starts the compose services as processes that listen on 127.0.0.x only, and shows live which replica each user reaches', async () => {
    const names = demo.processes().map((p) => p.name).sort();
    expect(names).toEqual(['candidate-1', 'envoy', 'load', 'replica-1', 'replica-2', 'replica-3', 'shadow-1', 'tether']);
    const listening = listeningAddresses(demo.processes().map((p) => p.pid));
    if (listening) {
      expect(listening.length).toBeGreaterThanOrEqual(15);
      for (const address of listening) expect(address, 'listens on loopback only').toMatch(/^127\.0\.0\.\d+:\d+$/);
      const { ports } = demo;
      for (const port of [ports.gateway, ports.envoyAdmin, ports.xds, ports.admin, ports.extProc, ports.metrics]) expect(listening).toContain(`127.0.0.1:${port}`);
      expect(listening).toContain(`127.0.0.101:${ports.replicaHttp}`);
      expect(listening).toContain(`127.0.0.121:${ports.replicaGrpc}`);
    }
    // The load client's report: a summary line, then each replica with the users it answered.
    const report = await demo.waitForOutput(
      'a load report',
      (o) => /^\[[\d:]+\] requests \d+ {2}errors 0 {2}v1 [\d.]+% .*\n((?: {2}replica-\d \(v1\): user-\d+(?: user-\d+)*\n)+)/m.exec(o)?.[1],
      30_000,
    );
    const users = report.match(/user-\d+/g)!;
    expect(new Set(users).size, 'each user listed once').toBe(users.length);
    expect(await rejectionsAt(demo.ports.envoyAdmin)).toEqual({});
  }, 60_000);

  it("runs docs/demo.md's test blocks against the demo, each with the output the page shows", async () => {
    const steps = docSteps(fs.readFileSync(DOC, 'utf8'));
    expect(steps.length).toBeGreaterThan(40);
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', TETHER_ADMIN_ADDR: `127.0.0.1:${demo.ports.admin}` };
    delete env.TETHER_ADMIN_TOKEN;
    bash = new BashSession(ROOT, env);
    for (const step of steps) await runStep(bash, step, localize);
    expect(await rejectionsAt(demo.ports.envoyAdmin)).toEqual({});
  }, 240_000);

  it('stops every process it started on Ctrl-C (SIGINT), by PID, and exits 0', async () => {
    const listed = demo.processes();
    expect(listed.length).toBe(8);
    const exit = await demo.interrupt('SIGINT');
    expect(exit, demo.logs().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(demo.logs()).toMatch(/^stopped: .*tether \(pid \d+\)/m);
    for (const p of listed) expect(alive(p.pid), `${p.name} (pid ${p.pid}) still runs`).toBe(false);
  }, 60_000);
});

async function runStep(bash: BashSession, step: DocStep, localize: (text: string) => string): Promise<void> {
  const command = localize(step.command);
  const expected = step.expected?.map(localize);
  const deadline = Date.now() + (step.eventually ? 30_000 : 0);
  for (;;) {
    const t0 = Date.now();
    const { output, status } = await bash.run(command, 60_000);
    if (process.env.DEMO_STEP_TIMES) console.log(`${Date.now() - t0} ms  docs/demo.md:${step.line}`);
    const lines = outputLines(output);
    const ok = status === 0 && (expected === undefined || outputMatches(expected, lines));
    if (ok) return;
    if (Date.now() >= deadline) {
      const want = expected === undefined ? '(exit status 0)' : expected.join('\n');
      throw new Error(`docs/demo.md:${step.line}: ${step.command}\nexit status ${status}\nexpected:\n${want}\ngot:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
