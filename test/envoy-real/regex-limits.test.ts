/**
 * Route regexes against a real Envoy: the RE2 program size Tether computes is the one Envoy
 * reports, and Tether's limit sits exactly where Envoy's default one does. `/x/a{93}` compiles
 * to 100 instructions: Envoy takes it (and routes by it); an Envoy whose error level is 99
 * rejects the same route configuration (RDS update_rejected), and Tether refuses `/x/a{94}`
 * (101) before any Envoy sees it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyProgramSize } from '../../src/regex';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, staticBootstrap, validateWithEnvoy, type EnvoyProcess } from '../support/envoy';

const AT_LIMIT = '/x/a{93}';

/** Envoy's own figure: validate a static config under error level 0 and read its error. */
function envoyReportedSize(dir: string, regex: string): number | string {
  const bootstrap = staticBootstrap({
    runtime: { 're2.max_program_size.error_level': 0 },
    routes: [{ match: { safe_regex: { regex } }, direct_response: { status: 200 } }],
  });
  const { reason } = validateWithEnvoy(dir, bootstrap);
  return Number(/program size of (\d+) >/.exec(reason)?.[1] ?? NaN) || reason;
}

describe.skipIf(!envoyAvailable())('route regexes on a real Envoy', () => {
  const h = new Harness();
  const envoys: EnvoyProcess[] = [];
  let port = 0;

  beforeAll(async () => {
    const r = await h.replica('r1');
    port = await freePort();
    await h.start({
      listeners: [{ name: 'http', port, address: '127.0.0.1' }],
      services: [{ name: 'demo', routes: [{ name: 'long', match: { regex: AT_LIMIT }, backends: [{ name: 'demo-v1' }] }] }],
      backends: [{ name: 'demo-v1', endpoints: [`127.0.0.1:${r.httpPort}`] }],
    });
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.close()));
    await h.close();
  });

  it("Envoy reports the program sizes Tether computes", () => {
    const sample = ['/v[0-9]+/.*', '^/api/(users|orders|items)/[0-9]+$', '(?i)/API/.*', '.', '\\pL', '[^/]+', '(?:a{10}){10}', AT_LIMIT, '/x/a{94}', 'x(?:$|y)$'];
    const dir = fs.mkdtempSync(path.join(h.dir, 'sizes-'));
    for (const regex of sample) expect(envoyReportedSize(dir, regex), regex).toBe(envoyProgramSize(regex));
  });

  it('a size-100 regex: Envoy applies it and routes by it', async () => {
    const envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
    envoys.push(envoy);
    await envoy.waitForStat('http.http.rds.http.update_success');
    await envoy.waitListening(port);
    expect((await request(port, { path: `/x/${'a'.repeat(93)}` })).status).toBe(200);
    expect((await request(port, { path: `/x/${'a'.repeat(92)}` })).status).toBe(404);
    await envoy.expectNoRejections();
  });

  it('the same route on an Envoy whose error level is 99 is rejected: 100 is the exact size', async () => {
    const envoy = await startEnvoy({
      xdsPort: h.tether.xdsPort,
      patch: (b) => {
        b.layered_runtime = { layers: [{ name: 'static', static_layer: { 're2.max_program_size.error_level': 99 } }] };
      },
    });
    envoys.push(envoy);
    await envoy.waitForStat('http.http.rds.http.update_rejected');
    expect(envoy.logs()).toMatch(/RE2 program size of 100 > max program size of 99/);
  });

  it('Tether refuses a size-101 regex with the reason, and keeps serving', async () => {
    const before = h.tether.manager.current().version;
    const doc = structuredClone(h.tether.manager.current().document) as { services: Array<{ routes: Array<{ match: unknown }> }> };
    doc.services[0]!.routes[0]!.match = { regex: '/x/a{94}' };
    await expect(h.tether.manager.apply(doc, { source: 'apply' })).rejects.toThrow(
      /services\[0\]\.routes\[0\]\.match\.regex: regex compiles to an RE2 program of size 101, over Envoy's limit of 100/,
    );
    expect(h.tether.manager.current().version).toBe(before);
  });
});
