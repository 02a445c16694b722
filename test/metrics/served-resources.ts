import { buildSnapshot } from '../../src/cache/snapshot';
import type { ServedResources } from '../../src/metrics';
import type { TetherConfig } from '../../src/model/types';
import { staticEndpoints, translate } from '../../src/translate';
import { NODE_KINDS, type NodeKind } from '../../src/model/node-targets';
import type { EnvoyResources } from '../../src/envoy/resources';

/** What every kind of node is served for `config` (IP endpoints only), as the publisher holds it. */
export function servedResources(config: TetherConfig): ServedResources {
  const endpoints = staticEndpoints(config);
  const resources = new Map<NodeKind, EnvoyResources>();
  const snapshots = new Map(
    NODE_KINDS.map((kind) => {
      const r = translate(config, endpoints, kind);
      resources.set(kind, r);
      return [kind, buildSnapshot(r, kind, '1')] as const;
    }),
  );
  return { resources, snapshots };
}
