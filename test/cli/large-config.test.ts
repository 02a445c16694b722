/**
 * A config far past gRPC's usual 4 MiB goes in with `tether apply` and comes back with
 * `tether get` (the built binary against a real Tether): the admin server and the CLI share
 * one message limit derived from the largest config Tether accepts (src/admin/message-limits.ts).
 * Before, `tether get` failed with RESOURCE_EXHAUSTED once the config passed ~9,000 services.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliOnTether, hasBuild, runCli } from './harness';

const SMALL = `
listeners: [{name: http, port: 10000}]
services: [{name: shop, routes: [{name: main, backends: [{name: shop-v1}]}]}]
backends: [{name: shop-v1, endpoints: [127.0.0.1:8081]}]
`;

/** ~7 MB as JSON: 440 request headers of 16,000 bytes on one route; GetConfig carries it twice. */
function bigConfig(): Record<string, unknown> {
  const set = Object.fromEntries(Array.from({ length: 440 }, (_, i) => [`x-h${i}`, String(i % 10).repeat(16_000)]));
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: [{ name: 'shop', routes: [{ name: 'main', headers: { request: { set } }, backends: [{ name: 'shop-v1' }] }] }],
    backends: [{ name: 'shop-v1', endpoints: ['127.0.0.1:8081'] }],
  };
}

describe.skipIf(!hasBuild)('a config larger than 4 MiB through the CLI (built binary, real Tether)', () => {
  const cli = cliOnTether(SMALL);

  it('apply -f sends it and get -o json reads it back whole', async () => {
    const file = path.join(cli.server.dir, 'big.json');
    const text = JSON.stringify(bigConfig());
    expect(text.length).toBeGreaterThan(7_000_000);
    fs.writeFileSync(file, text);
    const applied = await runCli(['apply', '-f', file], { env: cli.env, cwd: cli.server.dir, timeoutMs: 60_000 });
    expect(applied.code, applied.stderr.slice(0, 2000)).toBe(0);

    const got = await runCli(['get', '-o', 'json'], { env: cli.env, cwd: cli.server.dir, timeoutMs: 60_000 });
    expect(got.code, got.stderr.slice(0, 2000)).toBe(0);
    const doc = JSON.parse(got.stdout) as { services: Array<{ routes: Array<{ headers: { request: { set: Record<string, string> } } }> }> };
    const set = doc.services[0]!.routes[0]!.headers.request.set;
    expect(Object.keys(set)).toHaveLength(440);
    expect(set['x-h439']).toBe('9'.repeat(16_000));
  });
});
