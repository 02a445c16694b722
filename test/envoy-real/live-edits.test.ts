/**
 * Issue 12.12: twenty admin API edits (split changes, promote, rollback, endpoint add, drain,
 * remove) while requests flow through a real Envoy without pause: no request fails, each change
 * shows in requests through Envoy, and `tether wait` (the built CLI) returns 0 only once Envoy
 * serves the version it waited for. The scenario is test/support/live-edit-scenario.ts, which
 * bench/envoy-edits/bench.ts runs for the edit → Envoy latencies in bench/RESULTS.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { percentile, runEditScenario, scenarioConfig, type ScenarioSystem } from '../support/live-edit-scenario';
import { createAdminClient, type AdminClient } from '../../src/cli/admin-client';
import { cleanEnv, runCli } from '../cli/harness';

const BIN = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

describe.skipIf(!envoyAvailable() || !fs.existsSync(BIN))('live edits under load through a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let admin: AdminClient;
  let system: ScenarioSystem;

  beforeAll(async () => {
    const replica = async (id: string, version: string) => {
      const r = await h.replica(id, version, 0);
      return { id, address: `127.0.0.1:${r.httpPort}` };
    };
    const replicas = { v1a: await replica('v1-a', 'v1'), v1b: await replica('v1-b', 'v1'), v1c: await replica('v1-c', 'v1'), v2a: await replica('v2-a', 'v2') };
    const port = await freePort();
    await h.start(scenarioConfig(port, replicas), { watch: false });
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    const adminAddress = `127.0.0.1:${h.tether.adminPort}`;
    admin = createAdminClient({ address: adminAddress, token: ADMIN_TOKEN });
    system = { admin, adminAddress, token: ADMIN_TOKEN, envoy, port, replicas };
  });
  afterAll(async () => {
    admin?.close();
    await envoy?.close();
    await h.close();
  });

  it('20 edits: no failed request, every change served by Envoy, tether wait exits 0 once Envoy serves the version', async () => {
    const result = await runEditScenario(system, { loops: 3, waitEvery: 4, cliPath: BIN });
    expect(result.failures).toEqual([]);
    expect(result.edits).toHaveLength(20);
    expect(result.requests).toBeGreaterThan(200);
    // Every edit made a version (rollbacks included), in order.
    const versions = result.edits.map((e) => e.version);
    expect(versions).toEqual(versions.map((_, i) => versions[0]! + i));
    const waited = result.edits.filter((e) => e.wait);
    expect(waited).toHaveLength(5);
    for (const e of waited) expect(e.wait!.code, `${e.name}: ${e.wait!.stderr}`).toBe(0);
    const visible = result.edits.flatMap((e) => (e.visibleMs !== undefined ? [e.visibleMs] : []));
    expect(visible).toHaveLength(15);
    // After all of it, Envoy holds exactly what Tether serves (tether verify).
    const verify = await runCli(['verify', '--envoy-admin', `http://127.0.0.1:${envoy.adminPort}`], {
      env: cleanEnv({ TETHER_ADMIN_ADDR: system.adminAddress, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }),
      cwd: h.dir,
      timeoutMs: 20_000,
    });
    expect(verify.stdout, verify.stderr).toContain('in sync');
    expect(verify.code).toBe(0);
    console.log(
      `edit → Envoy serving it, ${visible.length} edits: p50 ${percentile(visible, 50).toFixed(0)} ms, p95 ${percentile(visible, 95).toFixed(0)} ms; ` +
        `${result.requests} requests, ${result.failures.length} failed`,
    );
    await envoy.expectNoRejections();
  });

  it('an Envoy on delta ADS follows edits that update a cluster (promote, rollback) as well', async () => {
    const delta = await startEnvoy({ xdsPort: h.tether.xdsPort, delta: true });
    try {
      await delta.waitConnected();
      await delta.waitListening(system.port);
      const opts = { dry_run: false, expected_version: '0', description: 'delta' };
      // Both Envoys listen on the port (SO_REUSEPORT): the delta one is checked through its /config_dump.
      await admin.call('SetSplit', { options: opts, service: 'app', route: 'main', weights: { 'app-v1': 100, 'app-v2': 0 } });
      await delta.until('the delta Envoy to route app to app-v1', async () => (await routeClusters(delta))[0] === 'app-v1');
      // Promote updates cluster app-v1 (no sticky route uses it any more: no ring hash).
      await admin.call('Promote', { options: opts, service: 'app', backend: 'app-v2', route: '' });
      await delta.until('the delta Envoy to route app to app-v2', async () => (await routeClusters(delta)).join() === 'app-v2');
      expect(await delta.stat('cluster_manager.warming_clusters')).toBe(0);
      await admin.call('Rollback', { options: opts, to_version: '0' });
      await delta.until('the delta Envoy to route app back', async () => (await routeClusters(delta))[0] === 'app-v1');
      expect(await delta.stat('cluster_manager.warming_clusters')).toBe(0);
      await delta.expectNoRejections();
    } finally {
      await delta.close();
    }
  });
});

/** The clusters of the `app` route as an Envoy has them (config_dump). */
async function routeClusters(envoy: EnvoyProcess): Promise<string[]> {
  const dump = await envoy.configDump();
  const routes = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump');
  const action = routes?.dynamic_route_configs?.[0]?.route_config?.virtual_hosts?.[0]?.routes?.[0]?.route;
  if (!action) return [];
  return action.cluster ? [action.cluster] : (action.weighted_clusters?.clusters ?? []).map((c: { name: string }) => c.name);
}
