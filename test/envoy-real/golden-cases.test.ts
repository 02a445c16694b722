/**
 * Every golden case (test/golden/<case>/) served to one real Envoy, one after another through
 * Tether edits: Envoy ACKs every resource (no update_rejected in its /stats), its /config_dump
 * holds exactly the listeners, route configurations, clusters and endpoints Tether sent, and
 * what Tether sent is the case's envoy.yaml.
 *
 * Only what a shared machine forces is changed in each input, and the same change is applied
 * to envoy.yaml before comparing: listeners bind 127.0.0.1 on a free port (one per listener
 * name, kept across cases so that no draining listener holds a port), and a DNS ext_proc
 * address uses `localhost` (Envoy resolves it itself). DNS names in endpoints resolve to the
 * addresses of the case's endpoints.yaml through Tether's injectable lookup. gRPC outputs
 * need nothing from Envoy (test/golden checks them against grpc-js-xds's rules).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from '../../src/envoy/resource-types';
import { readableAny } from '../../src/translate/readable';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';

type Json = Record<string, any>;

const GOLDEN = path.resolve(__dirname, '..', 'golden');
/**
 * Cases whose input names files Tether reads (TLS certificates): served to a real Envoy by
 * test/envoy-real/downstream-tls.test.ts, with certificates made there.
 */
const NEEDS_FILES = new Set(['tls-listener']);
const cases = fs
  .readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !NEEDS_FILES.has(d.name))
  .map((d) => d.name)
  .sort();

const read = (name: string, file: string): Json | undefined => {
  const p = path.join(GOLDEN, name, file);
  return fs.existsSync(p) ? ((parse(fs.readFileSync(p, 'utf8')) ?? {}) as Json) : undefined;
};

/** host name → addresses, from every case's endpoints.yaml (the goldens' stand-in for DNS). */
function goldenDns(): Map<string, string[]> {
  const dns = new Map<string, string[]>();
  for (const name of cases) {
    for (const list of Object.values(read(name, 'endpoints.yaml') ?? {}) as Array<Array<{ ip: string; hostname?: string }> | null>) {
      for (const e of list ?? []) if (e.hostname) dns.set(e.hostname, [...(dns.get(e.hostname) ?? []), e.ip]);
    }
  }
  return dns;
}

const TYPES: Array<[ResourceTypeUrl, 'listeners' | 'routes' | 'clusters' | 'endpoints']> = [
  [LISTENER_TYPE, 'listeners'],
  [ROUTE_TYPE, 'routes'],
  [CLUSTER_TYPE, 'clusters'],
  [ENDPOINT_TYPE, 'endpoints'],
];

const nameOf = (r: Json): string => String(r.name ?? r.cluster_name);
const sortedNames = (list: Json[]): string[] => list.map(nameOf).sort();

/** Replaces every socket_address {address, port_value} found in `moves` (key "address:port"). */
function moveAddresses(value: unknown, moves: Map<string, { address: string; port: number }>): unknown {
  if (Array.isArray(value)) return value.map((v) => moveAddresses(v, moves));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const to = k === 'socket_address' ? moves.get(`${(v as Json).address}:${(v as Json).port_value}`) : undefined;
    out[k] = to ? { ...(v as Json), address: to.address, port_value: to.port } : moveAddresses(v, moves);
  }
  return out;
}

