/**
 * Translation warnings of a config: what had to be left out or replaced for a kind of node
 * (gRPC clients have no ext_proc, no maglev…). They are computed by the same translation that
 * builds the served snapshots (publisher.ts) and reported wherever a config is shown:
 * `tether validate`, the admin API's mutation responses (dry runs included), the serve log
 * (once per version) and the `tether_config_warnings` gauge.
 */
import type { TetherConfig } from '../model/types';
import { translateWithWarnings } from '../translate';
import { NODE_TARGETS, type NodeTarget } from '../model/node-targets';
import type { ResolvedEndpoints } from '../model/resolved';

export interface ConfigWarning {
  /** The node kind, or an older Envoy API level (model/node-targets.ts), it applies to. */
  nodeKind: NodeTarget;
  /** Where in the config, e.g. `services[chat].affinity.sessionKey`. */
  path: string;
  message: string;
}

/** Every target's warnings, in NODE_TARGETS order then model order (stable). */
export function configWarnings(config: TetherConfig, endpoints: ResolvedEndpoints): ConfigWarning[] {
  return NODE_TARGETS.flatMap((nodeKind) => translateWithWarnings(config, endpoints, nodeKind).warnings.map((w) => ({ nodeKind, ...w })));
}

/** One line per warning: `[grpc] services[chat].affinity.sessionKey: gRPC clients have…`. */
export function formatWarnings(warnings: readonly { nodeKind: string; path: string; message: string }[]): string {
  return warnings.map((w) => `[${w.nodeKind}] ${w.path ? `${w.path}: ` : ''}${w.message}`).join('\n');
}

/** Warnings per target (every target present, 0 when it has none). */
export function countByKind(warnings: readonly ConfigWarning[]): Record<NodeTarget, number> {
  const counts = Object.fromEntries(NODE_TARGETS.map((k) => [k, 0])) as Record<NodeTarget, number>;
  for (const w of warnings) counts[w.nodeKind]++;
  return counts;
}
