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
    console.log(
      `edit → Envoy serving it, ${visible.length} edits: p50 ${percentile(visible, 50).toFixed(0)} ms, p95 ${percentile(visible, 95).toFixed(0)} ms; ` +
        `${result.requests} requests, ${result.failures.length} failed`,
    );
    await envoy.expectNoRejections();
  });
});
