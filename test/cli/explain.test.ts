/**
 * `tether explain` and `tether what-if` end to end: the built binary against a real Tether
 * with its admin API on 127.0.0.1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliOnTether, hasBuild } from './harness';

const CONFIG = `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    affinity: { keys: [{ header: x-user }, { cookie: { name: sid, ttl: 1h } }] }
    routes:
      - name: main
        backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]
    balancer: { type: ring_hash, minRingSize: 1024 }
  - name: shop-v2
    endpoints: ["10.0.1.1:8080"]
    balancer: { type: ring_hash, minRingSize: 1024 }
`;

if (!hasBuild) console.warn('skipping the explain/what-if CLI tests: dist/ is missing (npm run build)');

describe.skipIf(!hasBuild)('tether explain / what-if (built binary, real Tether)', () => {
  const cli = cliOnTether(CONFIG, { timeoutMs: 20_000 });
  const { tether } = cli;

  it('explain: key → hash → ring entry → replica (backend), the same as -o json says', async () => {
    const text = await tether(['explain', 'shop', '-H', 'x-user=alice']);
    expect(text.code, text.stderr).toBe(0);
    const line = /^x-user=alice → hash (0x[0-9a-f]{16}) → ring entry (\d+)\/1026 → (10\.0\.0\.[123]:8080) \(backend shop-v1\)$/m.exec(text.stdout);
    expect(line, text.stdout).not.toBeNull();
    expect(text.stdout).toMatch(/^service shop, envoy nodes, config version 1\nroute main\n/);
    // The picked cluster's exact ring shares: every replica, adding up to the whole ring.
    const shares = /^ring shares: (.*)$/m.exec(text.stdout);
    expect(shares, text.stdout).not.toBeNull();
    const parts = shares![1]!.split(', ').map((p) => /^(10\.0\.0\.[123]:8080) (\d+\.\d{3}) %$/.exec(p));
    expect(parts.map((p) => p?.[1]).sort()).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect(parts.reduce((sum, p) => sum + Number(p![2]), 0)).toBeCloseTo(100, 1);

    const json = await tether(['explain', 'shop', '-H', 'x-user: alice', '--kind', 'grpc', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const res = JSON.parse(json.stdout);
    expect(res).toMatchObject({ node_kind: 'grpc', route: 'main', predictable: true, request_hash: line![1], pick: { address: line![3], index: Number(line![2]) } });
    expect(res.pick.shares.map((x: { address: string }) => x.address).sort()).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    expect(res.pick.shares.reduce((sum: number, x: { share: number }) => sum + x.share, 0)).toBeCloseTo(1, 9);
  });

  it('explain: no key → random; the cookie Envoy would generate; unknown service fails', async () => {
    const none = await tether(['explain', 'shop']);
    expect(none.stdout).toMatch(/x-user absent, cookie sid unpredictable → Envoy generates cookie:sid .*--remote-address and --local-address/);
    const cookie = await tether(['explain', 'shop', '--remote-address', '192.0.2.1:40000', '--local-address', '10.9.9.9:10000']);
    expect(cookie.stdout).toMatch(/^cookie sid=[0-9a-f]{16} → hash 0x[0-9a-f]{16} → ring entry \d+\/1026 → 10\.0\.0\.\d:8080 \(backend shop-v1\)$/m);
    expect(cookie.stdout).toMatch(/^Envoy sets: Set-Cookie: sid="[0-9a-f]{16}"; Max-Age=3600; HttpOnly$/m);
    const random = await tether(['explain', 'shop', '--kind', 'grpc']);
    expect(random.stdout).toMatch(/x-user absent → no affinity key had a value: the balancer picks with a random hash/);
    const missing = await tether(['explain', 'shopp']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("tether: NOT_FOUND: unknown service 'shopp'; did you mean 'shop'?\n");
  });

  it('what-if endpoints add: a table per route and the sessions moving; nothing changes', async () => {
    const res = await tether(['what-if', 'endpoints', 'add', 'shop-v1', '10.0.0.4:8080', '--samples', '20000']);
    expect(res.code, res.stderr).toBe(0);
    // No node is connected: both kinds the config serves, Envoy first.
    expect(res.stdout).toMatch(/^for envoy and grpc nodes: none is connected; the kinds the config serves \(--kind to choose\)\nshop\/main → shop-v1 \(header:x-user, 20,000 sessions, envoy\)\nREPLICA {8}BACKEND {2}BEFORE {2}AFTER\n/);
    expect(res.stdout).toMatch(/^shop\/main → shop-v1 \(header:x-user, 20,000 sessions, grpc\)$/m);
    expect(res.stdout).toMatch(/^2 envoy and grpc resource changes:\n {2}~ envoy EDS shop-v1\n {2}~ grpc EDS shop-v1$/m);
    expect(res.stdout).toMatch(/^10\.0\.0\.4:8080 {2}shop-v1 {2}0\.0 % {3}2\d\.\d %$/m);
    const moving = /^sessions moving: (\d+\.\d) % \(ideal 25\.0 %\)$/m.exec(res.stdout);
    expect(Number(moving![1])).toBeGreaterThan(30);
    expect(cli.server.currentVersion()).toBe(1);
  });

  it('what-if --session / --sessions-file: names every listed session that moves, as -o json lists them', async () => {
    const file = path.join(cli.server.dir, 'users.txt');
    fs.writeFileSync(file, Array.from({ length: 100 }, (_, i) => `user-${i}`).join('\n') + '\n\n');
    const args = ['what-if', 'endpoints', 'add', 'shop-v1', '10.0.0.4:8080', '--samples', '2000', '--session', 'alice', '--sessions-file', file];
    const text = await tether(args);
    expect(text.code, text.stderr).toBe(0);
    const json = await tether([...args, '-o', 'json']);
    const sessions: Array<{ value: string; before: string; after: string; moved: boolean }> = JSON.parse(json.stdout).routes[0].sessions;
    expect(sessions.map((x) => x.value)).toEqual(['alice', ...Array.from({ length: 100 }, (_, i) => `user-${i}`)]);
    const moving = sessions.filter((x) => x.moved);
    expect(moving.length).toBeGreaterThan(10);
    expect(text.stdout).toContain(`listed sessions moving: ${moving.length} of 101\n${moving.map((x) => `  ${x.value}: ${x.before} → ${x.after}`).join('\n')}\n`);
    const missing = await tether(['what-if', 'endpoints', 'add', 'shop-v1', '10.0.0.4:8080', '--sessions-file', path.join(cli.server.dir, 'nope.txt')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.txt: ENOENT/);
  });

  it('what-if split and drain; -o json; errors exit 1 with the server text', async () => {
    const split = await tether(['what-if', 'split', 'shop', 'main', 'shop-v1=50', 'shop-v2=50', '--samples', '5000']);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toMatch(/^BACKEND {2}BEFORE {3}AFTER\nshop-v1 {2}100\.0 % {2}50\.0 %\nshop-v2 {2}0\.0 % {4}50\.0 %$/m);
    expect(split.stdout).toContain('note: not sticky after the change');

    const drain = await tether(['what-if', 'endpoints', 'drain', 'shop-v1', '10.0.0.3:8080', '--kind', 'grpc', '--samples', '5000', '-o', 'json']);
    expect(drain.code, drain.stderr).toBe(0);
    const res = JSON.parse(drain.stdout);
    expect(res).toMatchObject({ version: '1', node_kind: 'grpc', samples: 5000, changed: true });
    expect(res.routes[0].replicas.find((r: { address: string }) => r.address === '10.0.0.3:8080').after).toBe(0);

    const missing = await tether(['what-if', 'endpoints', 'remove', 'shop-v9', '10.0.0.1:8080']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tether: NOT_FOUND: unknown backend 'shop-v9'/);
    const zero = await tether(['what-if', 'split', 'shop', 'shop-v1=0']);
    expect(zero.code).toBe(1);
    expect(cli.server.currentVersion()).toBe(1);
  });
});

/** No listener: Envoy nodes are served nothing, gRPC nodes everything. */
const GRPC_ONLY = `
services:
  - name: shop
    affinity: { keys: [{ header: x-user }] }
    routes:
      - name: main
        backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]
`;

