import { stringify } from 'yaml';
import { NODE_KINDS, toReadable, type EnvoyResources, type NodeKind, type ReadableResources } from '../translate';
import { stableStringify } from '../util/content-hash';
import { unifiedDiff } from './line-diff';
import type { ResourceChange, ResourceTypeName } from './types';

/** The xDS types in the order changes are listed (the order people read a config in). */
const TYPES: ReadonlyArray<{ type: ResourceTypeName; key: keyof ReadableResources; nameField: string }> = [
  { type: 'LDS', key: 'listeners', nameField: 'name' },
  { type: 'RDS', key: 'routes', nameField: 'name' },
  { type: 'CDS', key: 'clusters', nameField: 'name' },
  { type: 'EDS', key: 'endpoints', nameField: 'cluster_name' },
];

function byName(resources: Record<string, unknown>[] | undefined, nameField: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of resources ?? []) out.set(String(r[nameField] ?? ''), r);
  return out;
}

const yaml = (resource: Record<string, unknown>): string => stringify(resource, { lineWidth: 0 });

/**
 * What clients would see change between two sets of resources: per node kind (envoy, then
 * grpc) and type (LDS, RDS, CDS, EDS), the resources added, removed or modified, by name.
 * Resources are compared in their wire form (toReadable: encoded through the protos and
 * decoded), so only differences a client receives count. MODIFIED entries carry a unified
 * diff of that form as YAML. `before` undefined means nothing was served yet.
 */
export function diffResources(
  before: ReadonlyMap<NodeKind, EnvoyResources> | undefined,
  after: ReadonlyMap<NodeKind, EnvoyResources>,
): ResourceChange[] {
  const kinds = NODE_KINDS.filter((k) => before?.has(k) || after.has(k));
  const changes: ResourceChange[] = [];
  for (const nodeKind of kinds) {
    const old = before?.get(nodeKind);
    const neu = after.get(nodeKind);
    const a = old ? toReadable(old) : undefined;
    const b = neu ? toReadable(neu) : undefined;
    for (const { type, key, nameField } of TYPES) {
      const was = byName(a?.[key], nameField);
      const is = byName(b?.[key], nameField);
      const names = [...new Set([...was.keys(), ...is.keys()])].sort();
      for (const name of names) {
        const x = was.get(name);
        const y = is.get(name);
        if (!x) changes.push({ nodeKind, type, name, action: 'ADDED' });
        else if (!y) changes.push({ nodeKind, type, name, action: 'REMOVED' });
        else if (stableStringify(x) !== stableStringify(y)) {
          const label = `${nodeKind}/${type}/${name}`;
          changes.push({ nodeKind, type, name, action: 'MODIFIED', diff: unifiedDiff(yaml(x), yaml(y), { from: `a/${label}`, to: `b/${label}` }) });
        }
      }
    }
  }
  return changes;
}
