/**
 * Bytes Tether sends one Envoy for a one-route edit, with and without VHDS (issue 14): two
 * real delta Envoys on the bench/xds config (S services, one listener, svc-0's `edit` route
 * changed per edit), one with node metadata TETHER_VHDS=true, one without. Each connects
 * through a byte-counting relay (what Tether wrote on the wire, HTTP/2 framing included);
 * Envoy's own cluster.tether-xds.upstream_cx_rx_bytes_total is printed beside it. Every edit
 * is checked in the VHDS Envoy's /config_dump, and update_rejected must stay 0.
 *
 *   npm run build && node dist/bench/vhds/bench.js [--services 10000] [--edits 3]
 *
 * Needs Envoy (ENVOY_BIN). Not part of the test suite.
 */
import { configDocument, editedDocument } from '../xds/config-gen';
import { Harness } from '../../test/support/harness';
import { envoyVersion, freePort, startEnvoy, type EnvoyProcess } from '../../test/support/envoy';
import { startByteRelay, type ByteRelay } from '../../test/support/byte-relay';

type Json = Record<string, any>;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function sleepUntil(ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const services = flag('services', 10_000);
  const edits = flag('edits', 3);
  const port = await freePort();
  const onPort = (doc: Record<string, unknown>) => ({ ...doc, listeners: [{ name: 'http', port, address: '127.0.0.1' }] });
  const h = new Harness();
  const relays: ByteRelay[] = [];
  const envoys: EnvoyProcess[] = [];
  try {
    const started = Date.now();
    await h.start(onPort(configDocument(services)));
    for (let i = 0; i < 2; i++) relays.push(await startByteRelay(h.tether.xdsPort));
    // One at a time: at 10,000 clusters an Envoy's main thread is busy for minutes (2 cores).
    for (const [i, metadata] of [{ TETHER_VHDS: 'true' }, {}].entries()) {
      envoys.push(await startEnvoy({ xdsPort: relays[i]!.port, delta: true, metadata }));
      await sleepUntil(() => h.tether.registry.list().length > i, 60_000);
      if (!(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 600_000 }))) throw new Error(`Envoy ${i} did not apply the first config`);
    }
    const initial = relays.map((r) => r.received());
    console.log(`Envoy ${envoyVersion()}, S=${services}: both Envoys in sync after ${Date.now() - started} ms; initial bytes VHDS ${initial[0]}, full RDS ${initial[1]}`);
    const rx = (e: EnvoyProcess) => e.stat('cluster.tether-xds.upstream_cx_rx_bytes_total').then((n) => n ?? 0);
    for (let k = 1; k <= edits; k++) {
      const before = relays.map((r) => r.received());
      const chunksBefore = relays[0]!.chunks().length;
      const envoyBefore = await Promise.all(envoys.map(rx));
      const applied = await h.tether.applyText(JSON.stringify(onPort(editedDocument(services, k))), `edit ${k}`);
      if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
      if (!(await h.tether.registry.waitForConfigVersion(applied.version, { timeoutMs: 120_000 }))) throw new Error(`edit ${k} not applied`);
      const sent = relays.map((r, i) => r.received() - before[i]!);
      const counted = (await Promise.all(envoys.map(rx))).map((n, i) => n - envoyBefore[i]!);
      const dump = (await envoys[0]!.configDump()) as Json;
      const rc = dump.configs.find((c: Json) => String(c['@type']).endsWith('.RoutesConfigDump')).dynamic_route_configs[0].route_config;
      const host = rc.virtual_hosts.find((v: Json) => v.name === 'http/svc-0');
      if (!JSON.stringify(host).includes(`"e${k}"`)) throw new Error(`edit ${k} not in the VHDS Envoy's config_dump`);
      const chunks = relays[0]!.chunks().slice(chunksBefore).join('+');
      console.log(`edit ${k}: VHDS Envoy ${sent[0]} B (${chunks}; Envoy counted ${counted[0]} B); full-RDS Envoy ${sent[1]} B (Envoy counted ${counted[1]} B)`);
    }
    for (const e of envoys) await e.expectNoRejections();
    console.log('update_rejected: 0 on both Envoys');
  } finally {
    for (const e of envoys) await e.close();
    for (const r of relays) await r.close();
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
