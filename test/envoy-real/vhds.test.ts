/**
 * Virtual host discovery on a real Envoy (issue 14): a delta Envoy whose node metadata says
 * TETHER_VHDS=true gets its route configuration without virtual hosts and each service's
 * virtual host as its own resource, so a one-route edit sends one virtual host. Measured on
 * the wire: a byte-counting TCP relay between Envoy and Tether counts what Tether wrote to
 * that Envoy, cross-checked with Envoy's own count of bytes received from its xDS cluster.
 * A second delta Envoy without the opt-in gets the whole route configuration (the baseline).
 * Tether's status (GetStatus, `tether status`) and metrics name the virtual hosts VHDS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/cli/admin-client';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { startByteRelay, type ByteRelay } from '../support/byte-relay';
import { BIN, cleanEnv, hasBuild, runCli } from '../cli/harness';
import { value } from '../metrics/exposition';

type Json = Record<string, any>;
const SERVICES = 300;

describe.skipIf(!envoyAvailable())('VHDS: one-route edits send one virtual host (real Envoy, delta ADS)', () => {
  const h = new Harness();
  let vhdsEnvoy: EnvoyProcess;
  let fullEnvoy: EnvoyProcess;
  const relays: ByteRelay[] = [];
  let port = 0;
  let a = '';
  let b = '';

  const config = (editedBackend: string) => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    services: Array.from({ length: SERVICES }, (_, i) => ({
      name: `svc-${i}`,
      domains: [`svc-${i}.test`],
      routes: [{ name: 'default', backends: [{ name: i === 7 ? editedBackend : `b-${i}` }] }],
    })),
    backends: [...Array.from({ length: SERVICES }, (_, i) => ({ name: `b-${i}`, endpoints: [a] })), { name: 'b-other', endpoints: [b] }],
  });

  async function edit(doc: unknown): Promise<void> {
    const applied = await h.tether.applyText(JSON.stringify(doc), 'edit');
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
    expect(await h.tether.registry.waitForConfigVersion(applied.version, { timeoutMs: 20_000 }), `both Envoys applied ${applied.version}`).toBe(true);
  }

  const xdsRx = async (envoy: EnvoyProcess): Promise<number> => (await envoy.stat('cluster.tether-xds.upstream_cx_rx_bytes_total')) ?? 0;
  const replicaFor = async (host: string): Promise<string> => {
    const reply = await request(port, { headers: { host } });
    expect(reply.status).toBe(200);
    return reply.json!.replica;
  };

  beforeAll(async () => {
    a = `127.0.0.1:${(await h.replica('a', 'v1')).httpPort}`;
    b = `127.0.0.1:${(await h.replica('b', 'v2')).httpPort}`;
    port = await freePort();
    await h.start(config('b-7'), { metrics: { host: '127.0.0.1', port: 0 } });
    for (let i = 0; i < 2; i++) relays.push(await startByteRelay(h.tether.xdsPort));
    // Both listen on the same port (Envoy binds with SO_REUSEPORT); requests go to either.
    fullEnvoy = await startEnvoy({ xdsPort: relays[1]!.port, delta: true });
    vhdsEnvoy = await startEnvoy({ xdsPort: relays[0]!.port, delta: true, metadata: { TETHER_VHDS: 'true' } });
    await vhdsEnvoy.waitConnected();
    await fullEnvoy.waitConnected();
    await vhdsEnvoy.waitListening(port);
    expect(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 20_000 })).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await vhdsEnvoy?.close();
    await fullEnvoy?.close();
    for (const r of relays) await r.close();
    await h.close();
  });

  it('Envoy holds the route config from RDS plus every virtual host from VHDS, and routes by them', async () => {
    const dump = await vhdsEnvoy.configDump();
    const routes = dump.configs.find((c: Json) => String(c['@type']).endsWith('.RoutesConfigDump'))!;
    const rc = routes.dynamic_route_configs.find((d: Json) => d.route_config.name === 'http').route_config;
    expect(rc.vhds.config_source.ads).toBeDefined();
    const names: string[] = rc.virtual_hosts.map((v: Json) => v.name);
    expect(names).toHaveLength(SERVICES);
    expect(names).toContain('http/svc-7');
    expect(await replicaFor('svc-7.test')).toBe('a');
    expect(await replicaFor('svc-250.test')).toBe('a');
    expect(await vhdsEnvoy.stat('http.http.rds.vhds.http.config_reload')).toBeGreaterThan(0);
    await vhdsEnvoy.expectNoRejections();
  });

  it('a one-route edit: ≤ 10 KB to the VHDS Envoy, the whole route config to the other', async () => {
    await new Promise<void>((r) => setImmediate(r));
    const before = relays.map((r) => r.received());
    const envoyBefore = await Promise.all([xdsRx(vhdsEnvoy), xdsRx(fullEnvoy)]);
    await edit(config('b-other'));
    // Envoy applied it: the request goes to the other replica, the dump shows the new cluster.
    expect(await replicaFor('svc-7.test')).toBe('b');
    expect(await replicaFor('svc-8.test')).toBe('a');
    const dump = await vhdsEnvoy.configDump();
    const rc = dump.configs.find((c: Json) => String(c['@type']).endsWith('.RoutesConfigDump'))!.dynamic_route_configs[0].route_config;
    const host = rc.virtual_hosts.find((v: Json) => v.name === 'http/svc-7');
    expect(JSON.stringify(host)).toContain('b-other');
    const sent = relays.map((r, i) => r.received() - before[i]!);
    const envoyAfter = await Promise.all([xdsRx(vhdsEnvoy), xdsRx(fullEnvoy)]);
    const received = envoyAfter.map((n, i) => n - envoyBefore[i]!);
    console.log(`one-route edit at S=${SERVICES}: Tether → VHDS Envoy ${sent[0]} B (Envoy counted ${received[0]} B); → full-RDS Envoy ${sent[1]} B (Envoy counted ${received[1]} B)`);
    expect(sent[0]).toBeLessThanOrEqual(10_000);
    expect(sent[0]).toBeGreaterThan(0);
    // Envoy's own count agrees with the relay's (same bytes, both sides of one connection).
    expect(received[0]).toBe(sent[0]);
    // The baseline carries the whole route configuration: many times more.
    expect(sent[1]).toBeGreaterThan(5 * sent[0]!);
    expect(await vhdsEnvoy.stat('http.http.rds.vhds.http.config_reload')).toBeGreaterThan(1);
    await vhdsEnvoy.expectNoRejections();
    await fullEnvoy.expectNoRejections();
  });

  it('Tether reports the virtual hosts as their own type, VHDS, ACKed by Envoy: GetStatus, tether status, /metrics', async () => {
    const admin = createAdminClient({ address: `127.0.0.1:${h.tether.adminPort}`, token: ADMIN_TOKEN, deadlineMs: 8000 });
    try {
      const status = await admin.call('GetStatus', { node_kind: 'envoy' });
      const node = (id: string) => status.nodes.find((n) => n.node_id === id)!;
      const vhdsTypes = node(vhdsEnvoy.nodeId).types;
      expect(vhdsTypes.map((t) => t.type)).toEqual(['LDS', 'RDS', 'VHDS', 'CDS', 'EDS']);
      const hosts = vhdsTypes.find((t) => t.type === 'VHDS')!;
      const stubs = vhdsTypes.find((t) => t.type === 'RDS')!;
      expect(hosts.acked_version).not.toBe('');
      expect(hosts.acked_version).toBe(hosts.sent_version);
      expect(hosts.last_nack).toBeNull();
      // RDS carries the route config stubs: its own version, ACKed on its own.
      expect(stubs.acked_version).toBe(stubs.sent_version);
      expect(stubs.acked_version).not.toBe(hosts.acked_version);
      expect(node(fullEnvoy.nodeId).types.map((t) => t.type)).toEqual(['LDS', 'RDS', 'CDS', 'EDS']);
    } finally {
      admin.close();
    }

    // Metrics: a push and an ACK per VHDS response (the first sync and the edit), no NACK;
    // Envoy's own count of accepted VHDS updates agrees.
    const res = await fetch(`http://127.0.0.1:${h.tether.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const pushes = value(text, 'tether_xds_pushes_total', { kind: 'envoy', type: 'virtual_host' });
    expect(pushes).toBeGreaterThanOrEqual(2);
    expect(value(text, 'tether_xds_acks_total', { kind: 'envoy', type: 'virtual_host' })).toBe(pushes);
    expect(value(text, 'tether_xds_nacks_total', { kind: 'envoy', type: 'virtual_host' })).toBe(0);
    expect(await vhdsEnvoy.stat('http.http.rds.vhds.http.update_success')).toBe(pushes);
    expect(await vhdsEnvoy.stat('http.http.rds.vhds.http.update_rejected')).toBe(0);
    await vhdsEnvoy.expectNoRejections();
    await fullEnvoy.expectNoRejections();

    // `tether status` (the built CLI): a VHDS column after RDS, filled for the VHDS Envoy only.
    if (!hasBuild) throw new Error(`${BIN} is missing: run npm run build`);
    const cli = await runCli(['status', '--kind', 'envoy'], { env: cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN }), cwd: h.dir });
    expect(cli.stderr).toBe('');
    const lines = cli.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('NODE'))!.split(/\s+/);
    expect(header.slice(header.indexOf('APPLIED') + 1, header.indexOf('NACK'))).toEqual(['LDS', 'RDS', 'VHDS', 'CDS', 'EDS']);
    const column = (id: string) => lines.find((l) => l.startsWith(id))!.split(/\s+/)[header.indexOf('VHDS')];
    expect(column(vhdsEnvoy.nodeId)).toMatch(/^[0-9a-f]{8}$/);
    expect(column(fullEnvoy.nodeId)).toBe('-');
  });
});
