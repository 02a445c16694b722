/**
 * Live edits under load through a real Envoy (issue 12.12), shared by
 * test/envoy-real/live-edits.test.ts and bench/envoy-edits/bench.ts.
 *
 * Background loops send requests through Envoy without pause (keep-alive connections, random
 * users) while twenty admin API edits land one after another: split changes, promote,
 * rollback, endpoint add, drain and remove. Every reply that is not a 200 from a sample
 * replica, and every reset or time-out, is a failure; none is expected, since no replica stops.
 *
 * Each edit says how its effect shows through Envoy, so the time from the admin call to Envoy
 * serving the change is measured from requests (the reply's version or replica; for an
 * endpoint that already had no traffic, Envoy's /clusters). Replicas are placed by a ring hash
 * on x-user, so which users an endpoint edit moves is deterministic: probes see the change on
 * the first request after Envoy applied it.
 */
import { spawn } from 'node:child_process';
import type { AdminClient } from '../../src/cli/admin-client';
import { request, type EnvoyProcess, type HttpReply } from './envoy';

export interface ScenarioReplica {
  id: string;
  /** `127.0.0.1:<http port>`. */
  address: string;
}

export interface ScenarioSystem {
  admin: AdminClient;
  /** For `tether wait` (the built CLI). */
  adminAddress: string;
  token: string;
  envoy: EnvoyProcess;
  /** Envoy's listener port (127.0.0.1). */
  port: number;
  /** Two v1 replicas, one v2, and a spare v1 that edits add and remove. */
  replicas: { v1a: ScenarioReplica; v1b: ScenarioReplica; v1c: ScenarioReplica; v2a: ScenarioReplica };
}

export interface ScenarioOptions {
  /** Concurrent request loops (default 3). */
  loops?: number;
  /** Run `tether wait` (this CLI entry, e.g. dist/src/cli/main.js) after every n-th edit instead of probing (0: never). */
  waitEvery?: number;
  cliPath?: string;
  /** Pause between edits (default 150 ms: more than serve's default push debounce). */
  gapMs?: number;
  /** How long one edit may take to show (default 10 s). */
  visibleTimeoutMs?: number;
}

export interface EditOutcome {
  name: string;
  version: number;
  /** The admin call alone. */
  adminMs: number;
  /** From sending the admin call to the first request through Envoy showing the change (probed edits). */
  visibleMs?: number;
  /** How it was seen: 'request' or 'clusters' (Envoy's /clusters, for an endpoint with no traffic). */
  seenBy?: 'request' | 'clusters';
  /** `tether wait` edits: its exit code and duration. */
  wait?: { code: number | null; ms: number; stderr: string };
}

export interface ScenarioResult {
  edits: EditOutcome[];
  requests: number;
  failures: string[];
}

/** The config the scenario starts from: `app` 100 % on app-v1 (two replicas), app-v2 at 0. */
export function scenarioConfig(port: number, r: ScenarioSystem['replicas']): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: [
      {
        name: 'app',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ name: 'main', backends: [{ name: 'app-v1', weight: 100 }, { name: 'app-v2', weight: 0 }] }],
      },
    ],
    backends: [
      { name: 'app-v1', endpoints: [r.v1a.address, r.v1b.address] },
      { name: 'app-v2', endpoints: [r.v2a.address] },
    ],
  };
}

const PROBE_USERS = Array.from({ length: 40 }, (_, i) => `probe-${i}`);

async function get(port: number, user: string): Promise<HttpReply> {
  return request(port, { path: '/', headers: { 'x-user': user }, fresh: false, timeoutMs: 5_000 });
}

interface Edit {
  name: string;
  /** Learns what it needs before the edit (e.g. which users an endpoint has now). */
  before?: () => Promise<void>;
  run: () => Promise<{ version: string | number }>;
  /** One probe: true once Envoy serves the change (may need several to see it). */
  visible: () => Promise<boolean>;
  /** True iff Envoy serves the change now (default: one `visible` probe, when that decides alone). */
  confirm?: () => Promise<boolean>;
  seenBy: 'request' | 'clusters';
}

