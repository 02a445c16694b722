/**
 * Conformance without an Envoy binary: every golden case (whatever folders test/golden holds)
 * is translated for every target (both kinds of node, and the older Envoy API levels), the way
 * test/golden does it, and every resource is
 *
 *   1. encoded through the real Envoy proto (`encodeMessage`: unknown or misspelled fields and
 *      enum names throw) and decoded back, with nothing changed but representation
 *      (`canonical`), and every Any payload re-encoding to its exact bytes;
 *   2. checked against Envoy's protoc-gen-validate rules (`src/envoy/pgv.ts`), Any payloads
 *      included: Envoy runs the same rules and NACKs a resource that fails one.
 *
 * A failure lists every problem as `resource: path: rule (why)`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/config';
import type { TetherConfig } from '../../src/model/types';
import { NODE_TARGETS, staticEndpoints, translate } from '../../src/translate';
import type { NodeTarget, ResolvedEndpoint, ResolvedEndpoints } from '../../src/translate';
import { conformanceProblems } from './check-resources';

const GOLDEN = path.join(__dirname, '..', 'golden');

const cases = fs
  .readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(GOLDEN, d.name, 'input.yaml')))
  .map((d) => d.name)
  .sort();

/** Same inputs as test/golden/golden.test.ts: input.yaml, and endpoints.yaml when present. */
function loadCase(name: string): { config: TetherConfig; endpoints: ResolvedEndpoints } {
  const dir = path.join(GOLDEN, name);
  const file = path.join(dir, 'input.yaml');
  const parsed = parseConfigText(fs.readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(`${file} is invalid:\n${parsed.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`);
  const endpointsFile = path.join(dir, 'endpoints.yaml');
  if (!fs.existsSync(endpointsFile)) return { config: parsed.config, endpoints: staticEndpoints(parsed.config) };
  const raw = (parseYaml(fs.readFileSync(endpointsFile, 'utf8')) ?? {}) as Record<string, Array<Partial<ResolvedEndpoint>> | null>;
  const endpoints = new Map<string, ResolvedEndpoint[]>();
  for (const [backend, list] of Object.entries(raw)) {
    endpoints.set(
      backend,
      (list ?? []).map((e) => ({ ...e, ip: String(e.ip), port: Number(e.port), weight: e.weight ?? 1 }) as ResolvedEndpoint),
    );
  }
  return { config: parsed.config, endpoints };
}

describe('golden outputs conform to Envoy protos and PGV rules', () => {
  it('has golden cases to check', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it('the check finds what Envoy would reject or a client would decode differently', () => {
    const problems = conformanceProblems({
      listeners: [],
      routes: [{ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: {} }] }] }],
      // A string in a bool field: protobufjs encodes Boolean('false') === true.
      clusters: [{ name: 'c', connect_timeout: { seconds: '1' }, respect_dns_ttl: 'false' as never }],
      // 2^32 does not fit a uint32: it goes on the wire as 0.
      endpoints: [{ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ load_balancing_weight: { value: 4294967296 } }] }] }],
    });
    expect(problems).toEqual([
      'routes[r]: virtual_hosts[0].routes[0].route.cluster_specifier: oneof.required (exactly one of cluster, cluster_header, weighted_clusters, cluster_specifier_plugin, inline_cluster_specifier_plugin must be set)',
      'clusters[c]: round trip: respect_dns_ttl: sent "false", decoded true',
      'endpoints[c]: round trip: endpoints[0].lb_endpoints[0].load_balancing_weight.value: sent 4294967296, decoded (absent: default)',
      'endpoints[c]: endpoints[0].lb_endpoints[0].load_balancing_weight: uint32.gte (0 must be >= 1)',
    ]);
  });

  describe.each(cases)('%s', (name) => {
    it.each(NODE_TARGETS as NodeTarget[])('%s: round trip unchanged, no PGV violation', (kind) => {
      const { config, endpoints } = loadCase(name);
      const resources = translate(config, endpoints, kind);
      expect(conformanceProblems(resources)).toEqual([]);
    });
  });
});
