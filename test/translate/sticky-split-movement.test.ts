/**
 * Sticky canary in ring mode, gRPC nodes: who changes replica without changing version.
 *
 * grpc-js-xds picks weighted clusters at random, so the version comes from one ring over every
 * version. On one ring a version gains share only by gaining points or by the others losing
 * theirs, and either moves users within a version: a lost point sends its users to the next
 * point (often the same version's other replica), a new point takes the users before it (its
 * own version's too). Which points a host has is fixed by its address (XXH64("<ip:port>_<i>"),
 * i < its count), so no choice of weights puts lost points only before another version's.
 * Tether chooses which version moves (src/translate/sticky-points.ts): the largest keeps its
 * 2048 points and the ring grows or shrinks around it. So while v1 has at least half of the
 * traffic its users keep their replica, and once v2 has half, v2's do.
 *
 * This measures that with Tether's translation and src/affinity's ring (checked here against
 * grpc-js-xds's own ring_hash balancer at every step) and pins the figures
 * docs/config-reference.md and examples/sticky-canary.yaml give beside the "users only move
 * v1 → v2" guarantee.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRing, initHashing, ringPick, syntheticHashes, type HashRing } from '../../src/affinity';
import type { EndpointSpec, TetherConfig } from '../../src/model/types';
import { staticEndpoints, translate } from '../../src/translate';
import { createGrpcRingOracle, type GrpcRingOracle } from '../support/ring-hash-reference.grpc-oracle';
import { backend, backendRef, config, route, service } from './fixtures';

const STICKY = 'canary~main~sticky';
const STEPS = [1, 10, 25, 50, 75, 100] as const;
const USERS = 100_000;

const eps = (prefix: string, n: number): EndpointSpec[] => Array.from({ length: n }, (_, i) => ({ host: `${prefix}.${i + 1}`, port: 8080, weight: 1, drain: false }));

/** The documented scenario: v1 on 3 replicas, v2 on 2, stickySplit in ring mode. */
function canary(v2: number): TetherConfig {
  return config(
    [
      service('canary', [route('main', [backendRef('v1', 100 - v2), backendRef('v2', v2)], { stickySplit: { mode: 'ring' } })], {
        affinity: { keys: [{ kind: 'header', name: 'x-user', terminal: true }] },
      }),
    ],
    [backend('v1', { endpoints: eps('10.1.0', 3) }), backend('v2', { endpoints: eps('10.2.0', 2) })],
  );
}

interface Served {
  hosts: Array<{ ip: string; port: number; weight: number }>;
  minRingSize: number;
  maxRingSize: number;
  ring: HashRing;
}

/** The sticky cluster as gRPC nodes are served it, and src/affinity's ring of it. */
function served(v2: number): Served {
  const cfg = canary(v2);
  const out = translate(cfg, staticEndpoints(cfg), 'grpc');
  const cluster = out.clusters.find((c) => c.name === STICKY)!;
  const cla = out.endpoints.find((c) => c.cluster_name === cluster.eds_cluster_config!.service_name)!;
  const hosts = cla.endpoints!.flatMap((l) =>
    l.lb_endpoints!.map((lb) => ({ ip: lb.endpoint!.address!.socket_address!.address!, port: lb.endpoint!.address!.socket_address!.port_value!, weight: lb.load_balancing_weight!.value! })),
  );
  const minRingSize = Number(cluster.ring_hash_lb_config!.minimum_ring_size!.value);
  const maxRingSize = Number(cluster.ring_hash_lb_config!.maximum_ring_size!.value);
  const ring = buildRing(
    hosts.map((h) => ({ address: `${h.ip}:${h.port}`, key: `${h.ip}:${h.port}`, weight: h.weight })),
    { flavour: 'grpc', minRingSize, maxRingSize },
  );
  return { hosts, minRingSize, maxRingSize, ring };
}

const versionOf = (address: string) => (address.startsWith('10.2.') ? 'v2' : 'v1');
const pct = (n: number) => (n * 100).toFixed(1);

interface StepMovement {
  step: string;
  /** Shares of all users. */
  v1ToV2: number;
  v2ToV1: number;
  withinV1: number;
  withinV2: number;
}

