/**
 * The repository's Envoy bootstraps (envoy/sidecar.yaml, envoy/gateway.yaml) against a real
 * Envoy: `envoy --mode validate` accepts them, and each starts, connects to Tether over ADS,
 * applies what Tether serves (no update rejected, per Envoy's own /stats) and routes a request.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, findEnvoy, freePort, request, startEnvoy, testBootstrap, type EnvoyProcess } from '../support/envoy';

describe.skipIf(!envoyAvailable())('bootstraps on a real Envoy', () => {
  const h = new Harness();
  const envoys: EnvoyProcess[] = [];
  let port = 0;

  beforeAll(async () => {
    const [a, b] = [await h.replica('r1'), await h.replica('r2')];
    port = await freePort();
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [{ name: 'demo', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'default', backends: [{ name: 'demo-v1' }] }] }],
      backends: [{ name: 'demo-v1', endpoints: [`127.0.0.1:${a.httpPort}`, `127.0.0.1:${b.httpPort}`] }],
    });
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.close()));
    await h.close();
  });

  for (const kind of ['sidecar', 'gateway'] as const) {
    it(`${kind}.yaml passes envoy --mode validate`, () => {
      const dir = fs.mkdtempSync(path.join(h.dir, 'validate-'));
      const file = path.join(dir, 'bootstrap.yaml');
      fs.writeFileSync(file, stringify(testBootstrap({ xdsPort: h.tether.xdsPort, bootstrap: kind, nodeId: `validate-${kind}` })));
      const out = spawnSync(findEnvoy()!, ['--mode', 'validate', '-c', file, '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
      expect(out.status, out.stderr + out.stdout).toBe(0);
      expect(out.stdout + out.stderr).toContain('OK');
    });

    it(`${kind}.yaml connects, applies every resource and routes`, async () => {
      const envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, bootstrap: kind });
      envoys.push(envoy);
      await envoy.waitConnected();
      await envoy.waitForStat('listener_manager.lds.update_success');
      await envoy.waitForStat('http.http.rds.http.update_success');
      await envoy.waitListening(port);
      const reply = await request(port, { headers: { 'x-user': 'alice' } });
      expect(reply.status).toBe(200);
      expect(reply.json?.replica).toMatch(/^r[12]$/);
      await envoy.expectNoRejections();
      expect(await envoy.stat('cluster_manager.cds.update_rejected')).toBe(0);
    });
  }
});