describe.skipIf(!hasBuild)('tether explain / what-if on a config without listeners (built binary, real Tether)', () => {
  const cli = cliOnTether(GRPC_ONLY, { timeoutMs: 20_000 });
  const { tether } = cli;

  it('what-if defaults to the kind the config serves (gRPC), and never says nothing moves for Envoy', async () => {
    const res = await tether(['what-if', 'endpoints', 'add', 'shop-v1', '10.0.0.4:8080', '--samples', '5000']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^for grpc nodes: none is connected; the kinds the config serves \(--kind to choose\)\nshop\/main → shop-v1 \(header:x-user, 5,000 sessions, grpc\)$/m);
    expect(Number(/^sessions moving: (\d+\.\d) %/m.exec(res.stdout)![1])).toBeGreaterThan(15);

    const envoy = await tether(['what-if', 'endpoints', 'add', 'shop-v1', '10.0.0.4:8080', '--kind', 'envoy', '--samples', '5000']);
    expect(envoy.code).toBe(1);
    expect(envoy.stdout).toContain('envoy nodes are served no route before or after this change (Envoy nodes see only the services on a listener, and none is): none of their sessions can move\n');
    expect(envoy.stdout).not.toContain('no sticky route changes');
  });

  it('explain defaults to the kind the service is served to', async () => {
    const res = await tether(['explain', 'shop', '-H', 'x-user=alice']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^service shop, grpc nodes, config version 1\nroute main\nx-user=alice → hash 0x[0-9a-f]{16} → ring entry \d+\/\d+ → 10\.0\.0\.\d:8080 \(backend shop-v1\)$/m);
    expect(res.stdout).toContain('note: explained for gRPC nodes (no node is connected; the config serves the service to them)');
  });
});