describe.skipIf(!envoyAvailable())('golden cases on a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  const portOf = new Map<string, number>();

  beforeAll(async () => {
    const dns = goldenDns();
    await h.start({}, {
      lookup: async (host) => {
        const ips = dns.get(host);
        if (!ips) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return ips;
      },
    });
    // A removed listener drains for --drain-time-s; 1 s keeps the dump's leftovers short-lived.
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, args: ['--drain-time-s', '1'] });
    await envoy.waitConnected();
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  /** The case's input made runnable here, and the address moves to apply to its envoy.yaml. */
  async function localize(name: string): Promise<{ input: Json; moves: Map<string, { address: string; port: number }> }> {
    const input = read(name, 'input.yaml')!;
    const moves = new Map<string, { address: string; port: number }>();
    for (const l of (input.listeners ?? []) as Json[]) {
      let port = portOf.get(l.name);
      if (port === undefined) portOf.set(l.name, (port = await freePort()));
      moves.set(`${l.address ?? '0.0.0.0'}:${l.port}`, { address: '127.0.0.1', port });
      l.address = '127.0.0.1';
      l.port = port;
    }
    const extProcAddress: unknown = input.extProc?.address;
    if (typeof extProcAddress === 'string' && !/^[\d.]+:\d+$/.test(extProcAddress)) {
      const [host, port] = [extProcAddress.slice(0, extProcAddress.lastIndexOf(':')), Number(extProcAddress.split(':').pop())];
      moves.set(`${host}:${port}`, { address: 'localhost', port });
      input.extProc.address = `localhost:${port}`;
    }
    return { input, moves };
  }

  it('has cases', () => expect(cases.length).toBeGreaterThan(20));

  it.each(cases)('%s: Envoy ACKs every resource and holds what Tether sent', async (name) => {
    const { input, moves } = await localize(name);
    const applied = await h.tether.applyText(JSON.stringify(input), `golden/${name}`);
    if (!applied.ok) throw new Error(`golden/${name} rejected: ${JSON.stringify(applied.errors)}`);
    expect(await h.tether.registry.waitForConfigVersion(applied.version, { kind: 'envoy', timeoutMs: 10_000 }), 'Envoy ACKed the version').toBe(true);

    // What Tether sent is the golden file, up to the moved addresses.
    const snapshot = h.tether.cache.get('envoy')!;
    const sent = Object.fromEntries(TYPES.map(([t, key]) => [key, snapshot.sets[t].list.map((r) => readableAny(r.anyBytes) as Json)]));
    const { warnings: _warnings, ...golden } = moveAddresses(read(name, 'envoy.yaml'), moves) as Json;
    for (const [, key] of TYPES) {
      const expected = [...((golden[key] ?? []) as Json[])].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
      expect(sent[key], `${key} sent vs test/golden/${name}/envoy.yaml`).toEqual(expected);
    }

    // Envoy holds exactly that: nothing warming, nothing left over, at the versions sent.
    const want = {
      listeners: sortedNames(sent.listeners!),
      routes: sortedNames(sent.routes!),
      clusters: sortedNames(sent.clusters!),
      endpoints: sortedNames(sent.endpoints!),
    };
    let last: unknown;
    const held = await envoy.until(`Envoy's config_dump to hold golden/${name}`, async () => {
      const dump = await envoy.configDump();
      const section = (suffix: string): Json => dump.configs.find((c) => String(c['@type']).endsWith(`.${suffix}`)) ?? {};
      const listeners = section('ListenersConfigDump');
      const clusters = section('ClustersConfigDump');
      const active = (clusters.dynamic_active_clusters ?? []) as Json[];
      const eds = new Set(active.filter((c) => c.cluster.type === 'EDS').map((c) => String(c.cluster.eds_cluster_config?.service_name ?? c.cluster.name)));
      const got = {
        listeners: ((listeners.dynamic_listeners ?? []) as Json[]).filter((l) => l.active_state && !l.warming_state).map((l) => String(l.name)).sort(),
        routes: ((section('RoutesConfigDump').dynamic_route_configs ?? []) as Json[]).map((r) => String(r.route_config.name)).sort(),
        clusters: active.map((c) => String(c.cluster.name)).sort(),
        // A STRICT_DNS cluster's resolved hosts are listed here too: only EDS came from Tether.
        endpoints: ((section('EndpointsConfigDump').dynamic_endpoint_configs ?? []) as Json[])
          .map((e) => String(e.endpoint_config.cluster_name))
          .filter((n) => eds.has(n))
          .sort(),
        warming: [...((listeners.dynamic_listeners ?? []) as Json[]).filter((l) => l.warming_state), ...((clusters.dynamic_warming_clusters ?? []) as Json[])].length,
        versions: { lds: String(listeners.version_info ?? ''), cds: String(clusters.version_info ?? '') },
      };
      last = got;
      const same = (Object.keys(want) as Array<keyof typeof want>).every((k) => JSON.stringify(got[k]) === JSON.stringify(want[k]));
      return same && got.warming === 0 ? got : undefined;
    }, 10_000).catch(async (err: Error) => {
      throw new Error(`${err.message.split('\n')[0]}\nwant ${JSON.stringify(want)}\ngot ${JSON.stringify(last)}\nrejections ${JSON.stringify(await envoy.rejections())}`);
    });
    // With nothing retained for make-before-break, the versions are the snapshot's.
    expect(held.versions).toEqual({ lds: snapshot.sets[LISTENER_TYPE].version, cds: snapshot.sets[CLUSTER_TYPE].version });
    await envoy.expectNoRejections();
  });
});
