/**
 * Issue 17's istioctl/egctl-style commands, as the built binary runs them against a real Tether
 * (admin API on 127.0.0.1, ephemeral ports): `tether version`, `tether get --version N`,
 * `tether diff A B`, `tether proxy-config` for a node connected over a real ADS stream, and
 * `tether translate -f` against the golden translations (which the Envoy suite checks Envoy ACKs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/harness';
import { buildInfo } from '../../src/util/build-info';
import { buildCli } from '../../src/cli/main';
import { cleanEnv, cliOnTether, hasBuild, runCli, TestNode } from './harness';

const CONFIG = `
listeners:
  - name: http
    port: 10000
services:
  - name: shop
    affinity: { keys: [{ header: x-user }] }
    routes:
      - name: main
        backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: [127.0.0.1:8081, 127.0.0.1:8082]
    balancer: { type: ring_hash }
  - name: shop-v2
    endpoints: [127.0.0.1:8083]
`;

const GOLDEN = path.resolve(__dirname, '../golden');

describe.skipIf(!hasBuild)('introspection commands (built binary, real Tether)', () => {
  const cli = cliOnTether(CONFIG, { timeoutMs: 20_000 });
  const { tether } = cli;
  const nodes: TestNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  // Each test runs several CLI processes, ~1–3 s each on a loaded 2-core machine.
  const SLOW = { timeout: 120_000 };

  it('version: the client and the server, text and json; --client alone needs no server', SLOW, async () => {
    const info = buildInfo();
    // Independent runs go at once: each CLI process spends most of its time starting.
    const downEnv = { env: cleanEnv({ TETHER_ADMIN_ADDR: '127.0.0.1:1' }), cwd: cli.server.dir };
    const [text, jsonRun, clientOnly, down] = await Promise.all([
      tether(['version']),
      tether(['version', '-o', 'json']),
      runCli(['version', '--client'], downEnv),
      runCli(['version'], downEnv),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toBe(`client: tether ${info.version} (revision ${info.revision}, Node.js ${process.version})`);
    expect(lines[1]).toMatch(new RegExp(`^server: tether ${info.version.replace(/\./g, '\\.')} \\(revision ${info.revision}, Node\\.js v[\\d.]+\\) at ${cli.server.adminAddress}: config version ${cli.server.currentVersion()}, started \\d{4}-`));
    const json = JSON.parse(jsonRun.stdout) as { client: { version: string }; server: { version: string; config_version: string } };
    expect(json.client.version).toBe(info.version);
    expect(json.server).toMatchObject({ version: info.version, config_version: String(cli.server.currentVersion()) });
    expect(clientOnly).toMatchObject({ code: 0, stdout: `client: tether ${info.version} (revision ${info.revision}, Node.js ${process.version})\n` });
    // The server unreachable: the client line, then the error, exit 1.
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^client: tether /);
    expect(down.stderr).toMatch(/cannot reach the admin server at 127\.0\.0\.1:1/);
  });

  it('get --version N and diff A B: an earlier version as accepted, and what changed, config and Envoy resources', SLOW, async () => {
    const first = cli.server.currentVersion();
    const split = await tether(['split', 'shop', 'main', 'shop-v1=90', 'shop-v2=10']);
    expect(split.code, split.stderr).toBe(0);
    const second = cli.server.currentVersion();
    expect(second).toBe(first + 1);

    const [old, nowRun, gone, diff, jsonDiff, dryRun, sameRun] = await Promise.all([
      tether(['get', '--version', String(first)]),
      tether(['get']),
      tether(['get', '--version', '999']),
      tether(['diff', String(first), String(second)]),
      tether(['diff', String(first), String(second), '--kind', 'envoy', '-o', 'json']),
      tether(['rollback', String(first), '--dry-run', '-o', 'json']),
      tether(['diff', String(second), String(second)]),
    ]);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout.startsWith(`# version ${first}\n`)).toBe(true);
    const oldDoc = parseYaml(old.stdout) as { services: { routes: { backends: { name: string }[] }[] }[] };
    expect(oldDoc.services[0]!.routes[0]!.backends).toEqual([{ name: 'shop-v1' }]);
    const now = parseYaml(nowRun.stdout) as typeof oldDoc;
    expect(now.services[0]!.routes[0]!.backends.map((b) => b.name)).toEqual(['shop-v1', 'shop-v2']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('NOT_FOUND: version 999 is not in the history');

    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain(`--- a/version-${first}\n+++ b/version-${second}\n`);
    expect(diff.stdout).toMatch(/^\+ +- name: shop-v2$/m);
    // The route now splits: Envoy's route configuration and gRPC's listener (inline routes) change.
    expect(diff.stdout).toContain('~ envoy RDS http\n');
    expect(diff.stdout).toMatch(/^~ grpc (LDS|RDS) shop$/m);
    expect(diff.stdout).toMatch(/^\+ +weighted_clusters:$/m);
    expect(diff.stdout).toMatch(/^- +cluster: shop-v1$/m);
    // The same changes a dry run of that edit reports, in JSON.
    const json = JSON.parse(jsonDiff.stdout) as { changes: { node_kind: string; type: string; name: string; action: string }[] };
    const dry = JSON.parse(dryRun.stdout) as { changes: { node_kind: string; type: string; name: string; action: string }[] };
    const flip = (a: string) => (a === 'ADDED' ? 'REMOVED' : a === 'REMOVED' ? 'ADDED' : a);
    expect(json.changes.map((c) => `${c.type} ${c.name} ${c.action}`).sort()).toEqual(
      dry.changes.filter((c) => c.node_kind === 'envoy').map((c) => `${c.type} ${c.name} ${flip(c.action)}`).sort(),
    );
    expect(sameRun.stdout).toBe(`config: versions ${second} and ${second} are the same\n0 Envoy resource changes from version ${second} to ${second}\n`);
  });

  it('proxy-config: what a connected node is served, as tables and as JSON equal to the served snapshot', SLOW, async () => {
    const node = new TestNode(cli.server.xdsAddress, 'proxy-1', cli.server.cache, 'envoy');
    nodes.push(node);
    await waitFor('proxy-1 connected', () => cli.server.nodeIds().includes('proxy-1'));
    const [clusters, endpoints, listeners, routesJson, allYaml, unknown, byKind] = await Promise.all([
      tether(['proxy-config', 'proxy-1', 'clusters']),
      tether(['proxy-config', 'proxy-1', 'endpoints']),
      tether(['proxy-config', 'proxy-1', 'listeners']),
      tether(['proxy-config', 'proxy-1', 'routes', '-o', 'json']),
      tether(['proxy-config', 'proxy-1', '-o', 'yaml']),
      tether(['proxy-config', 'nobody', 'clusters']),
      tether(['proxy-config', 'nobody', 'listeners', '--kind', 'grpc']),
    ]);
    expect(clusters.code, clusters.stderr).toBe(0);
    expect(clusters.stdout).toMatch(/^# node proxy-1 \(envoy\), config version \d+\nNAME +DISCOVERY +LB POLICY +EDS SERVICE\nshop-v1 +EDS +RING_HASH +shop-v1/m);
    expect(endpoints.stdout).toMatch(/127\.0\.0\.1:8081 +1 +UNKNOWN/);
    expect(endpoints.stdout).toMatch(/127\.0\.0\.1:8082 +1 +UNKNOWN/);
    expect(listeners.stdout).toMatch(/^http +0\.0\.0\.0:10000 +http$/m);
    const json = JSON.parse(routesJson.stdout) as { name: string; virtual_hosts: { name: string }[] }[];
    expect(json.map((r) => r.name)).toEqual(['http']);
    expect(json[0]!.virtual_hosts.map((v) => v.name)).toEqual(['shop']);
    const all = parseYaml(allYaml.stdout) as Record<string, { name?: string; cluster_name?: string }[]>;
    expect(Object.keys(all)).toEqual(['listeners', 'routes', 'clusters', 'endpoints']);
    expect(all.clusters!.map((c) => c.name).sort()).toEqual(['shop-v1', 'shop-v2']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("node 'nobody' is not connected to this Tether");
    expect(byKind.stdout).toMatch(/^shop +api_listener \(gRPC\)/m);
  });

  it('translate -f: every golden case, offline, equals its expected Envoy and gRPC resources', SLOW, async () => {
    const cases = fs.readdirSync(GOLDEN).filter((c) => fs.existsSync(path.join(GOLDEN, c, 'input.yaml')) && !fs.existsSync(path.join(GOLDEN, c, 'endpoints.yaml')));
    expect(cases.length).toBeGreaterThan(10);
    const byName = (list: { name?: string; cluster_name?: string }[] = []) => [...list].sort((a, b) => String(a.name ?? a.cluster_name).localeCompare(String(b.name ?? b.cluster_name)));
    // Every case, through the command as the binary parses it, in this process (a child per case
    // would load the protos each time); the binary itself is run below for its errors.
    const inProcess = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      await buildCli({ stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }).parseAsync(args, { from: 'user' });
      return { stdout, stderr };
    };
    for (const c of cases) {
      for (const kind of ['envoy', 'grpc']) {
        const r = await inProcess(['translate', '-f', path.join(GOLDEN, c, 'input.yaml'), '--kind', kind, ...(kind === 'grpc' ? ['-o', 'json'] : [])]);
        const got = (kind === 'grpc' ? JSON.parse(r.stdout) : parseYaml(r.stdout)) as Record<string, { name?: string }[]>;
        const expected = parseYaml(fs.readFileSync(path.join(GOLDEN, c, `${kind}.yaml`), 'utf8')) as Record<string, unknown>;
        for (const type of ['listeners', 'routes', 'clusters', 'endpoints']) {
          expect(byName(got[type]), `${c} ${kind} ${type}`).toEqual(byName(expected[type] as { name?: string }[]));
        }
        if (expected.warnings) expect(r.stderr, `${c} ${kind}`).toContain('warning: ');
      }
    }
    const binary = await tether(['translate', '-f', path.join(GOLDEN, 'cookie-affinity', 'input.yaml')]);
    expect(binary.code, binary.stderr).toBe(0);
    expect((parseYaml(binary.stdout) as { clusters: unknown[] }).clusters.length).toBeGreaterThan(0);
    const bad = await tether(['translate', '-f', path.join(cli.server.dir, 'nope.yaml')]);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toMatch(/cannot read .*nope\.yaml: ENOENT/);
    fs.writeFileSync(path.join(cli.server.dir, 'bad.yaml'), 'services: [{ name: shop, routes: [{ backends: [{ name: missing }] }] }]\n');
    const invalid = await tether(['translate', '-f', path.join(cli.server.dir, 'bad.yaml')]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('services[0].routes[0].backends[0].name');
  });
});
