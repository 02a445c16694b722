import { buildSnapshot } from '../../src/cache/snapshot';
import { makeRendition, type Rendition } from '../../src/control/rendition';
import type { TetherConfig } from '../../src/model/types';
import { staticEndpoints, translate } from '../../src/translate';
import { NODE_KINDS, type NodeKind } from '../../src/model/node-targets';
import type { EnvoyResources } from '../../src/envoy/resources';

/** The rendition of `config` (IP endpoints only) as the publisher makes it: what every kind of node is served. */
export function servedResources(config: TetherConfig): Rendition {
  const endpoints = staticEndpoints(config);
  const resources = new Map<NodeKind, EnvoyResources>();
  const snapshots = new Map(
    NODE_KINDS.map((kind) => {
      const r = translate(config, endpoints, kind);
      resources.set(kind, r);
      return [kind, buildSnapshot(r, kind, '1')] as const;
    }),
  );
  return makeRendition({ version: 1, config, endpoints, tls: new Map(), resources, snapshots, warnings: [] });
}
