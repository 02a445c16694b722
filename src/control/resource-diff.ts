import { stringify } from 'yaml';
import type { Snapshot } from '../cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from '../envoy/type-urls';
import { NODE_KINDS, readableAny, type NodeKind } from '../translate';
import { stableStringify } from '../util/content-hash';
import { unifiedDiff } from './line-diff';
import type { ResourceChange, ResourceTypeName } from './types';

/** The xDS types in the order changes are listed (the order people read a config in). */
const TYPES: ReadonlyArray<{ type: ResourceTypeName; typeUrl: ResourceTypeUrl }> = [
  { type: 'LDS', typeUrl: LISTENER_TYPE },
  { type: 'RDS', typeUrl: ROUTE_TYPE },
  { type: 'CDS', typeUrl: CLUSTER_TYPE },
  { type: 'EDS', typeUrl: ENDPOINT_TYPE },
];

const yaml = (resource: Record<string, unknown>): string => stringify(resource, { lineWidth: 0 });

/**
 * What clients would see change between two sets of snapshots: per node kind (envoy, then
 * grpc) and type (LDS, RDS, CDS, EDS), the resources added, removed or modified, by name.
 * Resources are compared in their wire form: a type whose version is unchanged is skipped
 * whole, and only resources whose encoded bytes differ are decoded (so an edit of one
 * route in a config of 10,000 services decodes two resources, not 80,000). MODIFIED entries
 * carry a unified diff of the decoded form as YAML. `before` undefined means nothing was
 * served yet.
 */
export function diffResources(before: ReadonlyMap<NodeKind, Snapshot> | undefined, after: ReadonlyMap<NodeKind, Snapshot>): ResourceChange[] {
  const kinds = NODE_KINDS.filter((k) => before?.has(k) || after.has(k));
  const changes: ResourceChange[] = [];
  for (const nodeKind of kinds) {
    const old = before?.get(nodeKind);
    const neu = after.get(nodeKind);
    for (const { type, typeUrl } of TYPES) {
      const was = old?.sets[typeUrl];
      const is = neu?.sets[typeUrl];
      if (was && is && was.version === is.version) continue;
      const names = [...new Set([...(was?.resources.keys() ?? []), ...(is?.resources.keys() ?? [])])].sort();
      for (const name of names) {
        const x = was?.resources.get(name);
        const y = is?.resources.get(name);
        if (!x) changes.push({ nodeKind, type, name, action: 'ADDED' });
        else if (!y) changes.push({ nodeKind, type, name, action: 'REMOVED' });
        else if (x.hash !== y.hash) {
          const a = readableAny(x.anyBytes);
          const b = readableAny(y.anyBytes);
          if (stableStringify(a) === stableStringify(b)) continue;
          const label = `${nodeKind}/${type}/${name}`;
          changes.push({ nodeKind, type, name, action: 'MODIFIED', diff: unifiedDiff(yaml(a), yaml(b), { from: `a/${label}`, to: `b/${label}` }) });
        }
      }
    }
  }
  return changes;
}
