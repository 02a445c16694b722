/**
 * The admin subcommands end to end: the real built binary (dist/, built by `npm test`)
 * against a real Tether with its admin API, both on 127.0.0.1 with ephemeral ports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTether, startAdminTether } from '../support/admin-tether';
import { startCuttingProxy } from '../support/cutting-proxy';
import { ADMIN_TOKEN } from '../support/harness';
import { INVALID_CONFIG } from './fixtures';
import { cleanEnv, hasBuild, runCli, TestNode } from './harness';

const CONFIG = `
listeners:
  - name: http
    port: 10000
services:
  - name: shop
    routes:
      - name: main
        backends:
          - name: shop-v1
            weight: 100
backends:
  - name: shop-v1
    endpoints: [127.0.0.1:8081]
  - name: shop-v2
    endpoints: [127.0.0.1:8083]
`;

interface Doc {
  services: { name: string; routes: { name?: string; backends: { name: string; weight?: number }[] }[] }[];
  backends: { name: string; endpoints: (string | { address: string; weight?: number; drain?: boolean; grpcPort?: number })[] }[];
}

describe.skipIf(!hasBuild)('tether admin subcommands (built binary, real Tether)', () => {
  let server: AdminTether;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const tether = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extraEnv }, cwd: dir });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const doc = () => server.document() as unknown as Doc;
  const shopBackends = () => doc().services[0]!.routes[0]!.backends;
  const currentVersion = () => server.currentVersion();

  beforeAll(async () => {
    server = await startAdminTether(CONFIG);
    dir = server.dir;
    env = cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('apply: --dry-run prints the resource diff and changes nothing; then applies; re-applying is no change', async () => {
    const before = currentVersion();
    const next = file('v2.yaml', CONFIG.replace('weight: 100', 'weight: 90\n          - name: shop-v2\n            weight: 10'));
    const dry = await tether(['apply', '-f', next, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^~ envoy RDS \S+$/m);
    expect(dry.stdout).toMatch(/^~ grpc RDS shop$/m);
    expect(dry.stdout).toMatch(/^-\s+cluster: shop-v1$/m);
    expect(dry.stdout).toMatch(/^\+\s+weighted_clusters:$/m);
    expect(dry.stdout).toContain(`version ${before} unchanged`);
    expect(currentVersion()).toBe(before);

    const applied = await tether(['apply', '-f', next, '-m', 'canary 10%']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^~ envoy RDS \S+$/m);
    expect(applied.stdout).not.toContain('weighted_clusters');
    expect(applied.stdout).toMatch(new RegExp(`applied version ${before + 1}\n$`));
    expect(currentVersion()).toBe(before + 1);

    const again = await tether(['apply', '-f', next]);
    expect(again.stdout).toBe(`no change (version ${before + 1})\n`);
  });

  it('get: YAML with a version header; -o json round-trips through apply', async () => {
    const yaml = await tether(['get']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout.startsWith(`# version ${currentVersion()}\n`)).toBe(true);
    expect(yaml.stdout).toContain('shop-v1');

    const json = await tether(['get', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(server.document());
    const roundTrip = await tether(['apply', '-f', file('round-trip.json', json.stdout)]);
    expect(roundTrip.code, roundTrip.stderr).toBe(0);
    expect(roundTrip.stdout).toBe(`no change (version ${currentVersion()})\n`);
  });

  it('split, with the route implied or named; -o json prints the raw response', async () => {
    const split = await tether(['split', 'shop', 'shop-v1=50', 'shop-v2=50']);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toMatch(/^~ envoy RDS /m);
    expect(split.stdout).toContain(`applied version ${currentVersion()}`);
    expect(shopBackends()).toEqual([expect.objectContaining({ name: 'shop-v1', weight: 50 }), expect.objectContaining({ name: 'shop-v2', weight: 50 })]);

    const named = await tether(['split', 'shop', 'main', 'shop-v1=80', 'shop-v2=20', '-o', 'json']);
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({ version: String(currentVersion()), changed: true, dry_run: false, changes: expect.arrayContaining([expect.objectContaining({ type: 'RDS' })]) });
  });

  it('promote; unknown names fail with NOT_FOUND', async () => {
    const promote = await tether(['promote', 'shop', 'shop-v2']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toContain(`applied version ${currentVersion()}`);
    expect(shopBackends().map((b) => b.name)).toEqual(['shop-v2']);

    const missing = await tether(['split', 'nope', 'a=1']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^tether: NOT_FOUND: .*nope/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('history lists versions, newest first, the current one marked', async () => {
    const history = await tether(['history']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/^\s+VERSION\s+CREATED\s+SOURCE\s+BY\s+HASH\s+DESCRIPTION$/m);
    expect(history.stdout).toMatch(new RegExp(`^\\* ${currentVersion()}\\s+\\S+\\s+promote\\s`, 'm'));
    expect(history.stdout).toMatch(/^ {2}2 .*canary 10%$/m);
    const json = JSON.parse((await tether(['history', '-o', 'json'])).stdout) as { current_version: string; versions: { source: string; created_at: string }[] };
    expect(json.current_version).toBe(String(currentVersion()));
    expect(json.versions[0]).toMatchObject({ source: 'promote', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('rollback restores the previous or a given version, as a new version', async () => {
    const before = currentVersion();
    const back = await tether(['rollback']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`applied version ${before + 1}`);
    // The version before the promote: 80/20.
    expect(shopBackends().map((b) => b.weight)).toEqual([80, 20]);

    const toFirst = await tether(['rollback', '1', '-o', 'json']);
    expect(toFirst.code, toFirst.stderr).toBe(0);
    expect(JSON.parse(toFirst.stdout)).toMatchObject({ version: String(before + 2), changed: true });
    expect(shopBackends()).toEqual([expect.objectContaining({ name: 'shop-v1', weight: 100 })]);
  });

  it('endpoints add, drain, remove', async () => {
    const endpointsOf = () => doc().backends.find((b) => b.name === 'shop-v1')!.endpoints;
    const add = await tether(['endpoints', 'add', 'shop-v1', '127.0.0.1:9999', '--weight', '3', '--grpc-port', '9997']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^~ envoy EDS shop-v1$/m);
    expect(add.stdout).toMatch(/^~ grpc EDS shop-v1$/m);
    expect(add.stdout).toContain(`applied version ${currentVersion()}`);
    expect(endpointsOf()).toContainEqual(expect.objectContaining({ address: '127.0.0.1:9999', weight: 3, grpcPort: 9997 }));

    const drain = await tether(['endpoints', 'drain', 'shop-v1', '127.0.0.1:9999']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(endpointsOf()).toContainEqual(expect.objectContaining({ address: '127.0.0.1:9999', drain: true, grpcPort: 9997 }));

    const remove = await tether(['endpoints', 'remove', 'shop-v1', '127.0.0.1:9999']);
    expect(remove.code, remove.stderr).toBe(0);
    expect(JSON.stringify(endpointsOf())).not.toContain('9999');
  });

  it('history describes every kind of change, with the -m text after it', async () => {
    const json = JSON.parse((await tether(['history', '-o', 'json'])).stdout) as { versions: { version: string; source: string; description: string; restores: string }[] };
    const bySource = (source: string) => json.versions.filter((v) => v.source === source).map((v) => v.description);
    expect(bySource('apply')).toContain('services ~shop — canary 10%');
    expect(bySource('set-split')).toEqual(['split shop/main: shop-v1=80 shop-v2=20', 'split shop/main: shop-v1=50 shop-v2=50']);
    expect(bySource('promote')).toEqual(['promote shop-v2 on shop']);
    expect(bySource('add-endpoint')).toEqual(['add endpoint 127.0.0.1:9999 to shop-v1 (weight 3)']);
    expect(bySource('drain-endpoint')).toEqual(['drain endpoint 127.0.0.1:9999 of shop-v1']);
    expect(bySource('remove-endpoint')).toEqual(['remove endpoint 127.0.0.1:9999 from shop-v1']);
    const rollbacks = json.versions.filter((v) => v.source === 'rollback');
    expect(rollbacks.map((v) => [v.description, v.restores])).toEqual([
      ['rollback to v1', '1'],
      [expect.stringMatching(/^rollback to v\d+$/), expect.stringMatching(/^\d+$/)],
    ]);
    const text = (await tether(['history'])).stdout;
    expect(text).toMatch(/ add-endpoint +token:[0-9a-f]{8} +\S+ +add endpoint 127\.0\.0\.1:9999 to shop-v1 \(weight 3\)$/m);
  });

  it('rollback without a version steps back through history, like undo; with one it restores exactly that', async () => {
    const endpointsOf = () => JSON.stringify(doc().backends.find((b) => b.name === 'shop-v1')!.endpoints);
    const top = currentVersion(); // after remove: no 9999
    const first = await tether(['rollback']);
    expect(first.stdout).toBe(`~ envoy EDS shop-v1\n~ grpc EDS shop-v1\napplied version ${top + 1} (the config of version ${top - 1})\n`);
    expect(endpointsOf()).toContain('"drain":true');
    // A second rollback goes one further back (before the drain), not forward again.
    const second = await tether(['rollback', '-m', 'again']);
    expect(second.stdout).toContain(`applied version ${top + 2} (the config of version ${top - 2})`);
    expect(endpointsOf()).toContain('9999');
    expect(endpointsOf()).not.toContain('drain');
    const third = await tether(['rollback', '--dry-run']);
    expect(third.stdout).toMatch(new RegExp(`; would restore version ${top - 3}\n$`));
    const history = JSON.parse((await tether(['history', '-o', 'json'])).stdout) as { versions: { description: string }[] };
    expect(history.versions[0]!.description).toBe(`rollback to v${top - 2} — again`);
  });

  it('a change cut off mid-request says its outcome is unknown and how to check; history shows it was made', async () => {
    const [host, port] = server.adminAddress.split(':');
    const proxy = await startCuttingProxy({ host: host!, port: Number(port) });
    try {
      const before = currentVersion();
      const res = await tether(['split', 'shop', 'shop-v1=65', 'shop-v2=35', '--server', proxy.address]);
      expect(proxy.cut()).toBe(1);
      expect(res.code).toBe(1);
      // grpc-js says "Connection dropped" (FIN) or "read ECONNRESET" (RST), depending on timing.
      const cause = '(Connection dropped|read ECONNRESET)';
      expect(res.stderr).toMatch(
        new RegExp(
          `^tether: SetSplit to the admin server at ${proxy.address}: the connection broke \\(${cause}\\) after the request was sent, so it may or may not have been applied\\.\n` +
            '  Run `tether history` to see whether it made a new version before retrying \\(a retry with --expected-version cannot apply twice\\)\\.\n$',
        ),
      );
      // It was applied: the server committed before answering.
      expect(currentVersion()).toBe(before + 1);
      const history = await tether(['history']);
      expect(history.stdout).toMatch(new RegExp(`^\\* ${before + 1} .* set-split +token:[0-9a-f]{8} +\\S+ +split shop/main: shop-v1=65 shop-v2=35$`, 'm'));
    } finally {
      await proxy.close();
    }
  });

  it('an invalid apply prints every field error on its own line; a stale --expected-version is ABORTED', async () => {
    const before = currentVersion();
    const res = await tether(['apply', '-f', file('bad.yaml', INVALID_CONFIG)]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^tether: INVALID_ARGUMENT: /);
    expect(lines).toContainEqual(expect.stringMatching(/^\s+services\[0\]\.routes\[0\]\.backends\[0\]\.weight: must be >= 0$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\s+services\[0\]\.routes\[0\]\.backends\[1\]\.name: .*missing/));
    expect(lines).toContainEqual(expect.stringMatching(/^\s+backends\[0\]\.endpoints\[0\]/));
    expect(res.stderr).not.toMatch(/\n\s+at /);

    const stale = await tether(['apply', '-f', file('stale.yaml', CONFIG.replace('8083', '8084')), '--expected-version', String(before - 1)]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^tether: ABORTED: .*expected version/);
    expect(currentVersion()).toBe(before);
  });

  it('a missing or wrong token fails with UNAUTHENTICATED; ./.tether/admin-token is used when present', async () => {
    const none = await runCli(['get'], { env: cleanEnv({ TETHER_ADMIN_ADDR: server.adminAddress }), cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^tether: UNAUTHENTICATED: /);
    const wrong = await tether(['history', '--token', 'not-the-token']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^tether: UNAUTHENTICATED: /);
    const cwd = path.join(dir, 'cwd');
    fs.mkdirSync(path.join(cwd, '.tether'), { recursive: true });
    fs.writeFileSync(path.join(cwd, '.tether', 'admin-token'), `${ADMIN_TOKEN}\n`);
    const fromFile = await runCli(['history', '--server', server.adminAddress], { env: cleanEnv(), cwd });
    expect(fromFile.code, fromFile.stderr).toBe(0);
  });

  describe('with an xDS node', () => {
    let node: TestNode;
    beforeAll(() => {
      node = new TestNode(server.xdsAddress, 'envoy-cli-1', server.cache);
    });
    afterAll(async () => {
      await node?.close();
    });

    it('wait converges (exit 0); status shows the node', async () => {
      // Named, so the wait cannot start before the node's stream is known and find nothing to wait for.
      const wait = await tether(['wait', '--node', 'envoy-cli-1', '--timeout', '5s']);
      expect(wait.code, wait.stderr).toBe(0);
      expect(wait.stdout).toBe(`version ${currentVersion()} applied by 1 node\n`);

      const status = await tether(['status']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^NODE\s+KIND\s+STREAM\s+APPLIED\s+LDS\s+RDS\s+CDS\s+EDS\s+NACK$/m);
      const row = status.stdout.split('\n').find((l) => l.startsWith('envoy-cli-1'));
      expect(row).toMatch(new RegExp(`^envoy-cli-1\\s+envoy\\s+\\S+\\s+${currentVersion()}(\\s+[0-9a-f]{8}){4}$`));
      const grpcOnly = await tether(['status', '--kind', 'grpc', '-o', 'json']);
      expect(JSON.parse(grpcOnly.stdout)).toMatchObject({ current_version: String(currentVersion()), nodes: [] });
    });

    it('wait times out (exit 2) while a node does not answer', async () => {
      node.setMode('ignore');
      expect((await tether(['split', 'shop', 'shop-v1=70', 'shop-v2=30'])).code).toBe(0);
      const timedOut = await tether(['wait', '--timeout', '700ms']);
      expect(timedOut.code, timedOut.stderr).toBe(2);
      expect(timedOut.stderr).toMatch(/^waiting: .*pending: envoy-cli-1/m);
      expect(timedOut.stderr).toMatch(/^tether: timed out waiting for version \d+; pending: envoy-cli-1$/m);
    });

    it('wait fails (exit 1) with the error of a node that NACKs; status shows the NACK', async () => {
      node.nackMessage = 'route: unsupported on this proxy';
      node.setMode('nack');
      expect((await tether(['split', 'shop', 'shop-v1=60', 'shop-v2=40'])).code).toBe(0);
      const failed = await tether(['wait', '--timeout', '5s']);
      expect(failed.code, failed.stderr).toBe(1);
      expect(failed.stderr).toMatch(/^ {2}envoy-cli-1: .*route: unsupported on this proxy/m);
      const status = await tether(['status']);
      expect(status.stdout).toMatch(/^envoy-cli-1 .*RDS: route: unsupported on this proxy$/m);
    });

    it('a later version that keeps the rejected routes fails wait at once (exit 1); once the node ACKed other routes, those bytes are sent again', async () => {
      // Continues from the NACKed 60/40 split: the node now accepts everything.
      node.setMode('ack');
      expect((await tether(['endpoints', 'add', 'shop-v1', '127.0.0.1:9998'])).code).toBe(0);
      // The new version changes only endpoints: its RDS is exactly what the node rejected.
      const started = Date.now();
      const blocked = await tether(['wait', '--timeout', '20s']);
      expect(blocked.code, blocked.stderr).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(blocked.stderr).toMatch(/^ {2}envoy-cli-1: .*RDS: route: unsupported on this proxy/m);
      expect((await tether(['status'])).stdout).toMatch(/^envoy-cli-1 .*RDS: route: unsupported on this proxy$/m);

      expect((await tether(['split', 'shop', 'shop-v1=100', 'shop-v2=0'])).code).toBe(0);
      expect((await tether(['wait', '--timeout', '5s'])).code).toBe(0);
      // The 60/40 routes again, byte for byte: delivered and applied this time.
      expect((await tether(['split', 'shop', 'shop-v1=60', 'shop-v2=40'])).code).toBe(0);
      const applied = await tether(['wait', '--timeout', '5s']);
      expect(applied.code, applied.stderr).toBe(0);
    });
  });
});

it.runIf(!hasBuild)('the admin CLI tests need `npm run build` first (npm test does it)', () => {
  console.warn('skipping admin CLI tests: dist/src/cli/main.js is missing; run `npm test` (it builds first)');
});
