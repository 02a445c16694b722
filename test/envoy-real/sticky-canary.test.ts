/**
 * Sticky canary on a real Envoy (issue 12.7): as the canary grows 1 → 10 → 50 → 100 %, every
 * user reaches one version within a step and only ever moves v1 → v2, in each mode Envoy can get:
 *
 * - ring mode on Envoy 1.40: weighted clusters picked by the route's hash (use_hash_policy);
 * - ring mode on an Envoy served as before 1.36 (TETHER_ENVOY_API: the same binary capped):
 *   the synthetic ring over every version;
 * - header mode: Tether's ext_proc server adds the x-tether-bucket header, Envoy's
 *   header_name picks the version.
 *
 * It also measures, for users who stay on v1 across a step, how many change v1 replica (issue 11.9):
 * none with use_hash_policy (v1's own ring never changes), some with the synthetic ring.
 * Everything is observed through requests via Envoy (the replica and version in each reply) and
 * Envoy's admin endpoint (config_dump, update_rejected).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';

const USERS = 300;
const STEPS = [1, 10, 50, 100] as const;
const CONCURRENCY = 16;

type Json = Record<string, any>;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Sample {
  version: string;
  replica: string;
}

/** Where each user lands at one step: two requests each, which must agree. */
async function observe(port: number, host: string): Promise<Sample[]> {
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
  return pool(users, CONCURRENCY, async (user) => {
    const seen: Sample[] = [];
    for (let i = 0; i < 2; i++) {
      let reply = await request(port, { headers: { host, 'x-user': user }, fresh: false });
      // This test is about where keyed requests go. A request whose ext_proc call failed
      // (fail-open: no bucket header reached the replica) is unkeyed and placed at random, so
      // it is sent again, a bounded number of times (seen under load: a few in a thousand).
      for (let retry = 0; retry < 5 && host.startsWith('bucket.') && reply.json?.headers['x-tether-bucket'] === undefined; retry++) {
        reply = await request(port, { headers: { host, 'x-user': user }, fresh: false });
      }
      expect(reply.status, reply.body).toBe(200);
      if (host.startsWith('bucket.')) expect(reply.json?.headers['x-tether-bucket'], `${user}: keyed by ext_proc`).toBeDefined();
      seen.push({ version: reply.json!.version, replica: reply.json!.replica });
    }
    expect(seen[1], `${user} reached two places within one step`).toEqual(seen[0]);
    return seen[0]!;
  });
}

interface Movement {
  /** Per step transition: users v1 → v2, v2 → v1, and v1 users whose v1 replica changed. */
  toV2: number[];
  back: number[];
  v1ReplicaChanged: number[];
  v1Stayed: number[];
  shares: number[];
}

function movement(history: Sample[][]): Movement {
  const m: Movement = { toV2: [], back: [], v1ReplicaChanged: [], v1Stayed: [], shares: [] };
  history.forEach((step, s) => {
    m.shares.push(step.filter((x) => x.version === 'v2').length / step.length);
    if (s === 0) return;
    const before = history[s - 1]!;
    let toV2 = 0;
    let back = 0;
    let changed = 0;
    let stayed = 0;
    step.forEach((now, u) => {
      const was = before[u]!;
      if (was.version === 'v1' && now.version === 'v2') toV2++;
      if (was.version === 'v2' && now.version === 'v1') back++;
      if (was.version === 'v1' && now.version === 'v1') {
        stayed++;
        if (was.replica !== now.replica) changed++;
      }
    });
    m.toV2.push(toV2);
    m.back.push(back);
    m.v1ReplicaChanged.push(changed);
    m.v1Stayed.push(stayed);
  });
  return m;
}

function split(v2: number): Json {
  return [
    { name: 'shop-v1', weight: 100 - v2 },
    { name: 'shop-v2', weight: v2 },
  ];
}

