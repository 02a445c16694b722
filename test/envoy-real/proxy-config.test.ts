/**
 * `tether proxy-config <node> -o json` (the built binary) against a real Envoy's own
 * /config_dump: for every type, what the CLI prints for that node is what the Envoy holds, by
 * the comparison `tether verify` uses (both through the real protos, Envoy's endpoint defaults
 * normalised). The node is found by the id in its bootstrap, connected over ADS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfigDump } from '../../src/envoy/config-dump';
import type { ResourceTypeName } from '../../src/envoy/resource-types';
import { diffProxy, type ServedResourceJson } from '../../src/cli/proxy-diff';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { cleanEnv, hasBuild, runCli } from '../cli/harness';

const TYPES: Record<string, ResourceTypeName> = { listeners: 'LDS', routes: 'RDS', clusters: 'CDS', endpoints: 'EDS' };

describe.skipIf(!envoyAvailable() || !hasBuild)('tether proxy-config against a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;

  beforeAll(async () => {
    const [a, b, c] = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3', 'v2')];
    port = await freePort();
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [
        {
          name: 'shop',
          affinity: { keys: [{ header: 'x-user' }, { cookie: { name: 'sid', ttl: '1h' } }] },
          routes: [{ name: 'main', backends: [{ name: 'shop-v1', weight: 90 }, { name: 'shop-v2', weight: 10 }] }],
        },
      ],
      backends: [
        { name: 'shop-v1', endpoints: [`127.0.0.1:${a.httpPort}`, { address: `127.0.0.1:${b.httpPort}`, weight: 2 }], balancer: { type: 'ring_hash' } },
        { name: 'shop-v2', endpoints: [{ address: `127.0.0.1:${c.httpPort}`, drain: true }, `127.0.0.1:${a.httpPort}`], balancer: { type: 'maglev' } },
      ],
    });
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitForStat('http.http.rds.http.update_success');
    await envoy.waitListening(port);
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it('prints, for the Envoy by its node id, exactly what that Envoy holds', async () => {
    expect((await request(port, { headers: { 'x-user': 'alice' } })).status).toBe(200);
    const env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    const r = await runCli(['proxy-config', envoy.nodeId, 'all', '-o', 'json'], { env, cwd: h.dir, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, Record<string, unknown>[]>;
    const served: ServedResourceJson[] = Object.entries(printed).flatMap(([key, list]) =>
      list.map((json) => ({ type: TYPES[key]!, name: String(json.name ?? json.cluster_name), json })),
    );
    expect(served.filter((s) => s.type === 'CDS').map((s) => s.name).sort()).toEqual(['shop-v1', 'shop-v2']);
    expect(served.filter((s) => s.type === 'EDS')).toHaveLength(2);
    const dump = readConfigDump(await envoy.configDump());
    expect(dump.node?.id).toBe(envoy.nodeId);
    expect(diffProxy(served, dump.resources)).toEqual([]);
    // One type at a time prints that type's list.
    const one = await runCli(['proxy-config', envoy.nodeId, 'clusters', '-o', 'json'], { env, cwd: h.dir, timeoutMs: 20_000 });
    expect(JSON.parse(one.stdout)).toEqual(printed.clusters);
    await envoy.expectNoRejections();
  });
});
