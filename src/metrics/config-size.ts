/** The size of what each kind of node is served, from its snapshot. */
import { Gauge, type Registry } from 'prom-client';
import type { Snapshot } from '../cache/snapshot';
import { PUSH_ORDER, TYPE_LABELS, type ResourceTypeUrl } from '../envoy/resource-types';
import type { NodeKind } from '../model/node-targets';

interface SizeOfKind {
  bytes: Record<ResourceTypeUrl, number>;
  resources: Record<ResourceTypeUrl, number>;
}

export interface ConfigSizeMetrics {
  snapshotPublished(snapshot: Snapshot): void;
}

export function createConfigSizeMetrics(registry: Registry): ConfigSizeMetrics {
  const sizes = new Map<NodeKind, SizeOfKind>();
  // A type whose resources did not change keeps its set object from snapshot to snapshot:
  // its byte count is not summed again (10,000 clusters and assignments per edit).
  const setBytes = new WeakMap<object, number>();

  const perType = (name: string, help: string, pick: (s: SizeOfKind) => Record<ResourceTypeUrl, number>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['kind', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, size] of sizes) {
          for (const typeUrl of PUSH_ORDER) this.set({ kind, type: TYPE_LABELS[typeUrl] }, pick(size)[typeUrl]);
        }
      },
    });
  };
  perType(
    'tether_config_encoded_bytes',
    'Encoded size (google.protobuf.Any bytes) of the resources of one type in the published snapshot of a node kind; sum by (kind) for the whole config.',
    (s) => s.bytes,
  );
  perType('tether_config_resources', 'Resources of one type in the published snapshot of a node kind.', (s) => s.resources);

  return {
    snapshotPublished(snapshot) {
      const size = { bytes: {}, resources: {} } as SizeOfKind;
      for (const typeUrl of PUSH_ORDER) {
        const set = snapshot.sets[typeUrl];
        let bytes = setBytes.get(set);
        if (bytes === undefined) {
          bytes = 0;
          for (const r of set.list) bytes += r.anyBytes.length;
          setBytes.set(set, bytes);
        }
        size.bytes[typeUrl] = bytes;
        size.resources[typeUrl] = set.list.length;
      }
      sizes.set(snapshot.kind, size);
    },
  };
}
