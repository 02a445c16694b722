/**
 * Virtual host discovery on a real Envoy (issue 14): a delta Envoy whose node metadata says
 * TETHER_VHDS=true gets its route configuration without virtual hosts and each service's
 * virtual host as its own resource, so a one-route edit sends one virtual host. Measured on
 * the wire: a byte-counting TCP relay between Envoy and Tether counts what Tether wrote to
 * that Envoy, cross-checked with Envoy's own count of bytes received from its xDS cluster.
 * A second delta Envoy without the opt-in gets the whole route configuration (the baseline).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { startByteRelay, type ByteRelay } from '../support/byte-relay';

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
    await h.start(config('b-7'));
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
});
