/**
 * A real NACK, end to end. A route regex with a counted repetition over RE2's limit
 * (`a{1001}`) used to pass Tether's validation (JavaScript accepts it) and Envoy rejected the
 * route configuration with "invalid repetition size: {1001}". Validation now refuses it, so
 * the test forces it through: the Envoy snapshot of one config version is replaced, at the
 * snapshot cache, by the same resources with that regex, built here from the validated model
 * (no test-only path in Tether). Then, per Envoy's admin endpoint and Tether's own surfaces:
 * Tether's status shows the NACK with Envoy's error_detail, `tether wait` exits 1, the NACK
 * metric counts it once, nothing is re-pushed, Envoy keeps the last good routes and keeps
 * serving; the next good version is applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/cache/snapshot';
import { buildSnapshot } from '../../src/cache/snapshot';
import type { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigText } from '../../src/config';
import { ROUTE_TYPE } from '../../src/envoy/resource-types';
import { staticEndpoints, translate } from '../../src/translate';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { cleanEnv, hasBuild, runCli } from '../cli/harness';

const BAD_REGEX = '/api/a{1001}';
const ENVOY_ERROR = 'invalid repetition size: {1001}';

/** Serves `bad` to Envoy nodes in place of the snapshot of config version `version`. */
function substitute(cache: SnapshotCache, version: string, bad: Snapshot): void {
  const set = cache.set.bind(cache);
  cache.set = (kind, snapshot) => set(kind, kind === 'envoy' && snapshot.configVersion === version ? bad : snapshot);
}

/** A counter's value from Tether's Prometheus registry (0 when absent). */
async function counter(h: Harness, name: string, labels: string): Promise<number> {
  const text = await h.tether.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe.skipIf(!envoyAvailable() || !hasBuild)('a configuration Envoy rejects (NACK)', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let port = 0;
  const configWith = (regex: string) => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: [
      {
        name: 'demo',
        routes: [
          { name: 'api', match: { regex }, backends: [{ name: 'api' }] },
          { name: 'default', backends: [{ name: 'web' }] },
        ],
      },
    ],
    backends: [
      { name: 'api', endpoints: [`127.0.0.1:${h.replicas[0]!.httpPort}`] },
      { name: 'web', endpoints: [`127.0.0.1:${h.replicas[1]!.httpPort}`] },
    ],
  });
  const tether = (args: string[]) =>
    runCli([...args], {
      cwd: h.dir,
      env: cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }),
      timeoutMs: 20_000,
    });

  beforeAll(async () => {
    await h.replica('api-1');
    await h.replica('web-1');
    port = await freePort();
    await h.start(configWith('/api/[a-z]+'));
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    expect(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 10_000 })).toBe(true);
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it('validation refuses the regex, naming the field, and nothing changes', async () => {
    const before = h.tether.current().version;
    const result = await h.tether.applyText(JSON.stringify(configWith(BAD_REGEX)), 'edit');
    expect(result).toEqual({
      ok: false,
      errors: [{ path: 'services[0].routes[0].match.regex', message: 'invalid regex (RE2): invalid repetition size: {1001}' }],
    });
    expect(h.tether.current().version).toBe(before);
  });

  it('forced past validation: Envoy NACKs, Tether reports it once and re-pushes nothing, Envoy keeps serving the last good routes', async () => {
    const goodRds = (await envoy.stat('http.http.rds.http.version'))!;
    expect((await request(port, { path: '/api/abc' })).json?.replica).toBe('api-1');
    const nacksBefore = await counter(h, 'tether_xds_nacks_total', 'kind="envoy",type="route"');

    // Version N+1 is a valid edit whose Envoy snapshot is swapped for the same resources with
    // the regex validation now refuses (what Tether used to send for it).
    const next = String(Number(h.tether.current().version) + 1);
    const parsed = parseConfigText(JSON.stringify(configWith('/api/v[0-9]+')));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const model = structuredClone(parsed.config);
    model.services[0]!.routes[0]!.match.path = { regex: BAD_REGEX };
    substitute(h.tether.cache, next, buildSnapshot(translate(model, staticEndpoints(model), 'envoy'), 'envoy', next));
    const applied = await h.tether.applyText(JSON.stringify(configWith('/api/v[0-9]+')), 'edit');
    expect(applied).toMatchObject({ ok: true, version: next });

    // Envoy's own view: one rejected RDS update, and the route config it holds is the old one.
    await envoy.waitForStat('http.http.rds.http.update_rejected', 1);
    await expect(envoy.expectNoRejections()).rejects.toThrow(/"http\.http\.rds\.http\.update_rejected":1/);
    expect(await envoy.stat('http.http.rds.http.version')).toBe(goodRds);
    const routes = (await envoy.configDump()).configs.find((c) => String(c['@type']).endsWith('.RoutesConfigDump'))!;
    expect(JSON.stringify(routes.dynamic_route_configs)).toContain('/api/[a-z]+');
    expect(JSON.stringify(routes.dynamic_route_configs)).not.toContain('a{1001}');
    expect((await envoy.rejections())).toEqual({ 'http.http.rds.http.update_rejected': 1 });

    // Tether's status shows the NACK with Envoy's error_detail.
    const status = await tether(['status', '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const nodes = JSON.parse(status.stdout).nodes as Array<{ node_id: string; types: Array<{ type: string; last_nack?: { error: string } }> }>;
    const node = nodes.find((n) => n.node_id === envoy.nodeId)!;
    expect(node.types.find((t) => t.type === 'RDS')?.last_nack?.error).toContain(ENVOY_ERROR);
    expect(h.tether.registry.list()[0]!.types[ROUTE_TYPE]?.lastNack?.message).toContain(ENVOY_ERROR);

    // `tether wait` fails with the node and the error.
    const wait = await tether(['wait', '--timeout', '10s']);
    expect(wait.code, wait.stderr).toBe(1);
    expect(wait.stderr).toContain(`version ${next} was rejected`);
    expect(wait.stderr).toContain(ENVOY_ERROR);

    // Counted once, and not re-pushed: over a quiet second neither Tether's push counter nor
    // Envoy's RDS attempts move.
    expect(await counter(h, 'tether_xds_nacks_total', 'kind="envoy",type="route"')).toBe(nacksBefore + 1);
    const pushes = await counter(h, 'tether_xds_pushes_total', 'kind="envoy",type="route"');
    const attempts = await envoy.stat('http.http.rds.http.update_attempt');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await counter(h, 'tether_xds_pushes_total', 'kind="envoy",type="route"')).toBe(pushes);
    expect(await envoy.stat('http.http.rds.http.update_attempt')).toBe(attempts);
    expect(await envoy.stat('http.http.rds.http.update_rejected')).toBe(1);

    // Envoy still routes with the last good configuration.
    expect((await request(port, { path: '/api/abc' })).json?.replica).toBe('api-1');
    expect((await request(port, { path: '/other' })).json?.replica).toBe('web-1');
  });

  it('the next good version is applied and `tether wait` exits 0', async () => {
    const applied = await h.tether.applyText(JSON.stringify(configWith('/api/v[0-9]+/.*')), 'fix');
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
    const wait = await tether(['wait', '--timeout', '10s']);
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stdout).toContain(`version ${applied.version} applied by 1 node`);
    expect((await request(port, { path: '/api/v2/x' })).json?.replica).toBe('api-1');
    expect((await request(port, { path: '/api/abc' })).json?.replica).toBe('web-1');
    // The one rejection of the forced version, and no other.
    expect(await envoy.rejections()).toEqual({ 'http.http.rds.http.update_rejected': 1 });
  });
});