/** Hosts Envoy has for a cluster (`ip:port`), from /clusters. */
async function envoyHosts(envoy: EnvoyProcess, cluster: string): Promise<string[]> {
  const json = await envoy.clusters();
  const status = (json.cluster_statuses as { name: string; host_statuses?: { address: { socket_address: { address: string; port_value: number } } }[] }[]).find(
    (c) => c.name === cluster,
  );
  return (status?.host_statuses ?? []).map((h) => `${h.address.socket_address.address}:${h.address.socket_address.port_value}`);
}

function edits(sys: ScenarioSystem): Edit[] {
  const { admin, port, envoy, replicas: r } = sys;
  const opts = (description: string) => ({ dry_run: false, expected_version: '0', description });
  const split = (v1: number, v2: number) => () =>
    admin.call('SetSplit', { options: opts('scenario split'), service: 'app', route: 'main', weights: { 'app-v1': v1, 'app-v2': v2 } });
  const promote = () => admin.call('Promote', { options: opts('scenario promote'), service: 'app', backend: 'app-v2', route: '' });
  const rollback = () => admin.call('Rollback', { options: opts('scenario rollback'), to_version: '0' });
  const endpoint = (method: 'AddEndpoint' | 'RemoveEndpoint' | 'DrainEndpoint', replica: ScenarioReplica) => () =>
    admin.call(method, { options: opts(`scenario ${method}`), backend: 'app-v1', address: replica.address, weight: 0 });

  const version = (v: string): Pick<Edit, 'visible' | 'seenBy'> => ({
    visible: async () => (await get(port, 'probe-version')).json?.version === v,
    seenBy: 'request',
  });
  let cursor = 0;
  /** Some probe user reaches `replica` (it was added: the ring gives it a share of users). */
  const appears = (replica: ScenarioReplica): Pick<Edit, 'visible' | 'confirm' | 'seenBy'> => ({
    visible: async () => (await get(port, PROBE_USERS[cursor++ % PROBE_USERS.length]!)).json?.replica === replica.id,
    confirm: async () => (await Promise.all(PROBE_USERS.map((u) => get(port, u)))).some((reply) => reply.json?.replica === replica.id),
    seenBy: 'request',
  });
  /** The users `replica` had before the edit reach another replica. */
  const leaves = (replica: ScenarioReplica): Pick<Edit, 'before' | 'visible' | 'seenBy'> => {
    let users: string[] = [];
    return {
      before: async () => {
        const placed = await Promise.all(PROBE_USERS.map(async (u) => [u, (await get(port, u)).json?.replica] as const));
        users = placed.filter(([, id]) => id === replica.id).map(([u]) => u);
        if (users.length === 0) throw new Error(`no probe user is on ${replica.id} before the edit`);
      },
      visible: async () => {
        const reply = await get(port, users[cursor++ % users.length]!);
        return reply.status === 200 && reply.json?.replica !== replica.id;
      },
      seenBy: 'request',
    };
  };
  /** An endpoint that gets no traffic (drained) leaves Envoy's host set. */
  const goneFromEnvoy = (replica: ScenarioReplica): Pick<Edit, 'visible' | 'seenBy'> => ({
    visible: async () => !(await envoyHosts(envoy, 'app-v1')).includes(replica.address),
    seenBy: 'clusters',
  });

  return [
    { name: 'split v1 0 / v2 100', run: split(0, 100), ...version('v2') },
    { name: 'split v1 100 / v2 0', run: split(100, 0), ...version('v1') },
    { name: 'promote app-v2', run: promote, ...version('v2') },
    { name: 'rollback', run: rollback, ...version('v1') },
    { name: `add endpoint ${r.v1c.id}`, run: endpoint('AddEndpoint', r.v1c), ...appears(r.v1c) },
    { name: `drain endpoint ${r.v1c.id}`, run: endpoint('DrainEndpoint', r.v1c), ...leaves(r.v1c) },
    { name: `remove endpoint ${r.v1c.id} (drained)`, run: endpoint('RemoveEndpoint', r.v1c), ...goneFromEnvoy(r.v1c) },
    { name: `add endpoint ${r.v1c.id}`, run: endpoint('AddEndpoint', r.v1c), ...appears(r.v1c) },
    { name: `remove endpoint ${r.v1b.id} (serving)`, run: endpoint('RemoveEndpoint', r.v1b), ...leaves(r.v1b) },
    { name: `add endpoint ${r.v1b.id}`, run: endpoint('AddEndpoint', r.v1b), ...appears(r.v1b) },
    { name: 'split v1 0 / v2 100', run: split(0, 100), ...version('v2') },
    { name: 'rollback', run: rollback, ...version('v1') },
    { name: `drain endpoint ${r.v1a.id}`, run: endpoint('DrainEndpoint', r.v1a), ...leaves(r.v1a) },
    { name: `remove endpoint ${r.v1a.id} (drained)`, run: endpoint('RemoveEndpoint', r.v1a), ...goneFromEnvoy(r.v1a) },
    { name: `add endpoint ${r.v1a.id}`, run: endpoint('AddEndpoint', r.v1a), ...appears(r.v1a) },
    { name: 'split v1 0 / v2 100', run: split(0, 100), ...version('v2') },
    { name: 'split v1 100 / v2 0', run: split(100, 0), ...version('v1') },
    { name: 'promote app-v2', run: promote, ...version('v2') },
    { name: 'split v1 100 / v2 0', run: split(100, 0), ...version('v1') },
    { name: 'rollback', run: rollback, ...version('v2') },
  ];
}