function movement(): StepMovement[] {
  const hashes = syntheticHashes(USERS, 'movement');
  const picks = STEPS.map((s) => {
    const { ring } = served(s);
    return hashes.map((h) => ringPick(ring, h)!);
  });
  return STEPS.slice(1).map((to, i) => {
    const [a, b] = [picks[i]!, picks[i + 1]!];
    const m = { v1ToV2: 0, v2ToV1: 0, withinV1: 0, withinV2: 0 };
    for (let u = 0; u < hashes.length; u++) {
      if (a[u] === b[u]) continue;
      const [x, y] = [versionOf(a[u]!), versionOf(b[u]!)];
      if (x !== y) m[x === 'v1' ? 'v1ToV2' : 'v2ToV1']++;
      else m[x === 'v1' ? 'withinV1' : 'withinV2']++;
    }
    return {
      step: `${STEPS[i]} → ${to} %`,
      v1ToV2: m.v1ToV2 / USERS,
      v2ToV1: m.v2ToV1 / USERS,
      withinV1: m.withinV1 / USERS,
      withinV2: m.withinV2 / USERS,
    };
  });
}

const repoFile = (name: string) => fs.readFileSync(path.resolve(__dirname, '../..', name), 'utf8');

beforeAll(() => initHashing());

describe('stickySplit ring mode, gRPC nodes: movement within a version at each step', () => {
  let measured: StepMovement[];
  beforeAll(() => {
    measured = movement();
    for (const m of measured) {
      console.info(`${m.step}: ${pct(m.v1ToV2)} % v1 → v2, ${pct(m.withinV1)} % stay on v1 on another replica, ${pct(m.withinV2)} % stay on v2 on another replica`);
    }
  });

  it('never moves a user back; v1 users keep their replica while v1 has half, v2 users once v2 has half', () => {
    for (const m of measured) expect(m.v2ToV1).toBe(0);
    STEPS.slice(1).forEach((to, i) => {
      const from = STEPS[i]!;
      const m = measured[i]!;
      if (to <= 50) expect(m.withinV1, m.step).toBe(0);
      if (from >= 50) expect(m.withinV2, m.step).toBe(0);
      // The other version's users do move: v2 grows by new points up to half, v1 shrinks after.
      if (to <= 50 && from >= 10) expect(m.withinV2, m.step).toBeGreaterThan(0.001);
      if (from >= 50 && to < 100) expect(m.withinV1, m.step).toBeGreaterThan(0.001);
      // Those who change version are the share v2 gains (within ring-share noise).
      expect(Math.abs(m.v1ToV2 - (to - from) / 100), m.step).toBeLessThan(0.03);
    });
  });

  it('docs/config-reference.md and examples/sticky-canary.yaml give the measured figures', () => {
    const reference = repoFile('docs/config-reference.md');
    for (const m of measured) {
      const row = `| ${m.step} | ${pct(m.v1ToV2)} % | ${pct(m.withinV1)} % | ${pct(m.withinV2)} % |`;
      expect(reference, `config-reference.md lacks the row ${row}`).toContain(row);
    }
    const example = repoFile('examples/sticky-canary.yaml');
    const [, to25, to50, to75] = measured as [StepMovement, StepMovement, StepMovement, StepMovement];
    expect(example).toContain(`(${pct(to25.withinV2)} % of users at 10 → 25 %, ${pct(to50.withinV2)} % at 25 → 50 %)`);
    expect(example).toContain(`(${pct(to75.withinV1)} % at 50 → 75 %)`);
  });
});

describe("src/affinity's ring of the sticky cluster is grpc-js-xds's", () => {
  const oracles: GrpcRingOracle[] = [];
  afterAll(() => oracles.forEach((o) => o.close()));

  it.each(STEPS)('%s %%: the same replica for 3,000 users and at every ring point', async (step) => {
    const s = served(step);
    const oracle = await createGrpcRingOracle(s.hosts, { minRingSize: s.minRingSize, maxRingSize: s.maxRingSize });
    oracles.push(oracle);
    const probes = syntheticHashes(3000, `oracle-${step}`);
    for (const h of s.ring.hashes) probes.push(h);
    let mismatches = 0;
    for (const h of probes) if ((await oracle.pick(h)) !== ringPick(s.ring, h)) mismatches++;
    expect(mismatches).toBe(0);
    expect(s.ring.hashes.length).toBe(s.minRingSize);
  });
});
