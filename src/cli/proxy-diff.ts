/**
 * `tether verify`'s comparison: what Tether serves a node (GetServedResources) against what
 * that Envoy holds (its /config_dump). Both sides go through the real protos into one JSON
 * form (src/envoy/proto-json.ts), so only a difference in content counts, not in spelling.
 *
 * Listeners, route configurations and clusters appear in the dump exactly as received. Endpoint
 * assignments do not: Envoy rebuilds them from its host sets and writes out what it defaulted
 * (weight 1, health HEALTHY, an empty locality and health-check config, overprovisioning 140),
 * so those defaults are dropped on both sides before comparing, and a host's health is compared
 * the coarse way Envoy reports it (a DRAINING endpoint shows as UNHEALTHY).
 */
import { stringify as toYaml } from 'yaml';
import { unifiedDiff } from '../diff/line-diff';
import { MESSAGE_OF, type DumpedResource } from '../envoy/config-dump';
import { SHOWN_TYPE_NAMES, type ResourceTypeName } from '../envoy/resource-types';
import { canonicalJson } from '../envoy/proto-json';

type JsonObject = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServedResourceJson {
  type: ResourceTypeName;
  name: string;
  json: JsonObject;
}

export interface ProxyDifference {
  type: ResourceTypeName;
  name: string;
  /** missing: served but not on the proxy; extra: on the proxy, not served; differs: both, other content. */
  kind: 'missing' | 'extra' | 'differs';
  /** The proxy has it only warming (received, not in use). */
  warming?: boolean;
  /** Unified diff of the YAML forms, Tether's (a/) against the proxy's (b/). */
  diff: string;
}

const TYPE_ORDER: readonly ResourceTypeName[] = SHOWN_TYPE_NAMES;

/**
 * Envoy prints a host's coarse health, not the EDS status it was sent: DRAINING and TIMEOUT
 * come back as UNHEALTHY, UNKNOWN as HEALTHY (dropped here, being the default).
 */
const COARSE_HEALTH: Record<string, string> = { UNHEALTHY: 'UNHEALTHY', DRAINING: 'UNHEALTHY', TIMEOUT: 'UNHEALTHY', DEGRADED: 'DEGRADED' };

const isEmpty = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v as object).length === 0;

/** Drops what Envoy writes out when it rebuilds a ClusterLoadAssignment for its dump. */
function withoutEndpointDefaults(cla: JsonObject): JsonObject {
  const out = structuredClone(cla);
  for (const group of out.endpoints ?? []) {
    if (isEmpty(group.locality)) delete group.locality;
    if (group.load_balancing_weight === 1) delete group.load_balancing_weight;
    for (const lb of group.lb_endpoints ?? []) {
      if (lb.endpoint && isEmpty(lb.endpoint.health_check_config)) delete lb.endpoint.health_check_config;
      const coarse = COARSE_HEALTH[lb.health_status as string];
      if (coarse) lb.health_status = coarse;
      else delete lb.health_status;
      if (lb.load_balancing_weight === 1) delete lb.load_balancing_weight;
    }
  }
  if (out.policy) {
    if (out.policy.overprovisioning_factor === 140) delete out.policy.overprovisioning_factor;
    if (isEmpty(out.policy)) delete out.policy;
  }
  return out;
}

function comparable(type: ResourceTypeName, json: JsonObject): JsonObject {
  const canonical = canonicalJson(MESSAGE_OF[type], json);
  return type === 'EDS' ? withoutEndpointDefaults(canonical) : canonical;
}

const key = (type: string, name: string) => `${type}\u0000${name}`;

/** Every difference, in LDS, RDS, CDS, EDS order, by name. */
export function diffProxy(served: readonly ServedResourceJson[], dumped: readonly DumpedResource[]): ProxyDifference[] {
  const mine = new Map(served.map((r) => [key(r.type, r.name), r]));
  const theirs = new Map(dumped.map((r) => [key(r.type, r.name), r]));
  const out: ProxyDifference[] = [];
  for (const type of TYPE_ORDER) {
    const names = new Set([...served, ...dumped].filter((r) => r.type === type).map((r) => r.name));
    for (const name of [...names].sort()) {
      const a = mine.get(key(type, name));
      const b = theirs.get(key(type, name));
      const left = a ? comparable(type, a.json) : undefined;
      const right = b ? comparable(type, b.json) : undefined;
      const textA = left ? toYaml(left) : '';
      const textB = right ? toYaml(right) : '';
      if (textA === textB && !b?.warming) continue;
      const label = `${type}/${name}`;
      out.push({
        type,
        name,
        kind: !b ? 'missing' : !a ? 'extra' : 'differs',
        ...(b?.warming ? { warming: true } : {}),
        diff: unifiedDiff(textA, textB, { from: `a/tether/${label}`, to: `b/envoy/${label}` }),
      });
    }
  }
  return out;
}

const KIND_TEXT: Record<ProxyDifference['kind'], string> = {
  missing: 'served by Tether, absent from Envoy',
  extra: 'on Envoy, not served by Tether',
  differs: 'differs',
};

/** One heading per difference (`~ CDS app-v1: differs`) and its diff. */
export function formatProxyDifferences(differences: readonly ProxyDifference[]): string {
  return differences
    .map((d) => {
      const mark = d.kind === 'missing' ? '-' : d.kind === 'extra' ? '+' : '~';
      const heading = `${mark} ${d.type} ${d.name}: ${d.kind === 'differs' && d.warming ? 'warming on Envoy (received, not in use)' : KIND_TEXT[d.kind]}${d.warming && d.kind !== 'differs' ? ' (warming)' : ''}`;
      return d.diff ? `${heading}\n${d.diff.replace(/\n$/, '')}` : heading;
    })
    .join('\n');
}