/** Requests back to back on `loops` keep-alive connections until stopped; every failure kept. */
function backgroundTraffic(port: number, loops: number) {
  const failures: string[] = [];
  let requests = 0;
  let stopped = false;
  const loop = async (n: number) => {
    let i = 0;
    while (!stopped) {
      const user = `load-${n}-${i++ % 97}`;
      requests++;
      try {
        const reply = await get(port, user);
        if (reply.status !== 200 || !reply.json?.replica) failures.push(`${user}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
      } catch (err) {
        failures.push(`${user}: ${(err as Error).message}`);
      }
      // A broken path fails fast: do not spin, and give up after many.
      if (failures.length > 50) stopped = true;
    }
  };
  const done = Promise.all(Array.from({ length: loops }, (_, n) => loop(n)));
  return {
    async stop(): Promise<{ requests: number; failures: string[] }> {
      stopped = true;
      await done;
      return { requests, failures };
    },
  };
}

function runWait(cliPath: string, sys: ScenarioSystem, version: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = [cliPath, 'wait', '--server', sys.adminAddress, '--token', sys.token, '--version', String(version), '--node', sys.envoy.nodeId, '--timeout', '10s'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`not visible within ${timeoutMs} ms: ${what}${last ? ` (${String(last)})` : ''}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the twenty edits under background traffic; see the file comment. */
export async function runEditScenario(sys: ScenarioSystem, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const waitEvery = options.waitEvery ?? 0;
  if (waitEvery > 0 && !options.cliPath) throw new Error('waitEvery needs cliPath');
  const timeoutMs = options.visibleTimeoutMs ?? 10_000;
  const traffic = backgroundTraffic(sys.port, options.loops ?? 3);
  const outcomes: EditOutcome[] = [];
  let stopped: { requests: number; failures: string[] } | undefined;
  try {
    const list = edits(sys);
    for (const [i, edit] of list.entries()) {
      await sleep(options.gapMs ?? 150);
      await edit.before?.();
      const t0 = performance.now();
      const res = await edit.run();
      const adminMs = performance.now() - t0;
      const version = Number(res.version);
      const outcome: EditOutcome = { name: edit.name, version, adminMs };
      if (waitEvery > 0 && (i + 1) % waitEvery === 0) {
        const w0 = performance.now();
        const wait = await runWait(options.cliPath!, sys, version);
        outcome.wait = { ...wait, ms: performance.now() - w0 };
        // Converged means applied by Envoy: the very next probe must see the change.
        if (wait.code === 0 && !(await (edit.confirm ?? edit.visible)())) throw new Error(`${edit.name}: tether wait returned 0 for version ${version}, but Envoy does not serve it yet`);
      } else {
        await until(edit.name, edit.visible, timeoutMs);
        outcome.visibleMs = performance.now() - t0;
        outcome.seenBy = edit.seenBy;
      }
      outcomes.push(outcome);
    }
    stopped = await traffic.stop();
  } finally {
    // Also when an edit fails: the loops must not outlive the scenario.
    stopped ??= await traffic.stop();
  }
  return { edits: outcomes, ...stopped };
}

/** p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