describe.skipIf(!envoyAvailable())('sticky canary on a real Envoy', () => {
  const h = new Harness();
  let port = 0;
  let envoy: EnvoyProcess | undefined;
  const results: Record<string, Movement> = {};

  const config = (v2: number): Json => ({
    listeners: [{ name: 'http', port, address: '127.0.0.1' }],
    // The bucket comes from Tether's in-process ext_proc: on a loaded CI box a call can take
    // longer than Envoy's default 200 ms; fail-open then places the request at random.
    extProc: { messageTimeout: '5s' },
    services: [
      {
        name: 'hash',
        domains: ['hash.test'],
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ name: 'main', stickySplit: true, backends: split(v2) }],
      },
      {
        name: 'bucket',
        domains: ['bucket.test'],
        affinity: { keys: [{ header: 'x-user' }], sessionKey: { sources: [{ header: 'x-user' }] } },
        routes: [{ name: 'main', stickySplit: { mode: 'header' }, backends: split(v2) }],
      },
    ],
    backends: [
      { name: 'shop-v1', endpoints: h.replicas.filter((r) => r.version === 'v1').map((r) => `127.0.0.1:${r.httpPort}`) },
      { name: 'shop-v2', endpoints: h.replicas.filter((r) => r.version === 'v2').map((r) => `127.0.0.1:${r.httpPort}`) },
    ],
  });

  /** The weights Envoy has for a service's route (its weighted clusters, or the sticky cluster's EDS shares). */
  async function appliedV2Share(e: EnvoyProcess, service: string): Promise<number | undefined> {
    const dump = await e.configDump();
    const routes = dump.configs.find((c) => String(c['@type']).endsWith('.RoutesConfigDump'));
    const vh = (routes?.dynamic_route_configs ?? []).flatMap((r: Json) => r.route_config?.virtual_hosts ?? []).find((v: Json) => v.name === service);
    const action = vh?.routes?.[0]?.route;
    if (!action) return undefined;
    if (action.weighted_clusters) {
      const clusters = action.weighted_clusters.clusters as Json[];
      const total = clusters.reduce((a, c) => a + c.weight, 0);
      return (clusters.find((c) => c.name === 'shop-v2')?.weight ?? 0) / total;
    }
    if (action.cluster === 'shop-v2') return 1;
    if (action.cluster === 'shop-v1') return 0;
    const eds = dump.configs.find((c) => String(c['@type']).endsWith('.EndpointsConfigDump'));
    const cla = (eds?.dynamic_endpoint_configs ?? []).map((c: Json) => c.endpoint_config).find((c: Json) => c?.cluster_name === action.cluster);
    if (!cla) return undefined;
    const v2Ports = new Set(h.replicas.filter((r) => r.version === 'v2').map((r) => r.httpPort));
    let all = 0;
    let v2 = 0;
    for (const lb of cla.endpoints.flatMap((l: Json) => l.lb_endpoints)) {
      if (lb.health_status === 'DRAINING') continue;
      all += lb.load_balancing_weight;
      if (v2Ports.has(lb.endpoint.address.socket_address.port_value)) v2 += lb.load_balancing_weight;
    }
    return v2 / all;
  }

  async function setSplit(e: EnvoyProcess, v2: number, services: readonly string[]): Promise<void> {
    h.writeConfig(config(v2));
    for (const service of services) {
      await e.until(`${service} at ${v2} % on Envoy`, async () => {
        const share = await appliedV2Share(e, service);
        return share !== undefined && Math.abs(share - v2 / 100) < 0.001;
      }, 20_000, 100);
    }
    // The dump can show a cluster that is still warming: wait until Envoy has ACKed every type
    // of this version (it ACKs CDS only once the updated clusters are warm).
    expect(await h.tether.registry.waitForConfigVersion(h.tether.current().version, { timeoutMs: 20_000 })).toBe(true);
  }

  async function rollout(e: EnvoyProcess, services: Record<string, string>): Promise<void> {
    const history: Record<string, Sample[][]> = Object.fromEntries(Object.keys(services).map((s) => [s, []]));
    for (const v2 of STEPS) {
      await setSplit(e, v2, Object.values(services));
      for (const [label, service] of Object.entries(services)) history[label]!.push(await observe(port, `${service}.test`));
    }
    for (const [label, steps] of Object.entries(history)) results[label] = movement(steps);
  }

  beforeAll(async () => {
    await h.replica('v1-a', 'v1');
    await h.replica('v1-b', 'v1');
    await h.replica('v2-a', 'v2');
    await h.replica('v2-b', 'v2');
    port = await freePort();
    await h.start(config(1), { extProc: { host: '127.0.0.1', port: 0 }, admin: false });
  });

  // Each test runs its own Envoy on the shared listener port: the previous one must be gone
  // (two Envoys on one port share its connections through SO_REUSEPORT).
  afterEach(async () => {
    const e = envoy;
    envoy = undefined;
    try {
      await e?.expectNoRejections();
    } finally {
      await e?.close();
    }
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
    // eslint-disable-next-line no-console
    console.info(`sticky canary on Envoy, ${USERS} users, ${STEPS.join(' → ')} %:\n${JSON.stringify(results, null, 1)}`);
  });

  it('Envoy 1.40: hash mode (use_hash_policy) and header mode (ext_proc bucket) are monotone, and v1 users keep their replica in hash mode', async () => {
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, extProcPort: h.tether.extProcPort! });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    // What Envoy holds is the weighted clusters picked by the hash, not a synthetic ring.
    await setSplit(envoy, 1, ['hash', 'bucket']);
    // Envoy connects to the ext_proc server on the first keyed request; wait until keying works.
    await envoy.until('the ext_proc bucket through Envoy', async () => (await request(port, { headers: { host: 'bucket.test', 'x-user': 'warm-up' } })).json?.headers['x-tether-bucket'] !== undefined, 20_000, 200);
    const dump = JSON.stringify(await envoy.configDump());
    expect(dump).toContain('"use_hash_policy":true');
    expect(dump).toContain('"header_name":"x-tether-bucket"');
    expect(dump).not.toContain('hash~main~sticky');

    await rollout(envoy, { 'hash (Envoy 1.40, use_hash_policy)': 'hash', 'header (ext_proc bucket)': 'bucket' });
    for (const label of ['hash (Envoy 1.40, use_hash_policy)', 'header (ext_proc bucket)']) {
      const m = results[label]!;
      expect(m.back, label).toEqual([0, 0, 0]);
      expect(m.shares[3], label).toBe(1);
      expect(m.shares[0]!, label).toBeLessThan(0.05);
      expect(Math.abs(m.shares[2]! - 0.5), label).toBeLessThan(0.1);
      expect(m.toV2.reduce((a, b) => a + b, 0), label).toBeGreaterThan(USERS * 0.9);
    }
    expect(results['hash (Envoy 1.40, use_hash_policy)']!.v1ReplicaChanged).toEqual([0, 0, 0]);
  });

  it('an Envoy served as before 1.36 gets the synthetic ring and is monotone too', async () => {
    h.writeConfig(config(1));
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, extProcPort: h.tether.extProcPort!, metadata: { TETHER_ENVOY_API: '1.34' } });
    await envoy.waitConnected();
    await envoy.waitListening(port);
    await setSplit(envoy, 1, ['hash']);
    expect(JSON.stringify(await envoy.configDump())).toContain('hash~main~sticky');

    await rollout(envoy, { 'ring (Envoy < 1.36, synthetic ring)': 'hash' });
    const m = results['ring (Envoy < 1.36, synthetic ring)']!;
    expect(m.back).toEqual([0, 0, 0]);
    expect(m.shares[3]).toBe(1);
    expect(m.shares[0]!).toBeLessThan(0.05);
    expect(Math.abs(m.shares[2]! - 0.5)).toBeLessThan(0.1);
  });
});
